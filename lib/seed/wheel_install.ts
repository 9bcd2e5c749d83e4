/**
 * Installing a cached wheel into a venv, as PEP 427/376/491 describe: root and `.data` files
 * to their scheme directories, `#!python` scripts rewritten, console scripts from the entry
 * points, `INSTALLER` (`mkvenv`), `REQUESTED`, and a RECORD that lists every installed file
 * with its sha256 and size. `planWheelInstall` computes all of it (pure, any platform);
 * `carryOutInstall` does it.
 */
import { checkpoint } from "../disk/interrupt.ts";
import {
  consoleScriptEntries,
  posixScript,
  posixScriptHeader,
  scriptBody,
  windowsLauncherScript,
} from "./console_scripts.ts";
import { BuildError, errorText, q } from "../errors.ts";
import { CACHED_MODES, type FilePlacer, type InstallModes } from "../disk/file_links.ts";
import { osError } from "../disk/disk.ts";
import type { Platform, PythonVersion } from "../discovery/interpreter.ts";
import { pathFor, type VenvLayout } from "../venv/layout.ts";
import {
  type EntryPoint,
  recordHash,
  type RecordRow,
  renderRecord,
  type Wheel,
  type WheelCategory,
} from "./wheel.ts";
import type { CachedBytecode, CachedPycFile, CachedWheel } from "./wheel_cache.ts";

/** What `INSTALLER` says: the tool that installed the distribution. */
export const INSTALLER_NAME = "mkvenv";

/** Where a venv takes installed files: the scheme directories, absolute. */
export interface InstallScheme {
  platform: Platform;
  version: PythonVersion;
  envDir: string;
  purelib: string;
  scripts: string;
  /** The venv interpreter console scripts run. */
  python: string;
  /** The one GUI scripts run (Windows: `pythonw.exe`), else the same as `python`. */
  pythonw: string;
}

/** Where a venv's packages, scripts and interpreters are, for installing wheels into it. */
export function installSchemeOf(layout: VenvLayout): InstallScheme {
  return {
    platform: layout.platform,
    version: layout.version,
    envDir: layout.envDir,
    purelib: layout.purelibDir,
    scripts: layout.binDir,
    python: layout.envExe,
    pythonw: layout.platform === "windows"
      ? pathFor(layout.platform).join(layout.binDir, "pythonw.exe")
      : layout.envExe,
  };
}

/** The cached inputs of one installation. */
export interface InstallSources {
  cached: CachedWheel;
  bytecode: CachedBytecode | null;
  /** The bytes of each `#!python` script of the wheel, by its path in `scripts`. */
  pythonScripts: ReadonlyMap<string, Uint8Array>;
  /** Windows only: the launcher executables for console and GUI scripts. */
  launchers: { console: Uint8Array; gui: Uint8Array } | null;
  /** The modes of the files written (default `CACHED_MODES`: those of the umask 022). */
  modes?: InstallModes;
}

/** A file to write (not from the cache). */
export interface PlannedWrite {
  path: string;
  data: Uint8Array;
  mode: number;
}

/** Everything one installation does, in order: directories, links, writes. */
export interface InstallPlan {
  dirs: string[];
  links: { from: string; to: string }[];
  /** Files written fresh; the RECORD is the last one. */
  writes: PlannedWrite[];
}

/** Where a venv keeps what wheels install, relative to its root: all a plan needs of a venv. */
export interface InstallShape {
  platform: Platform;
  /** The interpreter's major and minor version (console script names, headers). */
  version: readonly [number, number];
  /** e.g. `lib/python3.12/site-packages`, in the platform's syntax. */
  purelib: string;
  /** e.g. `bin`. */
  scripts: string;
}

/** The shape of the venv of `scheme`, or null when its directories are not inside it. */
export function installShapeOf(scheme: InstallScheme): InstallShape | null {
  const sep = pathFor(scheme.platform).sep;
  const inside = (dir: string) =>
    dir.startsWith(scheme.envDir + sep) ? dir.slice(scheme.envDir.length + 1) : null;
  const purelib = inside(scheme.purelib);
  const scripts = inside(scheme.scripts);
  if (purelib === null || scripts === null) return null;
  const [major, minor] = scheme.version;
  return { platform: scheme.platform, version: [major, minor], purelib, scripts };
}

