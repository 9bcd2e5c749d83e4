/**
 * Seeding pip into a new venv without running ensurepip: choose the wheels the interpreter's
 * own ensurepip would install (spec §8.3: its bundled wheels, `WHEEL_PKG_DIR`, or a
 * distribution's `/usr/share/python-wheels`, or `--pip-wheel`), unpack and byte-compile them
 * once into the cache, then link them into each venv and write its scripts and RECORD.
 *
 * `prepareSeed` runs before the builder touches the venv, so a missing wheel leaves nothing
 * behind; `seedPip` installs.
 */
import { dirname, join, PATH_LIMIT } from "../disk/paths.ts";
import { cacheRoot, discardCachePath, openCache } from "../disk/cache.ts";
import { launcherName, peMachine, type WindowsMachine } from "./console_scripts.ts";
import { BuildError, errorText, q } from "../errors.ts";
import { fsReason, lstatOrNull, readRegularFile } from "../disk/disk.ts";
import { FilePlacer, installModes, type LinkMode, processUmask } from "../disk/file_links.ts";
import type { InterpreterInfo } from "../discovery/interpreter.ts";
import { computeLayout, defaultBuildOptions, pathFor, type VenvLayout } from "../venv/layout.ts";
import { compareVersions, parseVersion, specifierAdmits } from "../discovery/pep440.ts";
import { coreDeps } from "../venv/pip.ts";
import { normalizeName, parseWheelFilename } from "./wheel.ts";
import {
  type CachedBytecode,
  cachedBytecode,
  type CachedWheel,
  cachedWheel,
  categoryDir,
  makeInstall,
  storedBytecode,
  storedInstall,
  type UnpackBytecode,
  type WheelSummary,
} from "./wheel_cache.ts";
import {
  bytecodeInEntry,
  type CachedInstall,
  carryOutCachedInstall,
  installSchemeOf,
  type InstallShape,
  installShapeOf,
  placedCount,
  planCachedInstall,
  shapeKey,
  venvWrites,
} from "./wheel_install.ts";

/** The directory Debian, Ubuntu and Fedora put pip and setuptools wheels in. */
export const SYSTEM_WHEEL_DIR = "/usr/share/python-wheels";

/** The environment variable that names seed wheels when `--pip-wheel` is not given. */
export const PIP_WHEEL_ENV = "MKVENV_PIP_WHEEL";

/** How to seed. */
export interface SeedOptions {
  /** Wheels to use instead of the interpreter's (pip, and setuptools before 3.12), absolute. */
  pipWheels?: readonly string[];
  linkMode?: LinkMode;
  /** The cache root; null for none (a temporary one is used). Default: `cacheRoot()`. */
  cacheDir?: string | null;
  log?: (line: string) => void;
  /** Called with a warning the user should see (default: nothing). */
  warn?: (line: string) => void;
  /** The distribution's wheel directory (default `SYSTEM_WHEEL_DIR`; null: none). */
  systemWheelDir?: string | null;
}

/** A wheel file to consider, and why. */
export interface WheelCandidate {
  path: string;
  /** Where it was found: `--pip-wheel`, `ensurepip`, `WHEEL_PKG_DIR`, or the system directory. */
  origin: string;
}

/** The wheel file names of the directories the choice depends on (null: not looked at). */
export interface WheelListings {
  wheelPkgDir: readonly string[] | null;
  /** The distribution's wheel directory and its wheels, or null. */
  systemDir: { path: string; names: readonly string[] } | null;
}

/** The projects a venv is seeded with: what `ensurepip` installs for this interpreter. */
export function seedProjects(info: InterpreterInfo): string[] {
  return coreDeps(info);
}

function wheelsOf(names: readonly string[], project: string): string[] {
  return names
    .filter((n) => {
      const parsed = parseWheelFilename(n);
      return parsed !== null && normalizeName(parsed.distribution) === project;
    })
    .sort();
}

/**
 * The wheels of `project` the interpreter's ensurepip would install, then the fallbacks, in
 * order of preference (pure). CPython: bundled `<project>-<pinned version>-…whl` (3.6–3.9);
 * from 3.10 `WHEEL_PKG_DIR` first — the last match in string order, and before 3.12 only when
 * it holds every seed project. A distribution that removed ensurepip or its pins (Debian's
 * PyPy) falls back to `WHEEL_PKG_DIR` and the system directory, newest version first.
 */
