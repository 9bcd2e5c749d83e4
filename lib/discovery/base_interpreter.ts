/**
 * From a candidate to the real base interpreter: version-manager shims (pyenv and asdf by their
 * own rules, without running them; any other shim by asking it once, uncached) and venvs (a
 * `pyvenv.cfg` beside the interpreter or one directory up: its `home`), never chaining venvs.
 */
import { BuildError } from "../errors.ts";
import type { InterpreterInfo } from "./interpreter.ts";
import { Rejected, type Search } from "./discovery_host.ts";
import {
  compareReleasesDescending,
  recogniseShim,
  toolVersions,
  versionFileLines,
} from "./python_sources.ts";
import { parsePyvenvCfg } from "../venv/pyvenv_cfg.ts";

/** A pyenv version name to its directory: exact, or the newest installed `name.*` (as pyenv). */
async function pyenvVersionDir(search: Search, root: string, name: string): Promise<string> {
  const versions = search.path.join(root, "versions");
  const exact = search.path.join(versions, name);
  if ((await search.host.stat(exact))?.isDirectory) return exact;
  const names = (await search.host.readDir(versions)) ?? [];
  const prefixed = names.filter((n) => n.startsWith(`${name}.`) && /^[\d.]+$/.test(n))
    .map((n) => ({ n, release: n.split(".").map(Number) }))
    .sort((a, b) => compareReleasesDescending(a.release, b.release));
  return prefixed.length > 0 ? search.path.join(versions, prefixed[0]!.n) : exact;
}

/** How a version manager records its selection. */
interface Selection {
  /** The environment variable's value, which wins when set. */
  envValue: string | undefined;
  separator: RegExp;
  /** The versions a version file names, or null when it names none. */
  fromFile: (text: string) => string[] | null;
  /** Looked for in the current directory and its parents. */
  fileName: string;
  /** Looked at after that (the global selection). */
  fallbackFiles: readonly string[];
}

/** The versions a version manager has selected; `["system"]` when nothing says otherwise. */
async function selectedVersions(search: Search, selection: Selection): Promise<string[]> {
  const { envValue, separator, fromFile, fileName, fallbackFiles } = selection;
  if (envValue) return envValue.split(separator).filter((v) => v !== "");
  let dir = search.path.resolve(search.host.cwd);
  for (;;) {
    const text = await search.host.readText(search.path.join(dir, fileName), 64 * 1024, {
      mine: true,
    });
    const versions = text === null ? null : fromFile(text);
    if (versions !== null && versions.length > 0) return versions;
    const parent = search.path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const file of fallbackFiles) {
    const text = await search.host.readText(file, 64 * 1024);
    const versions = text === null ? null : fromFile(text);
    if (versions !== null && versions.length > 0) return versions;
  }
  return ["system"];
}

/** Where a pyenv shim leads, following pyenv's own rules (PYENV_VERSION, version files). */
async function resolvePyenvShim(
  search: Search,
  shim: string,
  rootFromShim: string | null,
): Promise<string> {
  const shimDir = search.path.dirname(shim);
  const program = search.path.basename(shim);
  const root = rootFromShim ?? search.host.env("PYENV_ROOT") ?? search.path.dirname(shimDir);
  const versions = await selectedVersions(search, {
    envValue: search.host.env("PYENV_VERSION"),
    separator: /:/,
    fromFile: (text) => versionFileLines(text).flatMap((line) => line.split(/\s+/)),
    fileName: ".python-version",
    fallbackFiles: [search.path.join(root, "version")],
  });
  for (const version of versions) {
    const found = version === "system"
      ? await search.which(program, search.pathDirs().filter((d) => d !== shimDir))
      : search.path.join(await pyenvVersionDir(search, root, version), "bin", program);
    if (found !== null && await search.isExecutable(found)) return found;
  }
  throw new Rejected(
    `pyenv shim: no selected pyenv version (${versions.join(", ")}) has ${program}`,
  );
}

/** Where an asdf shim leads, following asdf's rules (ASDF_PYTHON_VERSION, .tool-versions). */
async function resolveAsdfShim(search: Search, shim: string): Promise<string> {
  const shimDir = search.path.dirname(shim);
  const program = search.path.basename(shim);
  const home = search.home();
  const dataDir = search.host.env("ASDF_DATA_DIR") ??
    (home === null ? search.path.dirname(shimDir) : search.path.join(home, ".asdf"));
  const defaultFile = search.host.env("ASDF_DEFAULT_TOOL_VERSIONS_FILENAME") ?? ".tool-versions";
  const versions = await selectedVersions(search, {
    envValue: search.host.env("ASDF_PYTHON_VERSION"),
    separator: /\s+/,
    fromFile: (text) => toolVersions(text, "python"),
    fileName: ".tool-versions",
    fallbackFiles: home === null ? [] : [search.path.join(home, defaultFile)],
  });
  for (const version of versions) {
    let found: string | null;
    if (version === "system") {
      found = await search.which(program, search.pathDirs().filter((d) => d !== shimDir));
    } else if (version.startsWith("path:")) {
      found = search.path.join(version.slice(5), "bin", program);
    } else {
      found = search.path.join(dataDir, "installs", "python", version, "bin", program);
    }
    if (found !== null && await search.isExecutable(found)) return found;
  }
  throw new Rejected(
    `asdf shim: no selected asdf python version (${versions.join(", ")}) has ${program}`,
  );
}