/** A string that is the same for equal shapes and differs otherwise. */
export function shapeKey(shape: InstallShape): string {
  return JSON.stringify([shape.platform, shape.version, shape.purelib, shape.scripts]);
}

/**
 * Cached files placed alike: each `paths` entry goes from `<entry>/<from>/<path>` in the cache
 * to `<venv>/<to>/<path>`. Paths relative, in the platform's syntax; `to` "" is the venv root.
 */
export interface LinkGroup {
  from: string;
  to: string;
  paths: string[];
}

/**
 * What installing a cached wheel does in any venv of one shape, computed once (and stored in
 * the cache, lib/seed/wheel_cache.ts): the directories, the cached files to place, and the
 * RECORD of those files. What depends on the venv's own path is left to `venvWrites`: the
 * rewritten `#!python` scripts, the console scripts, and RECORD's rows for them.
 */
export interface CachedInstall {
  name: string;
  version: string;
  /** Directories to make, relative to the venv root, parents first; not those the layout makes. */
  dirs: string[];
  links: LinkGroup[];
  /** The `#!python` scripts, in RECORD order: the cached file and the venv path, relative. */
  pythonScripts: { from: string; to: string }[];
  /** RECORD's text before, between and after the rows of `pythonScripts` (one more part). */
  record: string[];
  /** The console and GUI scripts, under the names they get for this interpreter. */
  consoleScripts: EntryPoint[];
  guiScripts: EntryPoint[];
  /** The `.dist-info` directory, relative to the venv root. */
  distInfo: string;
  /** RECORD's path of the scripts directory (from site-packages, `/`-separated, ending in `/`). */
  scriptsInRecord: string;
  /**
   * The longest path (in UTF-8 bytes) the plan makes or places, relative to the venv root: a
   * check against the system's path limit needs only this one.
   */
  longest: string;
}

/** The number of cached files `install` places. */
export function placedCount(install: CachedInstall): number {
  return install.links.reduce((n, group) => n + group.paths.length, 0);
}

function categoryRootOf(shape: InstallShape, category: WheelCategory, project: string): string {
  const sep = pathFor(shape.platform).sep;
  const [major, minor] = shape.version;
  switch (category) {
    case "purelib":
    case "platlib":
      return shape.purelib;
    case "scripts":
      return shape.scripts;
    case "headers":
      // Where pip puts headers in a venv: <venv>/include/site/pythonX.Y/<project>.
      return ["include", "site", `python${major}.${minor}`, project].join(sep);
    case "data":
      return "";
  }
}

/**
 * The venv-independent part of installing `wheel` (cached in the entry `<entry>/files/…`, with
 * its bytecode `bytecode.files` under `<entry>/<bytecode.dir>`) into venvs of `shape` (pure).
 */
