/**
 * `deno task build`: mkvenv as JavaScript, `dist/mkvenv.js` and the chunks it loads, the program
 * the release binaries are compiled from (`deno task compile`) and the one `deno task bench`
 * times.
 *
 * 1. `deno bundle --code-splitting` joins main.ts, lib/ and the text-imported templates into
 *    `mkvenv.js`, and puts what is imported only with `import()` (pip seeding: wheels, zip,
 *    hashes, launchers; `--upgrade-deps`) into chunks beside it, with the code both sides share
 *    in chunks of its own. A run without pip never reads the seeding chunks: a third of the
 *    program that it would otherwise load, and whose code cache it would deserialize, on every
 *    run (1 ms of a 25 ms `--without-pip` build, measured with `deno task bench`).
 * 2. Every top-level function declaration of each file becomes a parenthesised function
 *    expression assigned at the top of the file. V8 compiles parenthesised functions eagerly,
 *    when it compiles the module, so they are in the code cache Deno keeps for it whichever
 *    command the first run was (Deno stores the cache at the end of a module's first run, with
 *    only the functions compiled by then). A declared function would be compiled on its first
 *    call, on every run whose first run did not call it: 1-2 ms of a `--without-pip` build.
 *    Assignments at the top keep what hoisting gave: every function exists before any other
 *    code of the file runs (the chunks import each other without cycles).
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

/** The program's files: the entry (`ENTRY`) and the chunks it imports, by file name. */
export type Program = Map<string, string>;

/** The entry's file name in a program; its chunks are named by `deno bundle`. */
export const ENTRY = "mkvenv.js";

/** The first line of every file of a program: what made it, and how an old one is recognised. */
const BANNER = "// mkvenv, built by scripts/build.ts from main.ts; do not edit.\n";

/** Bundle main.ts with its chunks and rewrite each file (see the header). */
export async function buildProgram(): Promise<Program> {
  const dir = await Deno.makeTempDir({ prefix: "mkvenv-build-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "deno",
        "--code-splitting",
        "--outdir",
        dir,
        MAIN,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`deno bundle failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    const program: Program = new Map();
    for (const entry of [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1)) {
      if (!entry.isFile || !entry.name.endsWith(".js")) continue;
      const text = eagerFunctions(await Deno.readTextFile(join(dir, entry.name)));
      program.set(entry.name === "main.js" ? ENTRY : entry.name, BANNER + text);
    }
    if (!program.has(ENTRY)) throw new Error(`deno bundle wrote no main.js into ${dir}`);
    return program;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Write the program into the directory `dir` (default dist/), removing the chunks of an earlier
 * build (the `.js` files that start with the banner); returns the entry's path, which is what
 * `deno run` and `deno compile` take.
 */
export async function build(dir = join(ROOT, "dist")): Promise<string> {
  const program = await buildProgram();
  await Deno.mkdir(dir, { recursive: true });
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isFile && entry.name.endsWith(".js") && !program.has(entry.name)) {
      const head = (await Deno.readTextFile(path)).slice(0, BANNER.length);
      if (head === BANNER) await Deno.remove(path);
    }
  }
  for (const [name, text] of program) await Deno.writeTextFile(join(dir, name), text);
  return join(dir, ENTRY);
}

if (import.meta.main) {
  console.log(await build(Deno.args[0]));
}
