/**
 * Release archives: each compiled binary in an archive named by version and target
 * (`mkvenv-0.1.0-x86_64-unknown-linux-gnu.tar.gz`, `mkvenv-0.1.0-x86_64-pc-windows-msvc.zip`)
 * holding only `mkvenv` (`mkvenv.exe` on Windows), and one `SHA256SUMS` over them, in the format
 * `sha256sum -c` reads. The release workflow, the CI job that tries the action, and the
 * installer tests all make their archives here, so what is tested is laid out as what ships.
 *
 *     deno run -A scripts/package.ts --version 0.1.0 --out DIR TARGET=BINARY...
 *
 * Archives are reproducible: fixed owner, mode 0755, and the time of `SOURCE_DATE_EPOCH`
 * (seconds; default 0).
 */
import { crc32 } from "../lib/seed/zip.ts";
import { basename, join } from "../lib/disk/paths.ts";

/** The six targets `deno compile` builds for, in the order the release lists them. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
  "aarch64-pc-windows-msvc",
] as const;

/** One of `TARGETS`. */
export type Target = typeof TARGETS[number];

/** Whether `value` names one of the six targets. */
export function isTarget(value: string): value is Target {
  return (TARGETS as readonly string[]).includes(value);
}

/** The executable's name inside the archive for `target`. */
export function exeName(target: Target): string {
  return target.endsWith("-windows-msvc") ? "mkvenv.exe" : "mkvenv";
}

/** The archive's file name: zip for Windows, tar.gz elsewhere. `version` has no leading `v`. */
export function archiveName(version: string, target: Target): string {
  const ext = target.endsWith("-windows-msvc") ? "zip" : "tar.gz";
  return `mkvenv-${version}-${target}.${ext}`;
}

async function compress(data: Uint8Array, format: CompressionFormat): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream(format),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** An ASCII, NUL-padded tar header field. */
function field(header: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > length) throw new Error(`tar field too long: ${text}`);
  header.set(bytes, offset);
}

/** An octal tar number of `length - 1` digits and a NUL. */
function octal(header: Uint8Array, offset: number, length: number, value: number): void {
  field(header, offset, length, value.toString(8).padStart(length - 1, "0"));
}

/** A gzip-compressed POSIX (ustar) archive holding one executable file, `name`. */
export async function tarGz(name: string, data: Uint8Array, mtime = 0): Promise<Uint8Array> {
  const header = new Uint8Array(512);
  field(header, 0, 100, name);
  octal(header, 100, 8, 0o755);
  octal(header, 108, 8, 0);
  octal(header, 116, 8, 0);
  octal(header, 124, 12, data.length);
  octal(header, 136, 12, mtime);
  header.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  header[156] = 0x30; // a regular file
  field(header, 257, 6, "ustar");
  field(header, 263, 2, "00");
  field(header, 265, 32, "root");
  field(header, 297, 32, "root");
  const sum = header.reduce((n, b) => n + b, 0);
  field(header, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  const padded = Math.ceil(data.length / 512) * 512;
  const tar = new Uint8Array(512 + padded + 1024); // the file, then two empty blocks
  tar.set(header, 0);
  tar.set(data, 512);
  return await compress(tar, "gzip");
}

/** MS-DOS date and time fields for a Unix time (1980 at the earliest). */
function dosTime(mtime: number): { date: number; time: number } {
  const d = new Date(Math.max(mtime * 1000, Date.UTC(1980, 0, 1)));
  return {
    date: ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1),
  };
}

/**
 * A zip archive holding one file, `name`, deflated (lib/seed/zip.ts writes stored entries
 * only; an 80 MB binary wants compression). Marked as made on Unix with mode 0755.
 */
