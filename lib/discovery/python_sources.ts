/**
 * The text formats interpreter discovery reads, parsed without touching the disk: version files
 * (`.python-version`, asdf's `.tool-versions`), version-manager shims, the directory names of
 * pyenv and uv installs, and on Windows the output of `py --list-paths` and `reg query`.
 */
import { win32 } from "../disk/paths.ts";
import { type SpecRequest, versionSatisfies } from "./python_request.ts";

/** The lines of a `.python-version` file that say something: trimmed, no blanks or comments. */
export function versionFileLines(text: string): string[] {
  return text.split(/\r?\n/).map((line) => line.trim()).filter((line) =>
    line !== "" && !line.startsWith("#")
  );
}

/** The versions asdf's `.tool-versions` gives `tool` (`python 3.12.1 3.11.0` -> both), or null. */
export function toolVersions(text: string, tool: string): string[] | null {
  for (const raw of text.split(/\r?\n/)) {
    const words = raw.replace(/#.*/, "").trim().split(/\s+/);
    if (words[0] === tool && words.length > 1) return words.slice(1);
  }
  return null;
}

/** A version-manager shim recognised from its text. */
export type ShimKind =
  | { manager: "pyenv"; root: string | null }
  | { manager: "asdf" };

/**
 * Recognise a pyenv or asdf shim script from its text (pyenv writes its root into every shim;
 * asdf's shims run `asdf exec`). Returns null for anything else.
 */
export function recogniseShim(text: string): ShimKind | null {
  if (!text.startsWith("#!")) return null;
  if (/libexec\/pyenv"? exec\b/.test(text) || /\bpyenv exec\b/.test(text)) {
    const root = /^export PYENV_ROOT="([^"]+)"/m.exec(text);
    return { manager: "pyenv", root: root ? root[1]! : null };
  }
  if (/\basdf"? exec\b/.test(text)) return { manager: "asdf" };
  return null;
}

/** What an install directory's name says about the Python in it. */
export interface InstallName {
  implementation: string;
  /** Two or three numbers: `pypy3.10-7.3.12` says only 3.10. */
  release: number[];
  freeThreaded: boolean;
}

/**
 * Read a pyenv version directory name (`3.12.1`, `3.13.0t`, `3.14.0rc1`, `pypy3.10-7.3.12`) or a
 * uv install name (`cpython-3.12.1-linux-x86_64-gnu`, `cpython-3.13.0+freethreaded-...`).
 * Returns null for names that say nothing certain (`miniconda3-latest`, a virtualenv's name).
 */
export function parseInstallName(name: string, manager: "pyenv" | "uv"): InstallName | null {
  if (manager === "uv") {
    const m = /^(cpython|pypy|graalpy)-(\d+)\.(\d+)(?:\.(\d+))?(?:(?:a|b|rc)\d+)?((?:\+[a-z]+)*)-/
      .exec(name);
    if (!m) return null;
    const release = [Number(m[2]), Number(m[3])];
    if (m[4] !== undefined) release.push(Number(m[4]));
    return { implementation: m[1]!, release, freeThreaded: m[5]!.includes("+freethreaded") };
  }
  const cp = /^(\d+)\.(\d+)(?:\.(\d+))?(?:(?:a|b|rc)\d+)?(t?)(?:-dev)?$/.exec(name);
  if (cp) {
    const release = [Number(cp[1]), Number(cp[2])];
    if (cp[3] !== undefined) release.push(Number(cp[3]));
    return { implementation: "cpython", release, freeThreaded: cp[4] === "t" };
  }
  const pp = /^pypy(\d+)\.(\d+)-/.exec(name);
  if (pp) {
    return {
      implementation: "pypy",
      release: [Number(pp[1]), Number(pp[2])],
      freeThreaded: false,
    };
  }
  return null;
}

/**
 * Why an install whose name says `facts` cannot satisfy `request`, or null when it may (then
 * only the probe can tell). Lets discovery skip a pyenv or uv install without running it.
 */
export function installNameMismatch(request: SpecRequest, facts: InstallName): string | null {
  if (request.implementation !== null && facts.implementation !== request.implementation) {
    return `its name says ${facts.implementation}`;
  }
  const said = `its name says ${facts.release.join(".")}${facts.freeThreaded ? "t" : ""}`;
  if (request.freeThreaded === true && !facts.freeThreaded) return said;
  if (request.freeThreaded === false && facts.freeThreaded) return said;
  const [major = 0, minor = 0, micro] = facts.release;
  // A name without the micro version may hold any: try the points where clauses change.
  const micros = micro !== undefined ? [micro] : [
    0,
    9999,
    ...request.clauses.flatMap((c) => {
      const n = c.release[2];
      return n === undefined ? [] : [n - 1, n, n + 1];
    }),
  ];
  const possible = micros.some((m) => versionSatisfies(request, [major, minor, Math.max(0, m)]));
  return possible ? null : said;
}

