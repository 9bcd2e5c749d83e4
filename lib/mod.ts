/**
 * mkvenv: Python virtual environments built from TypeScript, without the `venv` or
 * `ensurepip` modules in the interpreter. The API is CPython's `venv` API in camelCase:
 * `EnvBuilder`, whose steps a subclass overrides, and `create()`.
 *
 * ```ts
 * import { create } from "@mkvenv/mkvenv";
 *
 * await create(".venv", { python: "3.12", withPip: true, symlinks: true });
 * ```
 *
 * @module
 */
export {
  create,
  EnvBuilder,
  type EnvBuilderOptions,
  type ProgressEvent,
} from "./venv/env_builder.ts";
export type { VenvContext, VenvFiles } from "./venv/context.ts";
export { BuildError, UsageError } from "./errors.ts";
export { MKVENV_VERSION } from "./version.ts";
export type { FoundInterpreter } from "./discovery/discovery.ts";
export type {
  EnsurepipFacts,
  InterpreterInfo,
  Platform,
  PythonVersion,
  VenvScheme,
  WindowsFacts,
} from "./discovery/interpreter.ts";
export type { InterpreterEntry, VenvLayout } from "./venv/layout.ts";
export { LINK_MODES, type LinkMode } from "./disk/file_links.ts";