export function candidateWheels(
  info: InterpreterInfo,
  project: string,
  listings: WheelListings,
): WheelCandidate[] {
  const out: WheelCandidate[] = [];
  const seen = new Set<string>();
  const add = (dir: string, name: string, origin: string) => {
    const path = pathFor(info.platform).join(dir, name);
    if (!seen.has(path)) out.push({ path, origin });
    seen.add(path);
  };
  const ensurepip = info.ensurepip;
  const pkgDir = info.wheelPkgDir;
  const pkgNames = listings.wheelPkgDir ?? [];
  const [major, minor] = info.version;
  const modern = major > 3 || minor >= 10;
  if (ensurepip !== null && pkgDir !== null && modern) {
    const every = seedProjects(info).every((p) => wheelsOf(pkgNames, p).length > 0);
    const found = wheelsOf(pkgNames, project);
    if (found.length > 0 && every) {
      add(pkgDir, found[found.length - 1]!, "WHEEL_PKG_DIR");
    }
  }
  if (ensurepip !== null) {
    const pinned = project === "pip" ? ensurepip.pipVersion : ensurepip.setuptoolsVersion;
    const bundled = ensurepip.bundled.find((n) => n.startsWith(`${project}-${pinned}-`));
    if (pinned !== null && bundled !== undefined) add(ensurepip.bundledDir, bundled, "ensurepip");
  }
  const byVersionDesc = (names: string[]) =>
    names
      .map((n) => ({ n, v: parseVersion(parseWheelFilename(n)!.version) }))
      .sort((a, b) => (a.v && b.v ? compareVersions(b.v, a.v) : 0))
      .map((x) => x.n);
  if (pkgDir !== null) {
    for (const n of byVersionDesc(wheelsOf(pkgNames, project))) add(pkgDir, n, "WHEEL_PKG_DIR");
  }
  if (listings.systemDir !== null) {
    const { path, names } = listings.systemDir;
    for (const n of byVersionDesc(wheelsOf(names, project))) add(path, n, path);
  }
  return out;
}

/**
 * Why the wheel cannot seed the interpreter (its Requires-Python excludes it, or it is not
 * pure Python 3), or null when it can.
 */
export function incompatibility(wheel: WheelSummary, info: InterpreterInfo): string | null {
  const version = info.version.join(".");
  if (!wheel.filename.platformTags.includes("any")) {
    return `it is built for ${wheel.filename.platformTags.join(".")}, not pure Python`;
  }
  const py = wheel.filename.pythonTags;
  const [major, minor] = info.version;
  const impl = info.implementation === "cpython"
    ? "cp"
    : info.implementation === "pypy"
    ? "pp"
    : "";
  const tagOk = py.some((t) =>
    t === `py${major}` || t === `py${major}${minor}` || t === `${impl}${major}${minor}`
  );
  if (!tagOk) return `its tag ${py.join(".")} does not run on Python ${major}.${minor}`;
  try {
    if (!specifierAdmits(wheel.requiresPython, version)) {
      return `it requires Python ${wheel.requiresPython}`;
    }
  } catch {
    // An unreadable Requires-Python is ignored, as installers do.
  }
  return null;
}

/**
 * The shape of the venvs `info` makes (where site-packages and the scripts are, relative to the
 * venv): the same for every venv of an interpreter, whatever its path.
 */
export function seedShape(info: InterpreterInfo): InstallShape {
  const root = info.platform === "windows" ? "C:\\venv" : "/venv";
  const layout = computeLayout(info, root, { ...defaultBuildOptions(info.platform), cwd: root });
  const shape = installShapeOf(installSchemeOf(layout));
  if (shape === null) throw new Error("bug: the venv layout puts site-packages outside the venv");
  return shape;
}

/** A wheel chosen and cached for seeding. */
export interface SeedPackage {
  cached: CachedWheel;
  /** Its bytecode for the interpreter, if any (read from the cache when first asked for). */
  readonly bytecode: CachedBytecode | null;
  origin: string;
  /** Its install plan for venvs of `shape` (stored in the cache: see `makeInstall`). */
  install: CachedInstall;
  /** `shapeKey` of the venvs `install` is for. */
  shape: string;
}