export function planCachedInstall(
  shape: InstallShape,
  wheel: Wheel,
  bytecode: { dir: string; files: readonly CachedPycFile[] } | null,
): CachedInstall {
  const path = pathFor(shape.platform);
  const sep = path.sep;
  const native = (rel: string) => (sep === "/" ? rel : rel.replaceAll("/", sep));
  const within = (base: string, rel: string) => (base === "" ? rel : `${base}${sep}${rel}`);
  // The directories the layout makes, with their parents: never in the plan.
  const made = new Set<string>();
  for (const dir of [shape.purelib, shape.scripts]) {
    for (let end = dir.length; end > 0; end = dir.lastIndexOf(sep, end - 1)) {
      made.add(dir.slice(0, end));
    }
  }
  const dirs = new Set<string>();
  const addDirs = (file: string) => {
    for (let end = file.lastIndexOf(sep); end > 0; end = file.lastIndexOf(sep, end - 1)) {
      const dir = file.slice(0, end);
      if (dirs.has(dir) || made.has(dir)) break;
      dirs.add(dir);
    }
  };
  // RECORD names a file by its path from site-packages, `/`-separated.
  const fakeRoot = shape.platform === "windows" ? "C:\\" : "/";
  const recordPrefix = (root: string) => {
    if (root === shape.purelib) return "";
    const rel = path.relative(fakeRoot + shape.purelib, fakeRoot + root).replaceAll(sep, "/");
    return rel === "" ? "" : `${rel}/`;
  };
  const groups = new Map<string, LinkGroup>();
  const linkGroup = (from: string, to: string) => {
    const key = `${from}\0${to}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { from, to, paths: [] };
      groups.set(key, group);
    }
    return group;
  };
  const roots = new Map<WheelCategory, { to: string; from: string; record: string }>();
  const rootOf = (category: WheelCategory) => {
    let root = roots.get(category);
    if (root === undefined) {
      const to = categoryRootOf(shape, category, wheel.name);
      root = { to, from: within("files", category), record: recordPrefix(to) };
      roots.set(category, root);
    }
    return root;
  };
  const record: string[] = [];
  const pythonScripts: CachedInstall["pythonScripts"] = [];
  let rows: RecordRow[] = [];
  for (const file of wheel.files) {
    const root = rootOf(file.category);
    const rel = native(file.path);
    const to = within(root.to, rel);
    addDirs(to);
    if (file.pythonScript) {
      record.push(renderRecord(rows));
      rows = [];
      pythonScripts.push({ from: within(root.from, rel), to });
      continue;
    }
    linkGroup(root.from, root.to).paths.push(rel);
    rows.push({ path: root.record + file.path, hash: file.hash, size: String(file.size) });
  }
  if (bytecode !== null) {
    const group = linkGroup(native(bytecode.dir), shape.purelib);
    for (const pyc of bytecode.files) {
      const rel = native(pyc.path);
      addDirs(within(shape.purelib, rel));
      group.paths.push(rel);
      rows.push({ path: pyc.path, hash: pyc.hash, size: String(pyc.size) });
    }
  }
  record.push(renderRecord(rows));
  const distInfo = within(shape.purelib, wheel.distInfo);
  if (!made.has(distInfo)) dirs.add(distInfo);
  const encoder = new TextEncoder();
  let longest = "";
  let longestBytes = 0;
  const consider = (rel: string) => {
    if (rel.length * 3 < longestBytes) return; // a UTF-16 unit is at most 3 bytes of UTF-8
    const bytes = encoder.encode(rel).length;
    if (bytes > longestBytes) [longest, longestBytes] = [rel, bytes];
  };
  for (const group of groups.values()) for (const p of group.paths) consider(within(group.to, p));
  for (const script of pythonScripts) consider(script.to);
  for (const dir of dirs) consider(dir);
  return {
    name: wheel.name,
    version: wheel.version,
    dirs: [...dirs].sort((a, b) => a.length - b.length),
    links: [...groups.values()],
    pythonScripts,
    record,
    consoleScripts: consoleScriptEntries(wheel, [...shape.version, 0]),
    guiScripts: wheel.guiScripts,
    distInfo,
    scriptsInRecord: recordPrefix(shape.scripts),
    longest,
  };
}

/** The venv-dependent inputs of `venvWrites`. */
export interface VenvInputs {
  /** The bytes of a cached `#!python` script, by its path relative to the cache entry. */
  readScript: (from: string) => Uint8Array;
  /** Windows only: the launcher executables for console and GUI scripts. */
  launchers: { console: Uint8Array; gui: Uint8Array } | null;
  /** The modes of the files written (default `CACHED_MODES`: those of the umask 022). */
  modes?: InstallModes;
}

/**
 * The files `install` writes into the venv of `scheme` (final paths): the rewritten `#!python`
 * scripts, the console and GUI scripts, `INSTALLER`, `REQUESTED`, and last the whole RECORD.
 * Throws `BuildError` when an entry point cannot become a script.
 */
export function venvWrites(
  scheme: InstallScheme,
  install: CachedInstall,
  inputs: VenvInputs,
): PlannedWrite[] {
  const path = pathFor(scheme.platform);
  const modes = inputs.modes ?? CACHED_MODES;
  const encoder = new TextEncoder();
  const writes: PlannedWrite[] = [];
  const row = (data: Uint8Array, recordPath: string) =>
    renderRecord([{ path: recordPath, hash: recordHash(data), size: String(data.length) }]);
  let record = install.record[0]!;
  for (const [i, script] of install.pythonScripts.entries()) {
    const original = inputs.readScript(script.from);
    const newline = original.indexOf(0x0a);
    const rest = newline < 0 ? new Uint8Array() : original.subarray(newline + 1);
    const header = scheme.platform === "windows"
      ? `#!${scheme.python}\n`
      : posixScriptHeader(scheme.python);
    const data = new Uint8Array([...encoder.encode(header), ...rest]);
    const to = path.join(scheme.envDir, script.to);
    writes.push({ path: to, data, mode: modes.executable });
    const name = path.relative(scheme.purelib, to).replaceAll(path.sep, "/");
    record += row(data, name) + install.record[i + 1]!;
  }
  const scripts = [
    ...install.consoleScripts.map((entry) => ({ entry, gui: false })),
    ...install.guiScripts.map((entry) => ({ entry, gui: true })),
  ];
  for (const { entry, gui } of scripts) {
    let body: string;
    try {
      body = scheme.platform === "windows"
        ? scriptBody(entry)
        : posixScript(gui ? scheme.pythonw : scheme.python, entry);
    } catch (e: unknown) {
      throw new BuildError(
        `Cannot write the script ${q(entry.name)} of ${install.name} ${install.version}: ${
          errorText(e)
        }`,
        { cause: e },
      );
    }
    let data: Uint8Array;
    let name = entry.name;
    if (scheme.platform === "windows") {
      if (inputs.launchers === null) throw new Error("bug: no launchers for a Windows venv");
      const launcher = gui ? inputs.launchers.gui : inputs.launchers.console;
      data = windowsLauncherScript({
        launcher,
        python: gui ? scheme.pythonw : scheme.python,
        body,
      });
      name += ".exe";
    } else data = encoder.encode(body);
    writes.push({ path: path.join(scheme.scripts, name), data, mode: modes.script });
    record += row(data, install.scriptsInRecord + name);
  }
  const distInfo = path.join(scheme.envDir, install.distInfo);
  const recordDir = install.distInfo.slice(install.distInfo.lastIndexOf(path.sep) + 1);
  for (const [name, text] of [["INSTALLER", `${INSTALLER_NAME}\n`], ["REQUESTED", ""]]) {
    const data = encoder.encode(text);
    writes.push({ path: path.join(distInfo, name!), data, mode: modes.file });
    record += row(data, `${recordDir}/${name}`);
  }
  record += renderRecord([{ path: `${recordDir}/RECORD`, hash: "", size: "" }]);
  writes.push({
    path: path.join(distInfo, "RECORD"),
    data: encoder.encode(record),
    mode: modes.file,
  });
  return writes;
}

/** The cache-relative form of `bytecode` of the cached wheel `cached`. */
export function bytecodeInEntry(
  cached: CachedWheel,
  bytecode: CachedBytecode | null,
): { dir: string; files: readonly CachedPycFile[] } | null {
  if (bytecode === null) return null;
  if (!bytecode.dir.startsWith(cached.dir)) throw new Error("bug: bytecode outside its entry");
  return {
    dir: bytecode.dir.slice(cached.dir.length + 1).replaceAll("\\", "/"),
    files: bytecode.files,
  };
}

/**
 * The plan for installing `sources` into the venv described by `scheme`, as absolute paths:
 * `planCachedInstall` and `venvWrites` together.
 * Throws `BuildError` when an entry point cannot become a script.
 */
export function planWheelInstall(scheme: InstallScheme, sources: InstallSources): InstallPlan {
  const path = pathFor(scheme.platform);
  const { cached } = sources;
  const shape = installShapeOf(scheme);
  if (shape === null) throw new Error("bug: the scheme's directories are outside the venv");
  const install = planCachedInstall(shape, cached.wheel, bytecodeInEntry(cached, sources.bytecode));
  const entryPath = (rel: string) => path.join(cached.dir, rel);
  const scriptsByFrom = new Map(
    cached.wheel.files.filter((f) => f.pythonScript).map((f) => [
      path.join("files", f.category, ...f.path.split("/")),
      f.path,
    ]),
  );
  const writes = venvWrites(scheme, install, {
    readScript: (from) => {
      const data = sources.pythonScripts.get(scriptsByFrom.get(from) ?? "");
      if (data === undefined) throw new Error(`bug: no contents for script ${from}`);
      return data;
    },
    launchers: sources.launchers,
    ...(sources.modes ? { modes: sources.modes } : {}),
  });
  return {
    dirs: install.dirs.map((dir) => path.join(scheme.envDir, dir)),
    links: install.links.flatMap((group) => {
      const from = entryPath(group.from);
      const to = path.join(scheme.envDir, group.to);
      return group.paths.map((p) => ({ from: path.join(from, p), to: path.join(to, p) }));
    }),
    writes,
  };
}

/**
 * Carry out `plan`: create the directories, place the cached files with `placer`, write the
 * rest (RECORD last), each at `at(path)` (a staging directory; default the path itself).
 * Throws `BuildError` on a file-system failure.
 */
export async function carryOutInstall(
  plan: InstallPlan,
  placer: FilePlacer,
  options: { at?: (path: string) => string } = {},
): Promise<void> {
  const at = options.at ?? ((path: string) => path);
  for (const planned of plan.dirs) {
    const dir = at(planned);
    try {
      Deno.mkdirSync(dir);
    } catch (e: unknown) {
      if (!(e instanceof Deno.errors.AlreadyExists)) {
        throw osError(`Cannot create the directory ${q(dir)}`, e);
      }
    }
  }
  let placed = 0;
  for (const { from, to } of plan.links) {
    placer.place(from, at(to));
    // A signal may stop a long loop (copies on a slow disk): lib/disk/interrupt.ts.
    if (++placed % 64 === 0) await checkpoint();
  }
  for (const write of plan.writes) {
    const { data, mode } = write;
    const path = at(write.path);
    try {
      // A new file (the mode given is set exactly, whatever the umask); something already
      // there is removed first, so that an old hard link is never written through.
      try {
        Deno.writeFileSync(path, data, { mode, createNew: true });
      } catch (e: unknown) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
        Deno.removeSync(path);
        Deno.writeFileSync(path, data, { mode, createNew: true });
      }
    } catch (e: unknown) {
      throw osError(`Cannot write ${q(path)}`, e);
    }
  }
}