export async function zipDeflated(name: string, data: Uint8Array, mtime = 0): Promise<Uint8Array> {
  const nameBytes = new TextEncoder().encode(name);
  const body = await compress(data, "deflate-raw");
  const crc = crc32(data);
  const { date, time } = dosTime(mtime);
  const local = new Uint8Array(30 + nameBytes.length);
  const l = new DataView(local.buffer);
  l.setUint32(0, 0x04034b50, true);
  l.setUint16(4, 20, true);
  l.setUint16(8, 8, true); // deflate
  l.setUint16(10, time, true);
  l.setUint16(12, date, true);
  l.setUint32(14, crc, true);
  l.setUint32(18, body.length, true);
  l.setUint32(22, data.length, true);
  l.setUint16(26, nameBytes.length, true);
  local.set(nameBytes, 30);
  const central = new Uint8Array(46 + nameBytes.length);
  const c = new DataView(central.buffer);
  c.setUint32(0, 0x02014b50, true);
  c.setUint16(4, (3 << 8) | 20, true); // made on Unix: the mode below counts
  c.setUint16(6, 20, true);
  c.setUint16(10, 8, true);
  c.setUint16(12, time, true);
  c.setUint16(14, date, true);
  c.setUint32(16, crc, true);
  c.setUint32(20, body.length, true);
  c.setUint32(24, data.length, true);
  c.setUint16(28, nameBytes.length, true);
  c.setUint32(38, ((0o100000 | 0o755) << 16) >>> 0, true);
  central.set(nameBytes, 46);
  const end = new Uint8Array(22);
  const e = new DataView(end.buffer);
  e.setUint32(0, 0x06054b50, true);
  e.setUint16(8, 1, true);
  e.setUint16(10, 1, true);
  e.setUint32(12, central.length, true);
  e.setUint32(16, local.length + body.length, true);
  const out = new Uint8Array(local.length + body.length + central.length + end.length);
  out.set(local, 0);
  out.set(body, local.length);
  out.set(central, local.length + body.length);
  out.set(end, local.length + body.length + central.length);
  return out;
}

/** The archive of `binary` for `target`. */
export function archive(target: Target, binary: Uint8Array, mtime = 0): Promise<Uint8Array> {
  return target.endsWith("-windows-msvc")
    ? zipDeflated(exeName(target), binary, mtime)
    : tarGz(exeName(target), binary, mtime);
}

/** The SHA-256 of `data`, as lowercase hex. */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** `SHA256SUMS`: one `HASH  NAME` line per file, sorted by name (what `sha256sum` prints). */
export async function sha256Sums(files: ReadonlyMap<string, Uint8Array>): Promise<string> {
  const names = [...files.keys()].sort();
  const lines = await Promise.all(
    names.map(async (name) => `${await sha256Hex(files.get(name)!)}  ${name}\n`),
  );
  return lines.join("");
}

/**
 * Write the archive of each `[target, binary path]` and `SHA256SUMS` over them into `out`;
 * returns the file names written. Throws on an unknown target or an unreadable binary.
 */
export async function packageRelease(
  version: string,
  binaries: ReadonlyArray<readonly [Target, string]>,
  options: { out: string; mtime?: number },
): Promise<string[]> {
  if (!/^\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$/.test(version)) {
    throw new Error(`Cannot package version ${JSON.stringify(version)}: expected X.Y.Z`);
  }
  await Deno.mkdir(options.out, { recursive: true });
  const files = new Map<string, Uint8Array>();
  for (const [target, path] of binaries) {
    const name = archiveName(version, target);
    files.set(name, await archive(target, await Deno.readFile(path), options.mtime ?? 0));
  }
  for (const [name, data] of files) await Deno.writeFile(join(options.out, name), data);
  await Deno.writeTextFile(join(options.out, "SHA256SUMS"), await sha256Sums(files));
  return [...files.keys(), "SHA256SUMS"];
}

if (import.meta.main) {
  const args = [...Deno.args];
  const take = (flag: string): string => {
    const at = args.indexOf(flag);
    const value = at >= 0 ? args[at + 1] : undefined;
    if (value === undefined) throw new Error(`usage: package.ts ${flag} VALUE ...`);
    args.splice(at, 2);
    return value;
  };
  const version = take("--version").replace(/^v/, "");
  const out = take("--out");
  const binaries = args.map((arg): [Target, string] => {
    const [target, path] = [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)];
    if (!isTarget(target)) throw new Error(`unknown target in ${arg}: one of ${TARGETS}`);
    return [target, path];
  });
  const mtime = Number(Deno.env.get("SOURCE_DATE_EPOCH") ?? "0");
  for (const name of await packageRelease(version, binaries, { out, mtime })) {
    console.log(join(out, basename(name)));
  }
}