/** What `prepareSeed` found; pass it to `seedPip`, then call `dispose`. */
export interface SeedPlan {
  /** The interpreter the packages were chosen (and compiled) for. */
  info: InterpreterInfo;
  packages: SeedPackage[];
  /** Whether the packages are in a temporary cache (no cache directory could be written). */
  readonly temporary: boolean;
  /** Remove the temporary cache used when there is no cache directory. */
  dispose(): void;
}

function listWheels(dir: string): string[] | null {
  try {
    return [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".whl")).map((e) => e.name);
  } catch {
    return null;
  }
}

function describe(info: InterpreterInfo): string {
  const name = info.implementation === "cpython"
    ? "CPython"
    : info.implementation === "pypy"
    ? "PyPy"
    : info.implementation;
  return `${name} ${info.version.join(".")} (${q(info.executable)})`;
}

/**
 * Choose the seed wheels for `info`, and unpack and byte-compile them into the cache. Touches
 * no venv. Throws `BuildError` when no usable pip wheel exists, a `--pip-wheel` wheel is
 * damaged or does not fit the interpreter, or the cache cannot be written.
 */
export async function prepareSeed(
  info: InterpreterInfo,
  options: SeedOptions = {},
): Promise<SeedPlan> {
  const log = options.log;
  const wanted = seedProjects(info);
  const preferred = options.cacheDir === undefined ? cacheRoot() : options.cacheDir;
  let { root, temporary } = openCache(preferred, log);
  const dispose = () => {
    if (temporary) Deno.removeSync(root, { recursive: true });
  };
  // A cache that cannot be written (read-only, full, damaged beyond repair) serves what it
  // has; anything it lacks is built in a private temporary cache instead. A `BuildError` is
  // about the wheel, not the cache: it is passed on.
  const cached = async <T>(fill: (root: string) => Promise<T>): Promise<T> => {
    try {
      return await fill(root);
    } catch (e: unknown) {
      if (e instanceof BuildError) throw e;
      if (temporary) {
        throw new BuildError(
          `Cannot unpack a seed wheel into the temporary cache ${q(root)}: ${errorText(e)}`,
          { cause: e },
        );
      }
      log?.(`the cache ${root} cannot be used (${errorText(e)}): using a temporary one`);
      ({ root, temporary } = openCache(null, log));
      return await cached(fill);
    }
  };
  // A wheel unpacked now is compiled while it is written, if it is one this interpreter uses.
  const bytecode: UnpackBytecode = {
    python: info.executable,
    cacheTag: info.cacheTag,
    wanted: (summary) =>
      wanted.includes(normalizeName(summary.name)) && incompatibility(summary, info) === null,
  };
  const cachedWheelIn = (path: string) =>
    cached((r) => cachedWheel(r, path, log ? { log, bytecode } : { bytecode }));
  try {
    const chosen = new Map<string, { cached: CachedWheel; origin: string }>();
    for (const path of options.pipWheels ?? []) {
      const cached = await cachedWheelIn(path);
      const project = normalizeName(cached.summary.name);
      if (!wanted.includes(project)) {
        throw new BuildError(
          `Cannot seed with the wheel ${q(path)}: it is ${cached.summary.name}, and ${
            describe(info)
          } is seeded with ${wanted.join(" and ")}; pass a wheel of ${wanted.join(" or ")}`,
        );
      }
      const why = incompatibility(cached.summary, info);
      if (why !== null) {
        throw new BuildError(
          `Cannot seed ${describe(info)} with the wheel ${q(path)}: ${why}; pass a ${project} ` +
            `wheel that supports it (for example from "pip download ${project}" run by that ` +
            `interpreter), or --without-pip`,
        );
      }
      chosen.set(project, { cached, origin: "--pip-wheel" });
    }

    const missing = wanted.filter((p) => !chosen.has(p));
    const rejected: string[] = [];
    const looked = new Set<string>();
    if (missing.length > 0) {
      const systemDir = options.systemWheelDir === undefined
        ? (info.platform === "windows" ? null : SYSTEM_WHEEL_DIR)
        : options.systemWheelDir;
      if (info.ensurepip !== null) looked.add(info.ensurepip.bundledDir);
      if (info.wheelPkgDir !== null) looked.add(info.wheelPkgDir);
      if (systemDir !== null) looked.add(systemDir);
      const tried = new Set<string>();
      const choose = async (listings: WheelListings) => {
        for (const project of missing) {
          if (chosen.has(project)) continue;
          for (const candidate of candidateWheels(info, project, listings)) {
            if (tried.has(candidate.path)) continue;
            tried.add(candidate.path);
            let cached: CachedWheel;
            try {
              cached = await cachedWheelIn(candidate.path);
            } catch (e: unknown) {
              if (!(e instanceof BuildError)) throw e;
              rejected.push(`${pathFor(info.platform).basename(candidate.path)}: ${e.message}`);
              continue;
            }
            const why = incompatibility(cached.summary, info);
            if (why !== null) {
              rejected.push(`${pathFor(info.platform).basename(candidate.path)}: ${why}`);
              continue;
            }
            chosen.set(project, { cached, origin: candidate.origin });
            break;
          }
        }
      };
      // The directories are listed only when the wheels found before them do not do: the
      // candidates they add come after the others (see `candidateWheels`).
      const [major, minor] = info.version;
      const pkgDirFirst = info.ensurepip !== null && (major > 3 || minor >= 10);
      const listPkgDir = () => info.wheelPkgDir === null ? null : listWheels(info.wheelPkgDir);
      await choose({ wheelPkgDir: pkgDirFirst ? listPkgDir() : null, systemDir: null });
      if (missing.some((p) => !chosen.has(p))) {
        const systemNames = systemDir === null ? null : listWheels(systemDir);
        await choose({
          wheelPkgDir: listPkgDir(),
          systemDir: systemDir === null || systemNames === null
            ? null
            : { path: systemDir, names: systemNames },
        });
      }
    }
    if (!chosen.has("pip")) {
      const why = rejected.length > 0 ? ` (${rejected.join("; ")})` : "";
      throw new BuildError(
        `Cannot install pip for ${describe(info)}: no usable pip wheel in ${
          [...looked].map(q).join(", ") || "its ensurepip"
        }${why}; pass --pip-wheel PATH or set ${PIP_WHEEL_ENV} to a pip wheel (get one with ` +
          `"pip download pip"), install your distribution's pip wheel package ` +
          `(python3-pip-whl on Debian and Ubuntu), or pass --without-pip`,
      );
    }
    for (const project of wanted) {
      if (!chosen.has(project)) {
        options.warn?.(
          `no usable ${project} wheel for ${describe(info)}: the venv gets pip only ` +
            `(pass --pip-wheel PATH with a ${project} wheel to add it)`,
        );
      }
    }

    const packages: SeedPackage[] = [];
    const shape = seedShape(info);
    for (const project of wanted) {
      const entry = chosen.get(project);
      if (entry === undefined) continue;
      const { name, version } = entry.cached.summary;
      log?.(`seeding ${name} ${version} from ${entry.origin}`);
      // The warm path: the plan stored with the wheel, and nothing else read.
      const stored = storedInstall(entry.cached, shape, info.cacheTag);
      if (stored !== null) {
        let bytecode: CachedBytecode | null | undefined;
        packages.push({
          ...entry,
          get bytecode() {
            return bytecode === undefined
              ? (bytecode = storedBytecode(entry.cached, info.cacheTag))
              : bytecode;
          },
          install: stored,
          shape: shapeKey(shape),
        });
        continue;
      }
      let bytecode: CachedBytecode | null;
      try {
        bytecode = await cachedBytecode(entry.cached, {
          python: info.executable,
          cacheTag: info.cacheTag,
          ...(log ? { log } : {}),
        });
      } catch (e: unknown) {
        // A cache that cannot take this interpreter's bytecode (read-only, full): the venv
        // compiles on use.
        if (e instanceof BuildError) throw e;
        log?.(`cannot write bytecode into the cache (${errorText(e)}): seeding without it`);
        bytecode = null;
      }
      const install = await makeInstall(
        entry.cached,
        shape,
        info.cacheTag,
        bytecode,
        log ? { log } : {},
      );
      packages.push({ ...entry, bytecode, install, shape: shapeKey(shape) });
    }
    return {
      info,
      packages,
      get temporary() {
        return temporary;
      },
      dispose,
    };
  } catch (e: unknown) {
    dispose();
    throw e;
  }
}