/** One interpreter listed by the Windows `py` launcher. */
export interface LauncherEntry {
  /** `3.12`, `3.13t`, `3.8-64`, `ContinuumAnalytics/Anaconda39-64`. */
  tag: string;
  path: string;
  /** Marked `*`: the launcher's own default. */
  isDefault: boolean;
}

/**
 * Parse `py --list-paths` output: the 3.11+ launcher (` -V:3.12 *   C:\...\python.exe`) and the
 * older one (` -3.8-64   C:\...\python.exe *`), whose default mark ends the line. Lines
 * without a path (the old launcher's heading) are skipped.
 */
export function parsePyListPaths(text: string): LauncherEntry[] {
  const entries: LauncherEntry[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*-(?:V:)?(\S+?)(\s+\*)?\s+((?:[A-Za-z]:|\\\\).*?)(\s+\*)?\s*$/.exec(line);
    if (!m) continue;
    const isDefault = m[2] !== undefined || m[4] !== undefined;
    entries.push({ tag: m[1]!, path: m[3]!, isDefault });
  }
  return entries;
}

/** What a launcher tag or PEP 514 tag says about the Python it names (PythonCore tags only). */
export function parseCoreTag(tag: string): InstallName | null {
  const m = /^(\d+)\.(\d+)(t?)(?:-(?:32|64|arm64))?$/.exec(tag);
  if (!m) return null;
  return {
    implementation: "cpython",
    release: [Number(m[1]), Number(m[2])],
    freeThreaded: m[3] === "t",
  };
}

/** One installation registered under PEP 514 (`HKCU|HKLM\Software\Python\<Company>\<Tag>`). */
export interface RegistryEntry {
  company: string;
  tag: string;
  /** `ExecutablePath`, else `InstallPath`'s default value joined with `python.exe`. */
  executable: string;
  /** The `Version` value of the tag key, when there is one. */
  version: string | null;
}

/**
 * Parse `reg query <hive>\Software\Python /s` output into PEP 514 entries, in the order listed.
 * The launcher's own `PyLauncher` key is skipped, as PEP 514 asks.
 */
export function parseRegQuery(text: string): RegistryEntry[] {
  interface Partial {
    company: string;
    tag: string;
    installDefault: string | null;
    executablePath: string | null;
    version: string | null;
  }
  const found = new Map<string, Partial>();
  let current: { entry: Partial; sub: "tag" | "install" } | null = null;
  for (const line of text.split(/\r?\n/)) {
    if (/^HKEY_/i.test(line)) {
      current = null;
      const m = /\\Python\\([^\\]+)\\([^\\]+)(\\InstallPath)?\s*$/i.exec(line);
      if (!m || /^PyLauncher$/i.test(m[1]!)) continue;
      const id = `${line.split("\\")[0]}\\${m[1]}\\${m[2]}`.toLowerCase();
      let entry = found.get(id);
      if (!entry) {
        entry = {
          company: m[1]!,
          tag: m[2]!,
          installDefault: null,
          executablePath: null,
          version: null,
        };
        found.set(id, entry);
      }
      current = { entry, sub: m[3] ? "install" : "tag" };
      continue;
    }
    const v = /^\s+(.+?)\s{2,}(REG_[A-Z_]+)(?:\s{2,}(.*?))?\s*$/.exec(line);
    if (!v || current === null) continue;
    const [name, data] = [v[1]!, v[3] ?? ""];
    // The unnamed value prints as "(Default)", or its translation, always in parentheses.
    const isDefault = name.startsWith("(") && name.endsWith(")");
    if (current.sub === "install") {
      if (isDefault && data !== "") current.entry.installDefault = data;
      else if (/^ExecutablePath$/i.test(name) && data !== "") current.entry.executablePath = data;
    } else if (/^Version$/i.test(name) && data !== "") current.entry.version = data;
  }
  const entries: RegistryEntry[] = [];
  for (const e of found.values()) {
    const executable = e.executablePath ??
      (e.installDefault === null ? null : win32.join(e.installDefault, "python.exe"));
    if (executable === null) continue;
    entries.push({ company: e.company, tag: e.tag, executable, version: e.version });
  }
  return entries;
}

/** Sort key helper: newest release first, names without one last. */
export function compareReleasesDescending(
  a: readonly number[] | null,
  b: readonly number[] | null,
): number {
  if (a === null || b === null) return a === null ? (b === null ? 0 : 1) : -1;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (b[i] ?? 0) - (a[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
