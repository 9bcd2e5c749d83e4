/**
 * The places interpreters are looked for, in search order, each a lazy list of candidates:
 * PATH, pyenv's versions, uv's managed Pythons, and on Windows the `py` launcher's list and the
 * PEP 514 registry. Names that rule a candidate out (`python3.8` for `-p 3.12`) skip it
 * without running anything.
 */
import type { Search, Source } from "./discovery_host.ts";
import type { SpecRequest } from "./python_request.ts";
import {
  compareReleasesDescending,
  type InstallName,
  installNameMismatch,
  parseCoreTag,
  parseInstallName,
  parsePyListPaths,
  parseRegQuery,
} from "./python_sources.ts";

interface NameFacts extends InstallName {
  name: string;
}

/** `python3.12`, `python3`, `python`, `pypy3.10`, `python3.13t` (and `.exe` on Windows). */
function interpreterName(name: string, windows: boolean): NameFacts | null {
  const m = /^(python|pypy)(\d+)?(?:\.(\d+))?(t)?$/i.exec(
    windows ? name.replace(/\.exe$/i, "") : name,
  );
  if (!m || (windows && !/\.exe$/i.test(name))) return null;
  const release = [m[2], m[3]].filter((x) => x !== undefined).map(Number);
  return {
    name,
    implementation: m[1]!.toLowerCase() === "pypy" ? "pypy" : "cpython",
    release,
    freeThreaded: m[4] !== undefined,
  };
}

/** Whether interpreter names of `implementation` are looked for on PATH for `spec`. */
function wantsName(spec: SpecRequest, implementation: string, listing: boolean): boolean {
  if (spec.implementation !== null) return spec.implementation === implementation;
  return implementation === "cpython" || listing;
}

function pathSource(search: Search, spec: SpecRequest, listing: boolean): Source {
  return {
    name: "PATH",
    where: "PATH",
    async *candidates() {
      for (const command of spec.commands) {
        const found = await search.which(command);
        if (found !== null) yield { path: found, source: "PATH" };
      }
      const windows = search.host.os === "windows";
      // Merged-/usr systems list /bin and /usr/bin: the same directory, read once.
      const seenDirs = new Set<string>();
      for (const dir of search.pathDirs()) {
        const real = await search.host.realPath(dir);
        if (seenDirs.has(real)) continue;
        seenDirs.add(real);
        const names = ((await search.host.readDir(dir)) ?? [])
          .map((n) => interpreterName(n, windows))
          .filter((f): f is NameFacts => f !== null && wantsName(spec, f.implementation, listing))
          .sort((a, b) =>
            (a.implementation === b.implementation ? 0 : a.implementation === "cpython" ? -1 : 1) ||
            // Versioned names first (newest first), then python3, then python.
            (a.release.length > 1 ? 0 : 1) - (b.release.length > 1 ? 0 : 1) ||
            compareReleasesDescending(a.release, b.release) ||
            Number(a.freeThreaded !== (spec.freeThreaded === true)) -
              Number(b.freeThreaded !== (spec.freeThreaded === true)) ||
            a.name.localeCompare(b.name)
          );
        for (const facts of names) {
          const path = search.path.join(dir, facts.name);
          const why = facts.release.length > 1 ? installNameMismatch(spec, facts) : null;
          if (why !== null) {
            search.log(`skipped ${path} (PATH): ${why}`);
            continue;
          }
          if (await search.isExecutable(path)) yield { path, source: "PATH" };
        }
      }
    },
  };
}

