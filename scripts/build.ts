/**
 * `deno task build`: mkvenv as one JavaScript file, `dist/mkvenv.js`, the program the release
 * binaries are compiled from (`deno task compile`) and the one `deno task bench` times.
 *
 * 1. `deno bundle` joins main.ts, lib/ and the text-imported templates into one module.
 * 2. Every top-level function declaration of that module becomes a parenthesised function
 *    expression assigned at the top of the module. V8 compiles parenthesised functions eagerly,
 *    when it compiles the module, so they land in the code cache Deno keeps for it (Deno's
 *    cache holds only what V8 compiled before running the module). A declared function is
 *    compiled on its first call instead, on every run: 1-2 ms of a 25-30 ms `--without-pip`
 *    build.
 *    Assignments at the top keep what hoisting gave: every function exists before any other
 *    code of the module runs.
 *
 * The rewrite needs to know exactly where each function starts and ends, which takes a real
 * JavaScript parser: acorn, a small, dependency-free, long-maintained one (npm, build time
 * only; the program itself depends on nothing).
 */
import { parse } from "acorn";
import { dirname, fromFileUrl, join } from "../lib/disk/paths.ts";

const ROOT = join(dirname(fromFileUrl(import.meta.url)), "..");
const MAIN = join(ROOT, "main.ts");

/** A function declaration at the top level of a module: its name and source range. */
interface TopLevelFunction {
  name: string;
  start: number;
  end: number;
}

interface AcornNode {
  type: string;
  start: number;
  end: number;
  id?: { name: string } | null;
}

/** The module's top-level function declarations, in source order. */
export function topLevelFunctions(source: string): TopLevelFunction[] {
  const program = parse(source, { ecmaVersion: "latest", sourceType: "module" }) as unknown as {
    body: AcornNode[];
  };
  return program.body
    .filter((node) => node.type === "FunctionDeclaration" && node.id)
    .map((node) => ({ name: node.id!.name, start: node.start, end: node.end }));
}

/**
 * `source` with every top-level function declaration turned into `var name = (function ...);`
 * at the top of the module. Behaviour is unchanged: each name is bound to the same function
 * before any other statement runs (a module's imports are bound before anything in any case).
 */
export function eagerFunctions(source: string): string {
  const functions = topLevelFunctions(source);
  const assignments = functions.map((f) => `var ${f.name} = (${source.slice(f.start, f.end)});`);
  let rest = "";
  let from = 0;
  for (const f of functions) {
    rest += source.slice(from, f.start);
    from = f.end;
  }
  rest += source.slice(from);
  return `${assignments.join("\n")}\n${rest}`;
}

/** Bundle main.ts and rewrite it (see the header); returns the program's text. */
export async function buildProgram(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mkvenv-build-" });
  try {
    const bundle = join(dir, "bundle.js");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "deno", "--output", bundle, MAIN],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`deno bundle failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    const banner = "// mkvenv, built by scripts/build.ts from main.ts; do not edit.\n";
    return banner + eagerFunctions(await Deno.readTextFile(bundle));
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Write the program to `path` (default dist/mkvenv.js); returns the path. */
export async function build(path = join(ROOT, "dist", "mkvenv.js")): Promise<string> {
  const program = await buildProgram();
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeTextFile(path, program);
  return path;
}

if (import.meta.main) {
  console.log(await build(Deno.args[0]));
}
