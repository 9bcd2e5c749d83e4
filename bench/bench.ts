/**
 * `deno task bench`: mkvenv against the tools it replaces, measured side by side in one run,
 * same interpreter, a fresh target directory for every run, runs interleaved so that machine
 * noise hits both sides alike. Prints the median of each and the ratio.
 *
 * mkvenv runs as `deno run main.ts` (the release binary cannot be built here); its time
 * includes Deno's own start-up, which the compiled binary shares.
 */
import { join } from "../lib/paths.ts";

const PYTHON = Deno.env.get("MKVENV_BENCH_PYTHON") ?? "/root/.pyenv/versions/3.12.1/bin/python3.12";
const RUNS = Number(Deno.env.get("MKVENV_BENCH_RUNS") ?? "15");
const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** One side of a comparison: the command that creates a venv at `target`. */
export interface Side {
  label: string;
  argv: (target: string) => string[];
  /** Run after creation, timed with it (e.g. the first `pip --version`). */
  after?: (target: string) => string[];
}

/** A comparison of mkvenv with another tool. */
export interface Case {
  title: string;
  ours: Side;
  theirs: Side;
  /** The least ratio the issue asks for. */
  target: number;
}

async function exec(argv: string[], env: Record<string, string>): Promise<void> {
  const [cmd, ...args] = argv;
  const out = await new Deno.Command(cmd!, { args, env, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${argv.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function timeOnce(side: Side, dir: string, env: Record<string, string>): Promise<number> {
  const target = join(dir, `t-${crypto.randomUUID().slice(0, 8)}`);
  const start = performance.now();
  await exec(side.argv(target), env);
  if (side.after) await exec(side.after(target), env);
  const elapsed = performance.now() - start;
  await Deno.remove(target, { recursive: true });
  return elapsed;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Run one case: warm-up, then `runs` interleaved pairs. Returns the two medians in ms. */
export async function runCase(c: Case, runs = RUNS): Promise<{ ours: number; theirs: number }> {
  const dir = await Deno.makeTempDir({ prefix: "mkvenv-bench-" });
  const env = { ...Deno.env.toObject(), MKVENV_CACHE_DIR: join(dir, ".cache") };
  try {
    await timeOnce(c.ours, dir, env);
    await timeOnce(c.theirs, dir, env);
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < runs; i++) {
      ours.push(await timeOnce(c.ours, dir, env));
      theirs.push(await timeOnce(c.theirs, dir, env));
    }
    return { ours: median(ours), theirs: median(theirs) };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

const mkvenvSide = (extra: string[]): Side => ({
  label: `mkvenv ${extra.join(" ")}`.trim(),
  argv: (t) => [Deno.execPath(), "run", "--allow-all", MAIN, "-p", PYTHON, ...extra, t],
});

/** The comparisons `deno task bench` runs. */
export const CASES: Case[] = [
  {
    title: "create a venv without pip",
    ours: mkvenvSide(["--without-pip"]),
    theirs: {
      label: `${PYTHON} -m venv --without-pip`,
      argv: (t) => [PYTHON, "-m", "venv", "--without-pip", t],
    },
    target: 2,
  },
];

if (import.meta.main) {
  console.log(
    `interpreter: ${PYTHON}; ${RUNS} interleaved runs each, medians, fresh target each run`,
  );
  for (const c of CASES) {
    const r = await runCase(c);
    const ratio = r.theirs / r.ours;
    console.log(
      `${c.title}: mkvenv ${r.ours.toFixed(1)} ms, ${c.theirs.label} ${r.theirs.toFixed(1)} ms: ` +
        `mkvenv is ${ratio.toFixed(1)}x faster (target ${c.target}x${
          ratio >= c.target ? ", met" : ", NOT met"
        })`,
    );
  }
}