/**
 * The seed project `pkg` as the venv at `purelib` has it: its dist-info, and whether
 * `ensurepip --upgrade` would replace it: only when ours is newer and pip could uninstall the
 * old one (it has a RECORD). An equal or newer one is left, never downgraded.
 */
function installedSeed(
  purelib: string,
  pkg: SeedPackage,
): { distInfo: string; older: boolean; noRecord: boolean } | null {
  const project = normalizeName(pkg.cached.summary.name);
  const distInfo = installedDistInfo(purelib, project);
  if (distInfo === null) return null;
  const present = parseVersion(distInfo.slice(0, -".dist-info".length).split("-")[1] ?? "");
  const ours = parseVersion(pkg.cached.summary.version);
  const newer = present !== null && ours !== null && compareVersions(present, ours) < 0;
  const record = newer && existsFile(join(purelib, distInfo, "RECORD"));
  return { distInfo, older: record, noRecord: newer && !record };
}

/** The text of an installed package's RECORD. Throws `BuildError` when it cannot be read. */
function readRecord(path: string): string {
  try {
    return new TextDecoder().decode(readRegularFile(path, { limit: 64 * 1024 * 1024 }).bytes);
  } catch (e: unknown) {
    throw new BuildError(`Cannot read ${q(path)}: ${fsReason(e)}; move it away and run again`, {
      cause: e,
    });
  }
}

function existsFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * The files and directories of the seed packages that `seedPip` replaces in the existing venv
 * at `layout.envDir` (older than ours, as `ensurepip --upgrade` replaces them): each one's
 * dist-info and the top-level entries of site-packages and the scripts its RECORD lists.
 * Only packages whose new dist-info `staged(path)` finds in the stage count. Absolute paths
 * inside the venv, for the commit to remove. Reads the venv only.
 */
export function outdatedSeedFiles(
  layout: VenvLayout,
  plan: SeedPlan,
  staged: (path: string) => boolean,
): string[] {
  const path = pathFor(layout.platform);
  const purelib = layout.purelibDir;
  // What pip's own uninstall of the old version removes: the files its RECORD lists, in
  // site-packages, or directly in the scripts directory. A whole top-level entry of
  // site-packages goes only where the new version stages one of that name (`pip/` with its
  // __pycache__); never a directory of bin (a crafted `../../../lib` line) nor a file the venv
  // itself writes there (the interpreter links, the activation scripts, which --upgrade keeps).
  const ownNames = new Set(layout.interpreters.map((i) => path.basename(i.path)));
  const venvOwn = (name: string) => ownNames.has(name) || /^(de)?activate/i.test(name);
  const out = new Set<string>();
  for (const pkg of plan.packages) {
    const present = installedSeed(purelib, pkg);
    if (present === null || !present.older) continue;
    // Only what a staged install replaces (a step of a subclass may not have installed it).
    if (!staged(path.join(purelib, pkg.cached.summary.distInfo))) continue;
    out.add(path.join(purelib, present.distInfo));
    const record = readRecord(path.join(purelib, present.distInfo, "RECORD"));
    for (const file of recordPaths(record)) {
      if (path.isAbsolute(file) || file.includes("\\")) continue;
      const full = path.resolve(purelib, ...file.split("/"));
      // Moving a path aside follows any link among its parents: one leading out of the venv
      // (a link in site-packages) would retire a file elsewhere.
      if (full.startsWith(purelib + path.sep)) {
        if (linkOnTheWay(purelib, full, path)) continue;
        const top = path.join(purelib, path.relative(purelib, full).split(path.sep)[0]!);
        out.add(staged(top) ? top : full);
      } else if (
        path.dirname(full) === layout.binDir && !venvOwn(path.basename(full)) &&
        lstatOrNull(full)?.isDirectory !== true
      ) {
        out.add(full);
      }
    }
  }
  return [...out];
}

/** Whether a directory below `root` and above `full` is a link. */
function linkOnTheWay(root: string, full: string, path: ReturnType<typeof pathFor>): boolean {
  for (let dir = path.dirname(full); dir.startsWith(root + path.sep); dir = path.dirname(dir)) {
    if (lstatOrNull(dir)?.isSymlink) return true;
  }
  return false;
}

/**
 * The paths a RECORD lists: the first field of each CSV record, read as Python's csv module
 * reads it (a quoted field may hold commas, doubled quotes and line breaks; text after the
 * closing quote joins the field).
 */
