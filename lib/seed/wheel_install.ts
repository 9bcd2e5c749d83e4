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
import { BuildError, q } from "../errors.ts";
import { CACHED_MODES, type FilePlacer, type InstallModes } from "../disk/file_links.ts";
import type { Platform, PythonVersion } from "../discovery/interpreter.ts";
import { pathFor, type VenvLayout } from "../venv/layout.ts";
import { recordHash, type RecordRow, renderRecord, type WheelCategory } from "./wheel.ts";
import { type CachedBytecode, type CachedWheel, categoryDir } from "./wheel_cache.ts";

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

function categoryRoot(scheme: InstallScheme, category: WheelCategory, project: string): string {
  const path = pathFor(scheme.platform);
  const [major, minor] = scheme.version;
  switch (category) {
    case "purelib":
    case "platlib":
      return scheme.purelib;
    case "scripts":
      return scheme.scripts;
    case "headers":
      // Where pip puts headers in a venv: <venv>/include/site/pythonX.Y/<project>.
      return path.join(scheme.envDir, "include", "site", `python${major}.${minor}`, project);
    case "data":
      return scheme.envDir;
  }
}

/**
 * The plan for installing `sources` into the venv described by `scheme`.
 * Throws `BuildError` when an entry point cannot become a script.
 */
export function planWheelInstall(scheme: InstallScheme, sources: InstallSources): InstallPlan {
  const path = pathFor(scheme.platform);
  const { cached, bytecode } = sources;
  const modes = sources.modes ?? CACHED_MODES;
  const { wheel } = cached;
  const encoder = new TextEncoder();
  const dirs = new Set<string>();
  const links: InstallPlan["links"] = [];
  const writes: PlannedWrite[] = [];
  const rows: RecordRow[] = [];
  // Joining by hand: node:path's join and relative are slow over a thousand files (relative
  // even asks for the working directory each time), and the wheel's paths are already checked.
  const sep = path.sep;
  const under = (base: string, rel: string) =>
    `${base}${sep}${sep === "/" ? rel : rel.replaceAll("/", sep)}`;
  const recordPath = (abs: string) =>
    abs.startsWith(scheme.purelib + sep)
      ? abs.slice(scheme.purelib.length + 1).replaceAll(sep, "/")
      : path.relative(scheme.purelib, abs).replaceAll(sep, "/");
  const addDirs = (file: string, base: string) => {
    for (let end = file.lastIndexOf(sep); end > base.length; end = file.lastIndexOf(sep, end - 1)) {
      const dir = file.slice(0, end);
      if (dirs.has(dir)) break;
      dirs.add(dir);
    }
  };
  const roots = new Map<WheelCategory, { to: string; from: string; dirsFrom: string }>();
  const rootOf = (category: WheelCategory) => {
    let root = roots.get(category);
    if (root === undefined) {
      const to = categoryRoot(scheme, category, wheel.name);
      const outside = category === "scripts" || category === "data";
      root = { to, from: categoryDir(cached, category), dirsFrom: outside ? scheme.envDir : to };
      roots.set(category, root);
    }
    return root;
  };
  const write = (to: string, data: Uint8Array, mode: number) => {
    writes.push({ path: to, data, mode });
    rows.push({ path: recordPath(to), hash: recordHash(data), size: String(data.length) });
  };

  for (const file of wheel.files) {
    const root = rootOf(file.category);
    const to = under(root.to, file.path);
    addDirs(to, root.dirsFrom);
    if (file.pythonScript) {
      const original = sources.pythonScripts.get(file.path);
      if (original === undefined) throw new Error(`bug: no contents for script ${file.path}`);
      const newline = original.indexOf(0x0a);
      const rest = newline < 0 ? new Uint8Array() : original.subarray(newline + 1);
      const header = scheme.platform === "windows"
        ? `#!${scheme.python}\n`
        : posixScriptHeader(scheme.python);
      const data = new Uint8Array([...encoder.encode(header), ...rest]);
      write(to, data, modes.executable);
      continue;
    }
    links.push({ from: under(root.from, file.path), to });
    // Inside site-packages the RECORD path is the wheel's own path.
    const rel = root.to === scheme.purelib ? file.path : recordPath(to);
    rows.push({ path: rel, hash: file.hash, size: String(file.size) });
  }

  for (const pyc of bytecode?.files ?? []) {
    const to = under(scheme.purelib, pyc.path);
    addDirs(to, scheme.purelib);
    links.push({ from: under(bytecode!.dir, pyc.path), to });
    rows.push({ path: pyc.path, hash: pyc.hash, size: String(pyc.size) });
  }

  const scripts = [
    ...consoleScriptEntries(wheel, scheme.version).map((e) => ({
      entry: e,
      gui: false,
    })),
    ...wheel.guiScripts.map((e) => ({ entry: e, gui: true })),
  ];
  for (const { entry, gui } of scripts) {
    let body: string;
    try {
      body = scheme.platform === "windows"
        ? scriptBody(entry)
        : posixScript(gui ? scheme.pythonw : scheme.python, entry);
    } catch (e: unknown) {
      throw new BuildError(
        `Cannot write the script ${q(entry.name)} of ${wheel.name} ${wheel.version}: ${
          e instanceof Error ? e.message : String(e)
        }`,
        { cause: e },
      );
    }
    if (scheme.platform === "windows") {
      if (sources.launchers === null) throw new Error("bug: no launchers for a Windows venv");
      const launcher = gui ? sources.launchers.gui : sources.launchers.console;
      const exe = windowsLauncherScript({
        launcher,
        python: gui ? scheme.pythonw : scheme.python,
        body,
      });
      write(path.join(scheme.scripts, `${entry.name}.exe`), exe, modes.script);
    } else {
      write(path.join(scheme.scripts, entry.name), encoder.encode(body), modes.script);
    }
  }

  const distInfo = path.join(scheme.purelib, wheel.distInfo);
  dirs.add(distInfo);
  write(path.join(distInfo, "INSTALLER"), encoder.encode(`${INSTALLER_NAME}\n`), modes.file);
  write(path.join(distInfo, "REQUESTED"), new Uint8Array(), modes.file);
  const record = path.join(distInfo, "RECORD");
  rows.push({ path: recordPath(record), hash: "", size: "" });
  writes.push({ path: record, data: encoder.encode(renderRecord(rows)), mode: modes.file });

  return {
    dirs: [...dirs].sort((a, b) => a.length - b.length),
    links,
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
        throw new BuildError(`Cannot create the directory ${q(dir)}: ${String(e)}`, { cause: e });
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
      try {
        Deno.removeSync(path);
      } catch {
        // usually absent; removing first means an old hard link is never written through
      }
      Deno.writeFileSync(path, data, { mode });
      if (mode !== 0o644) Deno.chmodSync(path, mode);
    } catch (e: unknown) {
      throw new BuildError(`Cannot write ${q(path)}: ${String(e)}`, { cause: e });
    }
  }
}
