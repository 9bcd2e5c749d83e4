/**
 * mkvenv's library surface: everything `main.ts` uses, for programs that build venvs
 * themselves. Re-exports only.
 */
export { absoluteEnvDir, type BuildContext, buildVenv, checkEnvDir } from "./builder.ts";
export { type CliRequest, helpText, parseCli, USAGE } from "./cli.ts";
export {
  type DiscoveryHost,
  findInterpreter,
  type FindOptions,
  formatInterpreterList,
  type FoundInterpreter,
  type InterpreterList,
  listInterpreters,
} from "./discovery.ts";
export { parsePythonRequest, type PythonRequest } from "./python_request.ts";
export { BuildError, UsageError } from "./errors.ts";
export type { InterpreterInfo, Platform, PythonVersion } from "./interpreter.ts";
export { probeCached } from "./interpreter_cache.ts";
export {
  type BuildOptions,
  computeLayout,
  defaultBuildOptions,
  type VenvLayout,
} from "./layout.ts";
export { LINK_MODES, type LinkMode } from "./file_links.ts";
export { MKVENV_VERSION } from "./pyvenv_cfg.ts";
export { runInterruptCleanups } from "./staging.ts";