export function recordPaths(text: string): string[] {
  const paths: string[] = [];
  let field = "";
  let first = true; // still in the record's first field
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch !== '"') field += ch;
      else if (text[i + 1] === '"') field += text[++i];
      else quoted = false;
    } else if (ch === '"' && first && field === "") {
      quoted = true;
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      if (first) paths.push(field);
      field = "";
      first = true;
    } else if (ch === ",") {
      if (first) paths.push(field);
      first = false;
      field = "";
    } else if (first) {
      field += ch;
    }
  }
  if (first && field !== "") paths.push(field);
  return paths.filter((p) => p !== "");
}

function installedDistInfo(purelib: string, project: string): string | null {
  try {
    for (const entry of Deno.readDirSync(purelib)) {
      if (!entry.name.endsWith(".dist-info")) continue;
      const name = entry.name.slice(0, -".dist-info".length).split("-")[0]!;
      if (normalizeName(name) === project) return entry.name;
    }
  } catch {
    // no site-packages yet
  }
  return null;
}

function windowsMachine(info: InterpreterInfo): WindowsMachine {
  try {
    const { bytes } = readRegularFile(info.baseExecutable, { limit: 4096, head: true });
    const machine = peMachine(bytes);
    if (machine !== null) return machine;
  } catch {
    // fall back on the pointer size
  }
  return info.is64 ? "amd64" : "x86";
}

function windowsLaunchers(plan: SeedPlan, info: InterpreterInfo) {
  const pip = plan.packages.find((p) => normalizeName(p.cached.summary.name) === "pip");
  if (pip === undefined) throw new Error("bug: no pip in the seed plan");
  const machine = windowsMachine(info);
  const read = (gui: boolean) => {
    const name = launcherName(machine, gui);
    const file = pip.cached.wheel.files.find((f) => f.path === `pip/_vendor/distlib/${name}`);
    if (file === undefined) {
      throw new BuildError(
        `Cannot write Windows scripts: the pip wheel ${pip.cached.wheel.version} has no ` +
          `launcher ${q(name)}; pass a newer pip wheel with --pip-wheel, or --without-pip`,
      );
    }
    return Deno.readFileSync(join(categoryDir(pip.cached, file.category), ...file.path.split("/")));
  };
  return { console: read(false), gui: read(true) };
}

/**
 * When placing files failed because a cached file is gone (a temporary-file cleaner, a hand):
 * the error that says so, after dropping the damaged entry so that the next run builds it
 * again; else null.
 */
function damagedEntryError(
  pkg: SeedPackage,
  install: CachedInstall,
  platform: VenvLayout["platform"],
): BuildError | null {
  const sep = pathFor(platform).sep;
  const under = (base: string, rel: string) => (rel === "" ? base : `${base}${sep}${rel}`);
  const sources = [
    ...install.links.flatMap((g) => g.paths.map((p) => under(under(pkg.cached.dir, g.from), p))),
    ...install.pythonScripts.map((s) => under(pkg.cached.dir, s.from)),
  ];
  const missing = sources.find((from) => {
    try {
      return !Deno.lstatSync(from).isFile;
    } catch {
      return true;
    }
  });
  if (missing === undefined) return null;
  // Bytecode goes with the install plans that name its files; anything else, with the entry.
  const pycRoot = join(pkg.cached.dir, "pyc");
  const inBytecode = missing.startsWith(pycRoot + sep);
  const entry = inBytecode
    ? missing.slice(0, missing.indexOf(sep, pycRoot.length + 1))
    : pkg.cached.dir;
  for (const path of inBytecode ? [join(pkg.cached.dir, "plans"), entry] : [entry]) {
    try {
      discardCachePath(path);
    } catch {
      // dropped by a concurrent mkvenv already, or never made
    }
  }
  return new BuildError(
    `Cannot install ${pkg.cached.summary.name} from the cache entry ${q(entry)}: its file ` +
      `${q(missing)} is missing; the entry was removed, so running mkvenv again rebuilds it ` +
      `(to clear the whole cache, remove ${q(dirname(dirname(pkg.cached.dir)))})`,
  );
}

/**
 * Refuse a venv where one of pip's files would have a path longer than the system takes: it
 * could be written (in a stage with a shorter name) but never opened. Throws `BuildError`.
 */
