/**
 * mkvenv's library surface: everything `main.ts` uses, for programs that build venvs
 * themselves. Re-exports only.
 */
export { absoluteEnvDir, type BuildContext, buildVenv, checkEnvDir } from "./venv/builder.ts";
export { type CliRequest, helpText, parseCli, usageText } from "./cli/cli.ts";
export {
  type DiscoveryHost,
  findInterpreter,
  type FindOptions,
  formatInterpreterList,
  type FoundInterpreter,
  type InterpreterList,
  listInterpreters,
} from "./discovery/discovery.ts";
export { parsePythonRequest, type PythonRequest } from "./discovery/python_request.ts";
export { BuildError, UsageError } from "./errors.ts";
export type { InterpreterInfo, Platform, PythonVersion } from "./discovery/interpreter.ts";
export { probeCached } from "./discovery/interpreter_cache.ts";
export {
  type BuildOptions,
  computeLayout,
  defaultBuildOptions,
  type VenvLayout,
} from "./venv/layout.ts";
export { LINK_MODES, type LinkMode } from "./disk/file_links.ts";
export { MKVENV_VERSION } from "./venv/pyvenv_cfg.ts";
export { runInterruptCleanups } from "./disk/staging.ts";