type ShimStep = { path: string; how: string } | { info: InterpreterInfo; how: string };

/**
 * Resolve `path` when it is a shim: pyenv and asdf shims by their managers' rules (no
 * subprocess); any other file in a `shims` directory (mise, ...) by asking it for its facts,
 * uncached, and following its `executable`. Null when `path` is not a shim.
 */
async function resolveShim(search: Search, path: string): Promise<ShimStep | null> {
  const head = await search.host.readText(path, 4096);
  const kind = head === null ? null : recogniseShim(head);
  if (kind?.manager === "pyenv") {
    return { path: await resolvePyenvShim(search, path, kind.root), how: `pyenv shim ${path}` };
  }
  if (kind?.manager === "asdf") {
    return { path: await resolveAsdfShim(search, path), how: `asdf shim ${path}` };
  }
  if (search.path.basename(search.path.dirname(path)) !== "shims") return null;
  let info: InterpreterInfo;
  try {
    // Never cached: a shim may start another interpreter tomorrow.
    info = await search.host.probe(path, { cache: false });
  } catch (e: unknown) {
    if (e instanceof BuildError) throw new Rejected(e.message);
    throw e;
  }
  const target = info.executable;
  if (
    target !== "" && target !== path &&
    await search.host.realPath(target) !== await search.host.realPath(path)
  ) {
    return { path: target, how: `shim ${path}` };
  }
  return { info, how: `shim ${path}` };
}

/**
 * When `path` belongs to a venv (a `pyvenv.cfg` beside it or one directory up), the base
 * interpreter its `home` names; null otherwise. Throws `Rejected` for a venv without a usable
 * home.
 */
async function venvBase(
  search: Search,
  path: string,
): Promise<{ path: string; venvDir: string } | null> {
  const dir = search.path.dirname(path);
  for (const cfgDir of [dir, search.path.dirname(dir)]) {
    const cfgPath = search.path.join(cfgDir, "pyvenv.cfg");
    const text = await search.host.readText(cfgPath, 64 * 1024);
    if (text === null) {
      // A named pipe or a device there would hang or mislead the venv's own python.
      const st = await search.host.stat(cfgPath);
      if (st !== null && !st.isFile && !st.isDirectory) {
        throw new Rejected(`it is in ${cfgDir}, whose pyvenv.cfg is not a file`);
      }
      continue;
    }
    const cfg = parsePyvenvCfg(text);
    const home = cfg.get("home");
    if (!home) throw new Rejected(`it is in the venv ${cfgDir}, whose pyvenv.cfg has no home`);
    const xy = /^(\d+\.\d+)/.exec(cfg.get("version_info") ?? cfg.get("version") ?? "")?.[1];
    const names = search.host.os === "windows"
      ? [search.path.basename(path), "python.exe"]
      : [search.path.basename(path), ...(xy ? [`python${xy}`] : []), "python3", "python"];
    for (const name of new Set(names)) {
      const base = search.path.join(home, name);
      if (await search.isExecutable(base)) return { path: base, venvDir: cfgDir };
    }
    throw new Rejected(`it is in the venv ${cfgDir}, whose home ${home} holds no interpreter`);
  }
  return null;
}

/** A candidate followed to its base interpreter. */
export interface Resolved {
  path: string;
  /** What led from the candidate to `path`, e.g. `pyenv shim ...`, `venv ...`. */
  via: string[];
  /** Facts already known (from an unknown shim that is its own interpreter). */
  info: InterpreterInfo | null;
}

/**
 * Follow shims and venvs from `start` to the base interpreter. Throws `Rejected` (with the
 * reason) when it leads nowhere usable, or after eight steps.
 */
export async function resolveBase(search: Search, start: string): Promise<Resolved> {
  let path = start;
  const via: string[] = [];
  for (let hop = 0; hop < 8; hop++) {
    const st = await search.host.stat(path);
    if (!st?.isFile || !st.executable) {
      throw new Rejected(
        hop === 0 ? "not an executable file" : `${path}, where it leads, is not an executable file`,
      );
    }
    const shim = await resolveShim(search, path);
    if (shim !== null) {
      via.push(shim.how);
      if ("info" in shim) return { path, via, info: shim.info };
      path = shim.path;
      continue;
    }
    const base = await venvBase(search, path);
    if (base !== null) {
      via.push(`venv ${base.venvDir}`);
      path = base.path;
      continue;
    }
    return { path, via, info: null };
  }
  throw new Rejected("too many shims or venvs lead from one to the next");
}