function checkPathLengths(
  layout: VenvLayout,
  install: CachedInstall,
  writes: readonly { path: string }[],
): void {
  const limit = PATH_LIMIT[layout.platform];
  // A UTF-16 code unit is at most 3 bytes of UTF-8: most venvs need no path built or encoded.
  let longest = 0;
  for (const group of install.links) {
    const base = layout.envDir.length + group.to.length + 2;
    for (const p of group.paths) longest = Math.max(longest, base + p.length);
  }
  for (const w of writes) longest = Math.max(longest, w.path.length);
  if (longest * 3 <= limit) return;
  const sep = pathFor(layout.platform).sep;
  const under = (base: string, rel: string) => (rel === "" ? base : `${base}${sep}${rel}`);
  const paths = [
    ...install.links.flatMap((g) => g.paths.map((p) => under(under(layout.envDir, g.to), p))),
    ...writes.map((w) => w.path),
  ];
  for (const path of paths) {
    const bytes = new TextEncoder().encode(path).length;
    if (bytes > limit) {
      throw new BuildError(
        `Cannot install pip into ${q(layout.envDir)}: the path of its file ${q(path)} would be ` +
          `${bytes} bytes long, more than the ${limit} a path may have here (PATH_MAX); choose ` +
          `a shorter ENV_DIR, or pass --without-pip`,
      );
    }
  }
}

/** Options of `seedPip`. */
export interface SeedPipOptions {
  linkMode?: LinkMode;
  log?: (line: string) => void;
  /** Where a path of the final venv is written now (a staging directory); default itself. */
  at?: (path: string) => string;
  /**
   * Leave a package the venv at `layout.envDir` already has, unless it is older than ours
   * (then `outdatedSeedFiles` names what the commit removes), as `ensurepip --upgrade` does
   * (default true).
   */
  skipInstalled?: boolean;
  /** Shows a warning to the user (an older package that cannot be replaced). */
  warn?: (line: string) => void;
}

/**
 * Install the packages of `plan` into the venv `layout` (scripts and RECORD name the final
 * paths; files go to `options.at` of them). Throws `BuildError` on a file-system failure.
 */
export async function seedPip(
  layout: VenvLayout,
  plan: SeedPlan,
  options: SeedPipOptions = {},
): Promise<void> {
  const modes = installModes(processUmask());
  const placer = new FilePlacer(options.linkMode ?? "hardlink", options.log, modes);
  const scheme = installSchemeOf(layout);
  const shape = installShapeOf(scheme);
  if (shape === null) throw new Error("bug: the venv's scheme is outside the venv");
  const launchers = layout.platform === "windows" ? windowsLaunchers(plan, plan.info) : null;
  for (const pkg of plan.packages) {
    const present = options.skipInstalled === false ? null : installedSeed(layout.purelibDir, pkg);
    if (present?.noRecord) {
      options.warn?.(
        `leaving ${present.distInfo} in ${q(layout.purelibDir)}: it is older than ` +
          `${pkg.cached.summary.version}, but without a RECORD file it cannot be replaced (pip ` +
          `could not uninstall it either); remove it and run again to get ` +
          `${pkg.cached.summary.version}`,
      );
      continue;
    }
    if (present !== null && !present.older) {
      options.log?.(`${present.distInfo} is already installed, not older: leaving it`);
      continue;
    }
    if (present !== null) {
      options.log?.(`replacing ${present.distInfo} with ${pkg.cached.summary.version}`);
    }
    // Another shape than the one prepared (never from the builder): planned now.
    const install = shapeKey(shape) === pkg.shape
      ? pkg.install
      : planCachedInstall(shape, pkg.cached.wheel, bytecodeInEntry(pkg.cached, pkg.bytecode));
    try {
      const writes = venvWrites(scheme, install, {
        readScript: (from) => Deno.readFileSync(join(pkg.cached.dir, from)),
        launchers,
        modes,
      });
      checkPathLengths(layout, install, writes);
      await carryOutCachedInstall(
        scheme,
        install,
        pkg.cached.dir,
        placer,
        writes,
        options.at ? { at: options.at } : {},
      );
    } catch (e: unknown) {
      throw damagedEntryError(pkg, install, layout.platform) ?? e;
    }
    options.log?.(
      `installed ${install.name} ${install.version} (${
        placedCount(install)
      } files by ${placer.mode})`,
    );
  }
}
