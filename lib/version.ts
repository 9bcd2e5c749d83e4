/**
 * mkvenv's version: the `version` of deno.json, the one place it is written (the package's
 * version on publishing, `mkvenv --version`, and the `mkvenv` key of every pyvenv.cfg).
 */
import config from "../deno.json" with { type: "json" };

/** mkvenv's version, from deno.json. */
export const MKVENV_VERSION: string = config.version;