/** Interpreters in the installs of a pyenv `versions` or uv `python` directory, newest first. */
function installsSource(
  search: Search,
  spec: SpecRequest,
  manager: "pyenv" | "uv",
  dir: string | null,
): Source {
  return {
    name: manager,
    where: `${manager} (${dir ?? "no home directory"})`,
    async *candidates() {
      if (dir === null) return;
      const entries = ((await search.host.readDir(dir)) ?? [])
        .filter((n) => !n.startsWith("."))
        .map((name) => ({ name, facts: parseInstallName(name, manager) }))
        .sort((a, b) =>
          compareReleasesDescending(a.facts?.release ?? null, b.facts?.release ?? null) ||
          (a.facts?.implementation === "cpython" ? 0 : 1) -
            (b.facts?.implementation === "cpython" ? 0 : 1) ||
          a.name.localeCompare(b.name)
        );
      const windows = search.host.os === "windows";
      for (const { name, facts } of entries) {
        const install = search.path.join(dir, name);
        const why = facts === null ? null : installNameMismatch(spec, facts);
        if (why !== null) {
          search.log(`skipped ${install} (${manager}): ${why}`);
          continue;
        }
        const bin = windows ? install : search.path.join(install, "bin");
        const xy = facts && facts.release.length > 1 ? facts.release.slice(0, 2).join(".") : null;
        const t = facts?.freeThreaded ? "t" : "";
        const names = windows ? [...(xy && t ? [`python${xy}t`] : []), "python", "pypy"] : [
          ...(xy ? [`python${xy}${t}`] : []),
          "python3",
          "python",
          ...(xy ? [`pypy${xy}`] : []),
          "pypy3",
          "pypy",
        ];
        for (const exe of names) {
          const path = search.path.join(bin, search.exeName(exe));
          if (await search.isExecutable(path)) {
            yield { path, source: manager };
            break;
          }
        }
      }
    },
  };
}

function coreTagMismatch(spec: SpecRequest, tag: string): string | null {
  const facts = parseCoreTag(tag);
  const why = facts === null ? null : installNameMismatch(spec, facts);
  return why === null ? null : why.replace("its name", "its tag");
}

function launcherSource(search: Search, spec: SpecRequest): Source {
  return {
    name: "py launcher",
    where: "the py launcher (py --list-paths)",
    async *candidates() {
      const text = await search.host.run("py", ["--list-paths"]);
      if (text === null) return;
      for (const entry of parsePyListPaths(text)) {
        const why = coreTagMismatch(spec, entry.tag);
        if (why !== null) {
          search.log(`skipped ${entry.path} (py launcher): ${why}`);
          continue;
        }
        yield { path: entry.path, source: "py launcher" };
      }
    },
  };
}

/** PEP 514's three places, in the order the launcher reads them. */
export const REGISTRY_KEYS: readonly string[] = [
  "HKCU\\Software\\Python",
  "HKLM\\Software\\Python",
  "HKLM\\Software\\WOW6432Node\\Python",
];

function registrySource(search: Search, spec: SpecRequest): Source {
  return {
    name: "registry",
    where: "the registry (PEP 514)",
    async *candidates() {
      for (const key of REGISTRY_KEYS) {
        const text = await search.host.run("reg", ["query", key, "/s"]);
        if (text === null) continue;
        for (const entry of parseRegQuery(text)) {
          const why = entry.company === "PythonCore" ? coreTagMismatch(spec, entry.tag) : null;
          if (why !== null) {
            search.log(`skipped ${entry.executable} (registry): ${why}`);
            continue;
          }
          yield { path: entry.executable, source: "registry" };
        }
      }
    },
  };
}

/**
 * The places a spec request is looked for, in order: PATH, pyenv, uv, and on Windows the `py`
 * launcher and the registry. `listing` also takes `pypy*` names on PATH for any request.
 */
export function sourcesFor(search: Search, spec: SpecRequest, listing = false): Source[] {
  const root = search.pyenvRoot();
  const sources = [
    pathSource(search, spec, listing),
    installsSource(
      search,
      spec,
      "pyenv",
      root === null ? null : search.path.join(root, "versions"),
    ),
    installsSource(search, spec, "uv", search.uvPythonDir()),
  ];
  if (search.host.os === "windows") {
    sources.push(launcherSource(search, spec), registrySource(search, spec));
  }
  return sources;
}
