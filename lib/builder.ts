/**
 * Building one venv: compute its layout (pure), then carry it out on the disk, then seed pip and
 * write the activation scripts. The build sequence follows CPython's `EnvBuilder.create`.
 */
import { renderActivationScripts } from "./activation.ts";
import { BuildError, q } from "./errors.ts";
import type { FoundInterpreter } from "./discovery.ts";
import {
  clearDirectory,
  copyExecutable,
  lstatOrNull,
  makeDirs,
  osError,
  symlinkReplacing,
  writeFileReplacing,
} from "./disk.ts";
import type { InterpreterInfo } from "./interpreter.ts";
import { type BuildOptions, computeLayout, pathFor, type VenvLayout } from "./layout.ts";
import { installPipWithEnsurepip, upgradeDeps } from "./pip.ts";
import { parsePythonStrLiteral, parsePyvenvCfg, renderPyvenvCfg } from "./pyvenv_cfg.ts";
import { posixCommandLine, windowsCommandLine } from "./shell_quote.ts";

/** The text of the `.gitignore` mkvenv writes into each venv: ignore everything in it. */
export const GITIGNORE_TEXT = "# Created by mkvenv; the whole virtual environment is ignored\n*\n";

/** Where and how a build runs, beyond the options of the venv itself. */
export interface BuildContext {
  /** The directory relative ENV_DIRs are taken from. */
  cwd: string;
  /** The words that start mkvenv itself, for the `command` key of pyvenv.cfg. */
  invocation: readonly string[];
  log?: (line: string) => void;
}

/** Make `envDirArg` absolute against `cwd` without resolving links (as `os.path.abspath`). */
export function absoluteEnvDir(info: InterpreterInfo, envDirArg: string, cwd: string): string {
  return pathFor(info.platform).resolve(cwd, envDirArg);
}

/**
 * Refuse an ENV_DIR whose absolute path cannot work: it contains the target's PATH separator
 * (activation would corrupt PATH) or a NUL. Throws `BuildError`.
 */
export function checkEnvDir(info: InterpreterInfo, envDir: string): void {
  const sep = info.platform === "windows" ? ";" : ":";
  if (envDir.includes(sep)) {
    throw new BuildError(
      `Cannot create a virtual environment in ${q(envDir)}: the path contains ${
        q(sep)
      }, the PATH separator; choose a directory without it`,
    );
  }
  if (envDir.includes("\0")) {
    throw new BuildError(
      `Cannot create a virtual environment in ${q(envDir)}: the path contains a NUL character`,
    );
  }
}

/** The `command` value: our own command line that re-creates this venv, shell-quoted. */
export function commandLine(
  found: FoundInterpreter,
  envDir: string,
  options: BuildOptions,
  context: Pick<BuildContext, "invocation">,
): string {
  const windows = found.info.platform === "windows";
  const args = [...context.invocation, "--python", found.info.executable];
  if (windows && options.symlinks) args.push("--symlinks");
  if (!windows && !options.symlinks) args.push("--copies");
  if (!options.withPip) args.push("--without-pip");
  if (options.systemSitePackages) args.push("--system-site-packages");
  if (options.clear) args.push("--clear");
  if (options.upgrade) args.push("--upgrade");
  if (options.upgradeDeps) args.push("--upgrade-deps");
  if (options.prompt !== null) args.push(`--prompt=${options.prompt}`);
  if (!options.scmIgnoreFiles) args.push("--without-scm-ignore-files");
  args.push(envDir);
  return windows ? windowsCommandLine(args) : posixCommandLine(args);
}

/** For `--upgrade`: keep the prompt and system-site setting of the existing venv. */
function optionsKeptOnUpgrade(cfgPath: string, options: BuildOptions): BuildOptions {
  let text: string;
  try {
    text = Deno.readTextFileSync(cfgPath);
  } catch {
    return options;
  }
  const cfg = parsePyvenvCfg(text);
  const prompt = cfg.get("prompt");
  return {
    ...options,
    systemSitePackages: options.systemSitePackages ||
      cfg.get("include-system-site-packages")?.toLowerCase() === "true",
    prompt: options.prompt ?? (prompt === undefined ? null : parsePythonStrLiteral(prompt)),
  };
}

function placeInterpreters(layout: VenvLayout): void {
  for (const entry of layout.interpreters) {
    if (!entry.primary && lstatOrNull(entry.path) !== null) continue;
    if (entry.kind === "symlink") symlinkReplacing(entry.target, entry.path);
    else copyExecutable(entry.target, entry.path);
  }
}

/**
 * Build (or re-use, clear, upgrade) the venv at `envDirArg` with the interpreter `found`.
 * Returns the layout built. Throws `BuildError` on anything the user can fix.
 */
export async function buildVenv(
  envDirArg: string,
  found: FoundInterpreter,
  options: BuildOptions & BuildContext,
): Promise<VenvLayout> {
  const { info } = found;
  const log = options.log ?? (() => {});
  const envDir = absoluteEnvDir(info, envDirArg, options.cwd);
  checkEnvDir(info, envDir);
  const existing = lstatOrNull(envDir);
  if (existing !== null && !existing.isDirectory) {
    throw new BuildError(
      `Cannot create a virtual environment in ${q(envDir)}: it exists and is ${
        existing.isSymlink ? "a symbolic link" : "a file"
      }; remove it or choose another ENV_DIR`,
    );
  }
  let build: BuildOptions = options;
  const cfgPath = pathFor(info.platform).join(envDir, "pyvenv.cfg");
  if (existing !== null && options.clear) {
    log(`clearing ${envDir}`);
    clearDirectory(envDir);
  }
  if (existing !== null && options.upgrade) build = optionsKeptOnUpgrade(cfgPath, options);

  const layout = computeLayout(info, envDir, { ...build, cwd: options.cwd });
  // Rendered before anything is written: a path or prompt a script cannot carry stops the
  // build here. `--upgrade` leaves the scripts as they are, as CPython does.
  const scripts = build.upgrade ? [] : renderActivationScripts(layout);
  log(`creating ${envDir} for ${info.implementation} ${info.version.join(".")}`);
  for (const dir of layout.dirs) makeDirs(dir);
  if (layout.lib64 !== null && lstatOrNull(layout.lib64.path) === null) {
    try {
      Deno.symlinkSync(layout.lib64.target, layout.lib64.path);
    } catch (e: unknown) {
      throw osError(`Cannot link ${q(layout.lib64.path)}`, e);
    }
  }
  if (layout.gitignorePath !== null) writeFileReplacing(layout.gitignorePath, GITIGNORE_TEXT);

  const command = commandLine(found, envDir, build, options);
  const finalCfg = renderPyvenvCfg(info, layout, { options: build, command });
  // Like CPython, keep system site-packages hidden while pip is bootstrapped (issue 24875).
  const bootstrapCfg = renderPyvenvCfg(info, layout, {
    options: { ...build, systemSitePackages: false },
    command,
  });
  writeFileReplacing(layout.cfgPath, build.withPip ? bootstrapCfg : finalCfg);
  placeInterpreters(layout);

  if (build.withPip) {
    log("installing pip");
    await installPipWithEnsurepip(layout, info);
  }
  for (const script of scripts) writeFileReplacing(script.path, script.content, script.mode);
  if (build.withPip) writeFileReplacing(layout.cfgPath, finalCfg);
  if (build.upgradeDeps) {
    log("upgrading the core dependencies");
    await upgradeDeps(layout, info);
  }
  return layout;
}
