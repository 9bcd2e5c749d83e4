/**
 * `deno task bench`: mkvenv against the tools it replaces and against Deno's own floor, every
 * figure from one run. Sides run in rounds, in a new random order each round, with a fresh
 * target directory and flushed write-back before each run, so that machine noise hits all sides
 * alike; the times are medians, and a cost that is one side minus another (own work, seeding,
 * each extra ENV_DIR) is the median of that difference taken within each round, with the
 * middle half of the rounds in brackets. Same interpreter for all (`MKVENV_BENCH_PYTHON`).
 * The sides come in two groups, each with rounds of its own: the light ones (the floors,
 * `--without-pip`, one venv with pip), then the heavy ones (several venvs at once, `python -m
 * venv` with pip, virtualenv, the empty cache), which write thousands of files whose write-back
 * would slow the run after them. One venv with pip, one without, and their no-logic floors run
 * in both groups: the heavy figures' base, and the seeding cost measured there too.
 *
 * Nothing is removed while runs are timed: every target stays until the bench ends (about 40
 * MB a round here), and the first round waits `MKVENV_BENCH_QUIET` seconds (default 60) after the
 * setup's own removals. On ext4 without a journal (this machine's disk), the kernel passes over
 * every inode freed in the last 60 seconds (300 while its inode-table block is unwritten), one
 * buffer lookup each, whenever it allocates an inode in that block group (`recently_deleted()`
 * in fs/ext4/ialloc.c). Removing each run's tree after it made every later `mkdir` walk past
 * the thousands freed before: `perf` put that function and its lookups at 30% of a no-logic
 * run's samples, and the tree with pip cost 40-60 ms instead of 14 (more after the heavy
 * sides' removals), for mkvenv and the no-logic floor alike.
 *
 * It prints:
 * - the floor: `deno run` of an empty script, which no Deno program can beat, and the floors
 *   for the trees themselves (Deno making the `--without-pip` tree, and the tree with pip
 *   hard-linked from the cache, with no logic at all);
 * - mkvenv's own work: `--without-pip` minus the floor, and the seeding cost (with pip minus
 *   `--without-pip`) beside its floor (the one tree's floor minus the other's);
 * - the ratios to `python -m venv` with and without pip, to seeded virtualenv, and for create +
 *   the first `bin/pip --version`;
 * - the first run on an empty cache (unpack and byte-compile pip) against `python -m venv`;
 * - N = 1, 4 and 8 ENV_DIRs in one command, and what each venv past the first costs, beside the
 *   same for Deno placing the tree with pip with no logic (among the same heavy sides);
 * - the minor page faults of one run of each (from `/usr/bin/time`, in separate untimed runs).
 *
 * Which mkvenv: `MKVENV_BENCH_BIN` (the words that run it, e.g. a compiled release binary; the
 * CI workflow times the binary it compiles this way). Otherwise `deno run` of the program the
 * binary is compiled from (`dist/mkvenv.js`, scripts/build.ts), built into a scratch directory,
 * because `deno compile` cannot run here; like the binary, it reads no `deno.json`. `deno run
 * main.ts` from source, which also loads and transpile-caches the modules, is timed too.
 *
 * `MKVENV_BENCH_RUNS` (default 15) rounds for the fast sides, `MKVENV_BENCH_SLOW_RUNS` (default
 * 5) for those that take seconds (`python -m venv` with pip, create + first pip, the empty
 * cache). virtualenv is installed from the local package mirror (`MKVENV_BENCH_INDEX`) into a
 * scratch venv made by mkvenv; without it, its comparison is skipped with a note.
 * `MKVENV_BENCH_TIMES=FILE` writes every run's time, by side in round order, to FILE as JSON.
 * `MKVENV_BENCH_BASELINE=REV` adds the program built from git revision REV, `--without-pip`, as
 * a before/after comparison in the same rounds.
 */
import { join } from "../lib/disk/paths.ts";
import { build } from "../scripts/build.ts";

