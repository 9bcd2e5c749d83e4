/**
 * Test helpers: build small but valid wheels in memory, find the interpreters' bundled pip
 * wheels, and run commands.
 */
import { join } from "node:path";
import { recordHash, renderRecord } from "../lib/seed/wheel.ts";
import { writeZip, type ZipInput } from "../lib/seed/zip.ts";

/** Python 3.12 from pyenv, the reference interpreter of these tests. */
export const PY312 = "/root/.pyenv/versions/3.12.1/bin/python3.12";

/**
 * Options of the tests that need the development machine's pyenv CPythons (PY312, and the
 * bundled wheels of the others). They run, and fail without them, unless
 * MKVENV_SKIP_DEV_PYTHONS=1: GitHub's runners set it, and report these tests as ignored.
 */
export const DEV_PYTHONS: { ignore: boolean } = {
  ignore: Deno.env.get("MKVENV_SKIP_DEV_PYTHONS") === "1",
};

/** The bundled pip wheel of a pyenv CPython, e.g. `bundledWheel("3.13.0", "pip")`. */
export function bundledWheel(version: string, project: string): string {
  const [major, minor] = version.split(".");
  const dir = `/root/.pyenv/versions/${version}/lib/python${major}.${minor}/ensurepip/_bundled`;
  const name = [...Deno.readDirSync(dir)].map((e) => e.name).sort().reverse()
    .find((n) => n.startsWith(`${project}-`) && n.endsWith(".whl"));
  if (name === undefined) throw new Error(`no ${project} wheel in ${dir}`);
  return join(dir, name);
}

/** Options of `buildWheel`. */
export interface FixtureWheel {
  name: string;
  version: string;
  /** Files by archive path (the `.dist-info` files are added unless given). */
  files: Record<string, string | Uint8Array>;
  requiresPython?: string;
  consoleScripts?: Record<string, string>;
  /** Archive paths to give mode 0755. */
  executables?: string[];
  /** Change the RECORD before it is written (to make broken wheels). */
  editRecord?: (rows: { path: string; hash: string; size: string }[]) => void;
  wheelVersion?: string;
}

/** The bytes of a wheel made from `spec`, with a correct RECORD unless `editRecord` says. */
export function buildWheel(spec: FixtureWheel): Uint8Array {
  const encoder = new TextEncoder();
  const distInfo = `${spec.name.replaceAll("-", "_")}-${spec.version}.dist-info`;
  const files: Record<string, string | Uint8Array> = {
    [`${distInfo}/METADATA`]:
      `Metadata-Version: 2.1\nName: ${spec.name}\nVersion: ${spec.version}\n${
        spec.requiresPython ? `Requires-Python: ${spec.requiresPython}\n` : ""
      }\nA test project.\n`,
    [`${distInfo}/WHEEL`]: `Wheel-Version: ${
      spec.wheelVersion ?? "1.0"
    }\nGenerator: mkvenv-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n`,
    ...spec.files,
  };
  if (spec.consoleScripts) {
    files[`${distInfo}/entry_points.txt`] = "[console_scripts]\n" +
      Object.entries(spec.consoleScripts).map(([k, v]) => `${k} = ${v}\n`).join("");
  }
  const entries: ZipInput[] = [];
  const rows = [];
  for (const [path, content] of Object.entries(files)) {
    const data = typeof content === "string" ? encoder.encode(content) : content;
    const mode = spec.executables?.includes(path) ? 0o755 : 0o644;
    entries.push({ name: path, data, mode });
    rows.push({ path, hash: recordHash(data), size: String(data.length) });
  }
  rows.push({ path: `${distInfo}/RECORD`, hash: "", size: "" });
  spec.editRecord?.(rows);
  entries.push({ name: `${distInfo}/RECORD`, data: encoder.encode(renderRecord(rows)) });
  return writeZip(entries);
}

/** Write `spec` as `<dir>/<name>-<version>-py3-none-any.whl`; returns the path. */
export async function writeWheel(dir: string, spec: FixtureWheel): Promise<string> {
  const path = join(dir, `${spec.name.replaceAll("-", "_")}-${spec.version}-py3-none-any.whl`);
  await Deno.writeFile(path, buildWheel(spec));
  return path;
}

/** Running commands: the one helper of tests/_util.ts. */
export { type Ran as RunResult, run } from "./_util.ts";