/**
 * Install `install` into the venv of `scheme`: make its directories, place its cached files
 * from the cache entry `entryDir` with `placer`, and write `writes` (from `venvWrites`), each
 * at `at(path)` (a staging directory; default the path itself). Nothing is computed per file
 * beyond the call that places it. Throws `BuildError` on a file-system failure.
 */
export async function carryOutCachedInstall(
  scheme: InstallScheme,
  install: CachedInstall,
  entryDir: string,
  placer: FilePlacer,
  writes: readonly PlannedWrite[],
  options: { at?: (path: string) => string } = {},
): Promise<void> {
  const at = options.at ?? ((path: string) => path);
  const sep = pathFor(scheme.platform).sep;
  const root = at(scheme.envDir);
  const under = (base: string, rel: string) => (rel === "" ? base : `${base}${sep}${rel}`);
  // The layout makes these; a caller without it (a library user) gets them here.
  for (const dir of [scheme.purelib, scheme.scripts]) Deno.mkdirSync(at(dir), { recursive: true });
  for (const rel of install.dirs) {
    const dir = under(root, rel);
    try {
      Deno.mkdirSync(dir);
    } catch (e: unknown) {
      if (!(e instanceof Deno.errors.AlreadyExists)) {
        throw osError(`Cannot create the directory ${q(dir)}`, e);
      }
    }
  }
  for (const group of install.links) {
    const from = under(entryDir, group.from) + sep;
    const to = under(root, group.to) + sep;
    for (let start = 0; start < group.paths.length; start += 64) {
      placer.placeAll(from, to, group.paths, start, start + 64);
      // A signal may stop a long loop (copies on a slow disk): lib/disk/interrupt.ts.
      await checkpoint();
    }
  }
  await carryOutInstall({ dirs: [], links: [], writes: [...writes] }, placer, options);
}