const PYTHON = Deno.env.get("MKVENV_BENCH_PYTHON") ?? "/root/.pyenv/versions/3.12.1/bin/python3.12";
/** The whole number `name` holds, else `fallback`; anything else stops the bench. */
function countFromEnv(name: string, fallback: number): number {
  const text = Deno.env.get(name);
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) {
    throw new Error(`${name} must be a whole number, not ${JSON.stringify(text)}`);
  }
  return Number(text);
}
const RUNS = countFromEnv("MKVENV_BENCH_RUNS", 15);
const SLOW_RUNS = countFromEnv("MKVENV_BENCH_SLOW_RUNS", 5);
const QUIET_SECONDS = countFromEnv("MKVENV_BENCH_QUIET", 60);
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const SOURCE: readonly string[] = [Deno.execPath(), "run", "--allow-all", MAIN];

/** One command timed by the bench. */
export interface Side {
  /** What the report calls it. */
  label: string;
  /** The command for one run, given fresh target directories (`targets` of them). */
  argv: (targets: string[]) => string[];
  /** How many target directories a run makes (default 1). */
  targets?: number;
  /** Run after `argv`, timed with it (e.g. the first `pip --version`). */
  after?: (targets: string[]) => string[];
  /** Each run starts from an empty mkvenv cache. */
  emptyCache?: boolean;
  /** Runs for seconds: `SLOW_RUNS` rounds only. */
  slow?: boolean;
}

async function exec(argv: string[], env: Record<string, string>): Promise<void> {
  if (argv.length === 0) return;
  const [cmd, ...args] = argv;
  const out = await new Deno.Command(cmd!, { args, env, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${argv.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * Flush the file system's dirty data, so a run does not pay for the write-back of the one
 * before it (`python -m venv` leaves megabytes of it; the machine is shared).
 */
async function settle(): Promise<void> {
  await new Deno.Command("sync", { stdout: "null", stderr: "null" }).output().catch(() => {});
}

/** The scratch directory, the shared warm cache, and the environment of every run. */
interface Bench {
  dir: string;
  env: Record<string, string>;
}

function targetsFor(bench: Bench, side: Side): string[] {
  const id = crypto.randomUUID().slice(0, 8);
  return Array.from({ length: side.targets ?? 1 }, (_, i) => join(bench.dir, `t-${id}-${i}`));
}

function envFor(bench: Bench, side: Side, targets: string[]): Record<string, string> {
  return side.emptyCache ? { ...bench.env, MKVENV_CACHE_DIR: `${targets[0]}.cache` } : bench.env;
}

async function cleanUp(targets: string[]): Promise<void> {
  for (const t of targets) {
    await Deno.remove(t, { recursive: true }).catch(() => {});
    await Deno.remove(`${t}.cache`, { recursive: true }).catch(() => {});
  }
}

/** One timed run of `side`, in ms. Its targets stay until the bench ends (see the header). */
async function timeOnce(bench: Bench, side: Side): Promise<number> {
  const targets = targetsFor(bench, side);
  const env = envFor(bench, side, targets);
  await settle();
  const start = performance.now();
  await exec(side.argv(targets), env);
  if (side.after) await exec(side.after(targets), env);
  return performance.now() - start;
}

/** The minor page faults of one run of `side` (without its `after`), or null. */
async function faultsOnce(bench: Bench, side: Side): Promise<number | null> {
  const targets = targetsFor(bench, side);
  const report = join(bench.dir, "faults.txt");
  try {
    await exec(
      ["/usr/bin/time", "-f", "%R", "-o", report, ...side.argv(targets)],
      envFor(bench, side, targets),
    );
    return Number((await Deno.readTextFile(report)).trim().split("\n").pop());
  } catch {
    return null;
  } finally {
    await cleanUp(targets);
  }
}

/** The median of `xs` (NaN for none). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The median of some per-round figure, with the quartiles that hold the middle half. */
export interface Spread {
  median: number;
  q1: number;
  q3: number;
}

/**
 * The sum of the `plus` sides' times minus the `minus` sides' times, divided by `per`, taken
 * within each round both ran (times are in round order): its median and quartiles. A slow minute
 * of the machine slows every side of a round alike, so a difference taken within each round moves
 * less than the difference of the medians.
 */
export function paired(
  plus: readonly (readonly number[])[],
  minus: readonly (readonly number[])[] = [],
  per = 1,
): Spread {
  const n = plus.length === 0 ? 0 : Math.min(...[...plus, ...minus].map((xs) => xs.length));
  const round = (i: number) =>
    (plus.reduce((sum, xs) => sum + xs[i]!, 0) - minus.reduce((sum, xs) => sum + xs[i]!, 0)) / per;
  const d = Array.from({ length: n }, (_, i) => round(i)).sort((x, y) => x - y);
  const at = (q: number) => (n === 0 ? NaN : d[Math.min(n - 1, Math.floor(q * n))]!);
  return { median: median(d), q1: at(0.25), q3: at(0.75) };
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/**
 * Time every side in the same rounds (a warm-up run each first), in a new random order each
 * round; slow sides take part in the first `SLOW_RUNS` rounds only. Returns the times by side.
 */
export async function timeRounds(
  bench: Bench,
  sides: readonly Side[],
  progress: (line: string) => void = () => {},
): Promise<Map<Side, number[]>> {
  const times = new Map<Side, number[]>(sides.map((s) => [s, []]));
  for (const side of sides) if (!side.emptyCache) await timeOnce(bench, side);
  const rounds = Math.max(RUNS, SLOW_RUNS);
  for (let round = 0; round < rounds; round++) {
    const now = sides.filter((s) => round < (s.slow ? SLOW_RUNS : RUNS));
    for (const side of shuffle([...now])) times.get(side)!.push(await timeOnce(bench, side));
    progress(`round ${round + 1}/${rounds}`);
  }
  return times;
}

/** The words that run mkvenv in the timed runs (see the header); set by `chooseMkvenv`. */
let MKVENV: readonly string[] = SOURCE;

/** `MKVENV_BENCH_BIN`, else the program built into `dir`. Returns how it is described. */
async function chooseMkvenv(dir: string): Promise<string> {
  const bin = Deno.env.get("MKVENV_BENCH_BIN");
  if (bin) {
    MKVENV = bin.split(" ").filter((w) => w !== "");
    return `mkvenv = ${bin} (MKVENV_BENCH_BIN)`;
  }
  const program = await build(join(dir, "program"));
  MKVENV = [Deno.execPath(), "run", "--allow-all", "--no-config", program];
  return "mkvenv = deno run of dist/mkvenv.js as scripts/build.ts makes it (what the binary runs)";
}

const mkvenv = (label: string, extra: string[], more: Partial<Side> = {}): Side => ({
  label,
  argv: (t) => [...MKVENV, "-p", PYTHON, ...extra, ...t],
  ...more,
});
const firstPip = (t: string[]) => [join(t[0]!, "bin", "pip"), "--version"];

/**
 * A scratch venv (made by mkvenv) with virtualenv installed from the local package mirror, or
 * why not (no mirror, no network). Its `virtualenv` seeds pip from its own app-data cache, which
 * the warm-up run fills.
 */
async function virtualenvSide(bench: Bench): Promise<Side | string> {
  const tool = join(bench.dir, "virtualenv-tool");
  try {
    await exec([...SOURCE, "-p", PYTHON, tool], bench.env);
    await exec([
      join(tool, "bin", "pip"),
      "install",
      "--quiet",
      "--index-url",
      Deno.env.get("MKVENV_BENCH_INDEX") ?? "file:///opt/pypi/simple",
      "virtualenv",
    ], { ...bench.env, PIP_DEFAULT_TIMEOUT: "5", PIP_RETRIES: "0" });
  } catch (e: unknown) {
    return `virtualenv comparison skipped: cannot install virtualenv from the local mirror (${
      String(e).split("\n")[0]
    })`;
  }
  const appData = join(bench.dir, "virtualenv-app-data");
  return {
    label: "virtualenv (seeded, warm app-data)",
    // No periodic update: it starts a background process that would slow the next run.
    argv: (t) => [
      "env",
      `VIRTUALENV_OVERRIDE_APP_DATA=${appData}`,
      join(tool, "bin", "virtualenv"),
      "-q",
      "--no-periodic-update",
      "-p",
      PYTHON,
      t[0]!,
    ],
  };
}

/**
 * The `MKVENV_BENCH_BASELINE` side: the program of git revision `rev` (exported into the
 * scratch directory and built with its own scripts/build.ts), without pip; or why not.
 */
async function baselineSide(bench: Bench, rev: string): Promise<Side | string> {
  const tree = join(bench.dir, "baseline");
  // scripts/build.ts took the path of the program file before it took a directory.
  const out = join(bench.dir, "baseline-program");
  let program = out;
  try {
    await Deno.mkdir(tree);
    const root = new URL("..", import.meta.url).pathname;
    const archive = await new Deno.Command("git", {
      args: ["-C", root, "archive", "--format=tar", rev],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!archive.success) throw new Error(new TextDecoder().decode(archive.stderr).trim());
    const tar = new Deno.Command("tar", { args: ["-x", "-C", tree], stdin: "piped" }).spawn();
    const writer = tar.stdin.getWriter();
    await writer.write(archive.stdout);
    await writer.close();
    if (!(await tar.status).success) throw new Error("tar -x failed");
    await exec([Deno.execPath(), "run", "-A", join(tree, "scripts", "build.ts"), out], {
      ...Deno.env.toObject(),
    });
    if (Deno.statSync(out).isDirectory) program = join(out, "mkvenv.js");
  } catch (e: unknown) {
    return `baseline comparison skipped: cannot build ${rev} (${String(e).split("\n")[0]})`;
  }
  return {
    label: `mkvenv ${rev} --without-pip`,
    argv: (t) => [
      Deno.execPath(),
      "run",
      "--allow-all",
      "--no-config",
      program,
      "-p",
      PYTHON,
      "--without-pip",
      t[0]!,
    ],
  };
}

/** An entry of a venv's tree, parents first: what the tree floor script re-creates. */
type TreeEntry =
  | { kind: "dir"; rel: string }
  | { kind: "link"; rel: string; target: string }
  | { kind: "hardlink"; rel: string; source: string }
  | { kind: "file"; rel: string; text: string; mode: number };

/** The files under `dir` by device and inode: what a venv's hard links lead to. */
function filesByInode(dir: string, found = new Map<string, string>()): Map<string, string> {
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && !entry.isSymlink) filesByInode(path, found);
    else if (entry.isFile) {
      const st = Deno.statSync(path);
      found.set(`${st.dev}:${st.ino}`, path);
    }
  }
  return found;
}

/** The tree under `root`; a file that is a hard link to one of `linked` is one again. */
function treeEntries(
  root: string,
  linked: ReadonlyMap<string, string> = new Map(),
  rel = "",
): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (const entry of Deno.readDirSync(join(root, rel))) {
    const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
    const path = join(root, child);
    if (entry.isSymlink) {
      entries.push({ kind: "link", rel: child, target: Deno.readLinkSync(path) });
    } else if (entry.isDirectory) {
      entries.push({ kind: "dir", rel: child }, ...treeEntries(root, linked, child));
    } else {
      const st = Deno.statSync(path);
      const source = linked.get(`${st.dev}:${st.ino}`);
      if (source !== undefined) entries.push({ kind: "hardlink", rel: child, source });
      else {
        const mode = (st.mode ?? 0o644) & 0o777;
        entries.push({ kind: "file", rel: child, text: Deno.readTextFileSync(path), mode });
      }
    }
  }
  return entries;
}

/**
 * Deno making the same tree with no logic at all (one manifest read, then mkdir, symlink, hard
 * link or write for each entry in a stage, and one rename): the least any `deno run` program can
 * take for that tree (`--without-pip`, and with pip hard-linked from mkvenv's cache).
 */
const TREE_FLOOR_SCRIPT = `const [manifest, ...targets] = Deno.args;
const entries = JSON.parse(Deno.readTextFileSync(manifest));
for (const target of targets) {
  const stage = target + ".stage";
  Deno.mkdirSync(stage);
  for (const e of entries) {
    const path = stage + "/" + e.rel;
    if (e.kind === "dir") Deno.mkdirSync(path);
    else if (e.kind === "link") Deno.symlinkSync(e.target, path);
    else if (e.kind === "hardlink") Deno.linkSync(e.source, path);
    else Deno.writeTextFileSync(path, e.text, { mode: e.mode });
  }
  Deno.renameSync(stage, target);
}
`;

/**
 * The floor sides: an empty script, and the trees of mkvenv's venvs (without pip, and with pip
 * linked from the bench's cache, once and into 8 targets) made by Deno with no logic.
 */
async function floorSides(
  bench: Bench,
): Promise<
  { empty: Side; tree: Side; treeHeavy: Side; pipTree: Side; pipTreeHeavy: Side; pipTree8: Side }
> {
  const empty = join(bench.dir, "empty.js");
  await Deno.writeTextFile(empty, "");
  const script = join(bench.dir, "tree_floor.js");
  await Deno.writeTextFile(script, TREE_FLOOR_SCRIPT);
  const manifestOf = async (name: string, args: string[]): Promise<string> => {
    const reference = join(bench.dir, `reference-${name}`);
    await exec([...MKVENV, "-p", PYTHON, ...args, reference], bench.env);
    const linked = filesByInode(bench.env.MKVENV_CACHE_DIR!);
    const manifest = join(bench.dir, `${name}.json`);
    await Deno.writeTextFile(manifest, JSON.stringify(treeEntries(reference, linked)));
    return manifest;
  };
  const floorOf = (manifest: string, label: string, targets = 1): Side => ({
    label,
    targets,
    argv: (t) => [Deno.execPath(), "run", "-A", "--no-config", script, manifest, ...t],
  });
  const pipManifest = await manifestOf("pip-tree", []);
  const treeManifest = await manifestOf("tree", ["--without-pip"]);
  return {
    empty: { label: "deno run of an empty script", argv: () => [Deno.execPath(), "run", empty] },
    tree: floorOf(treeManifest, "Deno writing the --without-pip tree with no logic"),
    pipTree: floorOf(pipManifest, "Deno placing the tree with pip with no logic"),
    treeHeavy: floorOf(treeManifest, "Deno writing the --without-pip tree with no logic (heavy)"),
    pipTreeHeavy: floorOf(pipManifest, "Deno placing the tree with pip with no logic (heavy)"),
    pipTree8: floorOf(pipManifest, "Deno placing the tree with pip with no logic, 8 times", 8),
  };
}

const ms = (x: number) => `${x.toFixed(x < 100 ? 1 : 0)} ms`;
/** A per-round difference: its median, and the middle half of the rounds in brackets. */
const spread = (d: Spread) => `${ms(d.median)} [${d.q1.toFixed(1)}, ${d.q3.toFixed(1)}]`;
const met = (ok: boolean) => (ok ? "met" : "NOT met");

if (import.meta.main) {
  const dir = await Deno.makeTempDir({ prefix: "mkvenv-bench-" });
  const bench: Bench = {
    dir,
    env: { ...Deno.env.toObject(), MKVENV_CACHE_DIR: join(dir, "cache") },
  };
  try {
    const which = await chooseMkvenv(dir);
    const floor = await floorSides(bench);
    const nopip = mkvenv("mkvenv --without-pip", ["--without-pip"]);
    const pip = mkvenv("mkvenv", []);
    const pipAmongHeavy = mkvenv("mkvenv (among the heavy sides)", []);
    const nopipAmongHeavy = mkvenv("mkvenv --without-pip (among the heavy sides)", [
      "--without-pip",
    ]);
    const sides = {
      floor: floor.empty,
      treeFloor: floor.tree,
      pipTreeFloor: floor.pipTree,
      treeHeavyFloor: floor.treeHeavy,
      pipTreeHeavyFloor: floor.pipTreeHeavy,
      pipTree8Floor: floor.pipTree8,
      nopip,
      source: {
        label: "mkvenv --without-pip from source (deno run main.ts)",
        argv: (t: string[]) => [...SOURCE, "-p", PYTHON, "--without-pip", t[0]!],
      },
      pip,
      n4: mkvenv("mkvenv, 4 ENV_DIRs", [], { targets: 4 }),
      n8: mkvenv("mkvenv, 8 ENV_DIRs", [], { targets: 8 }),
      venvNopip: {
        label: "python -m venv --without-pip",
        argv: (t: string[]) => [PYTHON, "-m", "venv", "--without-pip", t[0]!],
      },
      venv: {
        label: "python -m venv",
        argv: (t: string[]) => [PYTHON, "-m", "venv", t[0]!],
        slow: true,
      },
      pipFirst: mkvenv("mkvenv + first pip --version", [], { after: firstPip, slow: true }),
      venvFirst: {
        label: "python -m venv + first pip --version",
        argv: (t: string[]) => [PYTHON, "-m", "venv", t[0]!],
        after: firstPip,
        slow: true,
      },
      cold: mkvenv("mkvenv, empty cache", [], { emptyCache: true, slow: true }),
    };
    const light: Side[] = [
      sides.floor,
      sides.treeFloor,
      sides.pipTreeFloor,
      nopip,
      sides.source,
      pip,
      sides.venvNopip,
    ];
    const heavy: Side[] = [
      sides.treeHeavyFloor,
      sides.pipTreeHeavyFloor,
      sides.pipTree8Floor,
      nopipAmongHeavy,
      pipAmongHeavy,
      sides.n4,
      sides.n8,
      sides.venv,
      sides.pipFirst,
      sides.venvFirst,
      sides.cold,
    ];
    const virtualenv = await virtualenvSide(bench);
    if (typeof virtualenv === "string") console.log(virtualenv);
    else heavy.push(virtualenv);
    const rev = Deno.env.get("MKVENV_BENCH_BASELINE");
    const baseline = rev ? await baselineSide(bench, rev) : null;
    if (typeof baseline === "string") console.log(baseline);
    else if (baseline !== null) light.push(baseline);

    console.log(
      `interpreter ${PYTHON}; ${which}; ${RUNS} rounds (${SLOW_RUNS} for the slow sides), ` +
        `the light sides' rounds first, then the heavy sides'; sides in random order each ` +
        `round, fresh targets kept until the end, the first round ${QUIET_SECONDS} s after ` +
        `the setup's removals; medians; ${navigator.hardwareConcurrency} cores`,
    );
    const progress = Deno.stderr.isTerminal()
      ? (line: string) => Deno.stderr.writeSync(new TextEncoder().encode(`\r${line} `))
      : undefined;
    progress?.(`waiting ${QUIET_SECONDS} s for the setup's removed inodes to age`);
    await settle();
    await new Promise((resolve) => setTimeout(resolve, QUIET_SECONDS * 1000));
    const times = new Map([
      ...await timeRounds(bench, light, progress),
      ...await timeRounds(bench, heavy, progress),
    ]);
    if (progress) progress("");
    const dump = Deno.env.get("MKVENV_BENCH_TIMES");
    if (dump) {
      const raw = Object.fromEntries([...times].map(([side, xs]) => [side.label, xs]));
      await Deno.writeTextFile(dump, JSON.stringify(raw, null, 1) + "\n");
    }
    const t = (side: Side) => median(times.get(side) ?? []);
    const of = (sides: Side[]) => sides.map((side) => times.get(side) ?? []);
    const diff = (plus: Side[], minus: Side[], per = 1) => paired(of(plus), of(minus), per);
    const f = t(sides.floor);
    const own = diff([nopip], [sides.floor]);
    const seeding = diff([pip], [nopip]);
    const seedingFloor = diff([sides.pipTreeFloor], [sides.treeFloor]);
    const seedingAbove = diff([pip, sides.treeFloor], [nopip, sides.pipTreeFloor]);
    const seedingHeavy = diff([pipAmongHeavy], [nopipAmongHeavy]);
    const seedingHeavyFloor = diff([sides.pipTreeHeavyFloor], [sides.treeHeavyFloor]);
    const perExtra = diff([sides.n8], [pipAmongHeavy], 7);
    const perExtraFloor = diff([sides.pipTree8Floor], [sides.pipTreeHeavyFloor], 7);
    const perExtraAbove = diff(
      [sides.n8, sides.pipTreeHeavyFloor],
      [pipAmongHeavy, sides.pipTree8Floor],
      7,
    );
    const ratio = (a: Side, b: Side) => t(b) / t(a);
    const lines = [
      `Deno floor: ${
        ms(f)
      } (deno run of an empty script); the --without-pip tree written by Deno ` +
      `with no logic: ${ms(t(sides.treeFloor))}`,
      `mkvenv --without-pip: ${ms(t(nopip))}, its own work above the floor ${spread(own)} ` +
      `(target <= 8 ms: ${met(own.median <= 8)}); from source (deno run main.ts): ${
        ms(t(sides.source))
      }`,
      `mkvenv with pip: ${ms(t(pip))}, seeding cost ${spread(seeding)} ` +
      `(target <= 25 ms: ${met(seeding.median <= 25)}); the tree with pip placed by Deno with no ` +
      `logic ${ms(t(sides.pipTreeFloor))}: its seeding floor ${spread(seedingFloor)}, ` +
      `mkvenv's seeding above it ${spread(seedingAbove)}`,
      `the same among the heavy sides: mkvenv --without-pip ${ms(t(nopipAmongHeavy))}, with pip ` +
      `${ms(t(pipAmongHeavy))}, seeding cost ${spread(seedingHeavy)}, its no-logic floor ${
        spread(seedingHeavyFloor)
      }`,
      `vs python -m venv --without-pip ${ms(t(sides.venvNopip))}: ` +
      `${ratio(nopip, sides.venvNopip).toFixed(2)}x`,
      `vs python -m venv (with pip) ${ms(t(sides.venv))}: ` +
      `${ratio(pipAmongHeavy, sides.venv).toFixed(1)}x, mkvenv with pip among the heavy sides ` +
      `${ms(t(pipAmongHeavy))} (target 45x: ${met(ratio(pipAmongHeavy, sides.venv) >= 45)})`,
    ];
    if (typeof virtualenv !== "string") {
      const r = ratio(pipAmongHeavy, virtualenv);
      lines.push(
        `vs ${virtualenv.label} ${ms(t(virtualenv))}: ${r.toFixed(1)}x (target 5x: ${met(r >= 5)})`,
      );
    }
    const rf = ratio(sides.pipFirst, sides.venvFirst);
    lines.push(
      `create + first pip --version: mkvenv ${ms(t(sides.pipFirst))}, python -m venv ` +
        `${ms(t(sides.venvFirst))}: ${rf.toFixed(1)}x (target 10x: ${met(rf >= 10)})`,
      `empty cache (unpack + byte-compile pip): mkvenv ${ms(t(sides.cold))} ` +
        `(target <= 1200 ms: ${met(t(sides.cold) <= 1200)}), python -m venv ${
          ms(t(sides.venv))
        }: ` +
        `${ratio(sides.cold, sides.venv).toFixed(1)}x`,
      `ENV_DIRs in one command: 1 ${ms(t(pipAmongHeavy))}, 4 ${ms(t(sides.n4))}, 8 ${
        ms(t(sides.n8))
      }; ` +
        `each past the first ${spread(perExtra)} (target <= 20 ms: ${
          met(perExtra.median <= 20)
        }); Deno placing the tree with pip with no logic into 1 and 8 targets ` +
        `${ms(t(sides.pipTreeHeavyFloor))} and ${ms(t(sides.pipTree8Floor))}: ` +
        `${spread(perExtraFloor)} each past the first, mkvenv ${spread(perExtraAbove)} above it`,
    );
    if (baseline !== null && typeof baseline !== "string") {
      lines.push(
        `before/after, --without-pip: ${baseline.label} ${ms(t(baseline))}, this tree ` +
          `${ms(t(nopip))}: ${ratio(nopip, baseline).toFixed(2)}x`,
      );
    }
    const faultSides: Side[] = [sides.floor, nopip, pip, sides.n8, sides.venvNopip, sides.venv];
    if (typeof virtualenv !== "string") faultSides.push(virtualenv);
    const faults: string[] = [];
    for (const side of faultSides) {
      const runs: number[] = [];
      for (let i = 0; i < 3; i++) {
        const n = await faultsOnce(bench, side);
        if (n !== null) runs.push(n);
      }
      faults.push(`${side.label} ${runs.length ? median(runs).toFixed(0) : "n/a"}`);
    }
    lines.push(`minor page faults per run (median of 3): ${faults.join("; ")}`);
    for (const line of lines) console.log(line);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
