/**
 * ZIP archives, as far as wheels and Windows script launchers need them: read an archive held
 * in memory (stored and deflated entries, ZIP64 sizes and offsets), and write a small one
 * (stored entries). Pure: bytes in, bytes out. Inflating uses the web `DecompressionStream`,
 * not node:zlib, whose loading alone would add ~10 ms to every run of mkvenv.
 */

/** One member of an archive, from its central directory record. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Offset of the member's local header. */
  localOffset: number;
  /** Unix permission bits when the archive was made on Unix, else null. */
  mode: number | null;
}

/**
 * The CRC-32 lookup table, made on first use: 2,048 steps that take V8's interpreter about
 * 2 ms, which a warm run (no wheel read) should not pay when the module loads.
 */
let crcTable: Uint32Array | null = null;

function makeCrcTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** The CRC-32 (ISO-HDLC, as ZIP uses) of `data`. */
export function crc32(data: Uint8Array): number {
  const table = crcTable ??= makeCrcTable();
  let crc = 0xffffffff;
  for (const byte of data) crc = table[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Compressed bytes fed to the inflater at a time: the most one write can inflate to is ~1000x. */
const INFLATE_SLICE = 16 * 1024;

/**
 * Inflate `data` with a `DecompressionStream` fed directly (half the time of piping a `Blob`
 * through one: fewer stream stages and event-loop turns per entry). Stops with an error once
 * the output passes `size` bytes: a few megabytes can inflate to gigabytes. The input goes in
 * slices, because the stream hands back all that one write inflates to as one chunk.
 */
async function inflateRaw(data: Uint8Array, size: number): Promise<Uint8Array> {
  const stream = new DecompressionStream("deflate-raw");
  const writer = stream.writable.getWriter();
  // Errors reach the reader too; the writing is only kept from being unhandled.
  (async () => {
    for (let at = 0; at < data.length; at += INFLATE_SLICE) {
      await writer.write(data.subarray(at, at + INFLATE_SLICE) as Uint8Array<ArrayBuffer>);
    }
    await writer.close();
  })().catch(() => {});
  const reader = stream.readable.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > size) {
      await reader.cancel().catch(() => {});
      throw new ZipError(`it inflates to more than the ${size} bytes its header declares`);
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : concatBytes(chunks);
}

const EOCD_SIG = 0x06054b50;
const EOCD64_LOCATOR_SIG = 0x07064b50;
const EOCD64_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

/** A malformed or unsupported archive; the message says what is wrong. */
export class ZipError extends Error {
  override name = "ZipError";
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function u64(dv: DataView, at: number): number {
  const value = dv.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError("a ZIP64 value is too large");
  return Number(value);
}

function findEndOfCentralDirectory(bytes: Uint8Array, dv: DataView): number {
  // The record is 22 bytes plus a comment of at most 65535 bytes, at the very end.
  const lowest = Math.max(0, bytes.length - 22 - 0xffff);
  for (let at = bytes.length - 22; at >= lowest; at--) {
    if (
      dv.getUint32(at, true) === EOCD_SIG && at + 22 + dv.getUint16(at + 20, true) <= bytes.length
    ) {
      return at;
    }
  }
  throw new ZipError("no end of central directory record: not a ZIP archive, or truncated");
}

/**
 * The members of the archive `bytes`, in central-directory order.
 * Throws `ZipError` when the archive is malformed or uses a multi-disk layout.
 */
export function readZipEntries(bytes: Uint8Array): ZipEntry[] {
  try {
    return zipEntries(bytes);
  } catch (e: unknown) {
    // A length field pointing past the end of the archive.
    if (e instanceof RangeError) throw new ZipError(`it is truncated or damaged (${e.message})`);
    throw e;
  }
}

function zipEntries(bytes: Uint8Array): ZipEntry[] {
  const dv = view(bytes);
  const eocd = findEndOfCentralDirectory(bytes, dv);
  let count = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (dv.getUint16(eocd + 4, true) !== 0 || dv.getUint16(eocd + 6, true) !== 0) {
    throw new ZipError("multi-disk archives are not supported");
  }
  // Data prepended to the archive (a launcher executable) shifts every offset by one amount:
  // the central directory ends where the (ZIP64) end record starts.
  let shift = eocd - cdSize - cdOffset;
  const locator = eocd - 20;
  if (locator >= 56 && dv.getUint32(locator, true) === EOCD64_LOCATOR_SIG) {
    const recorded = u64(dv, locator + 8);
    const actual = locator - 56;
    if (dv.getUint32(actual, true) !== EOCD64_SIG) {
      throw new ZipError("the ZIP64 end of central directory record is missing");
    }
    count = u64(dv, actual + 32);
    cdSize = u64(dv, actual + 40);
    cdOffset = u64(dv, actual + 48);
    shift = actual - recorded;
    if (actual - cdSize - cdOffset !== shift) {
      throw new ZipError("the ZIP64 end of central directory record is inconsistent");
    }
  }
  if (shift < 0 || cdOffset + shift + cdSize > bytes.length) {
    throw new ZipError("the central directory lies outside the archive");
  }
  const entries: ZipEntry[] = [];
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let at = cdOffset + shift;
  for (let i = 0; i < count; i++) {
    if (at + 46 > bytes.length || dv.getUint32(at, true) !== CENTRAL_SIG) {
      throw new ZipError(`central directory record ${i + 1} of ${count} is malformed`);
    }
    const versionMadeBy = dv.getUint16(at + 4, true);
    const method = dv.getUint16(at + 10, true);
    const crc = dv.getUint32(at + 16, true);
    let compressedSize = dv.getUint32(at + 20, true);
    let size = dv.getUint32(at + 24, true);
    const nameLength = dv.getUint16(at + 28, true);
    const extraLength = dv.getUint16(at + 30, true);
    const commentLength = dv.getUint16(at + 32, true);
    const external = dv.getUint32(at + 38, true);
    let localOffset = dv.getUint32(at + 42, true);
    if (at + 46 + nameLength + extraLength + commentLength > cdOffset + shift + cdSize) {
      throw new ZipError(`central directory record ${i + 1} of ${count} runs past its end`);
    }
    const nameBytes = bytes.subarray(at + 46, at + 46 + nameLength);
    let name: string;
    try {
      name = decoder.decode(nameBytes);
    } catch {
      name = String.fromCharCode(...nameBytes);
    }
    let extra = at + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = dv.getUint16(extra, true);
      const length = dv.getUint16(extra + 2, true);
      if (id === 0x0001) {
        let field = extra + 4;
        if (size === 0xffffffff) size = u64(dv, (field += 8) - 8);
        if (compressedSize === 0xffffffff) compressedSize = u64(dv, (field += 8) - 8);
        if (localOffset === 0xffffffff) localOffset = u64(dv, field);
      }
      extra += 4 + length;
    }
    const madeOnUnix = versionMadeBy >> 8 === 3;
    const mode = madeOnUnix && external >>> 16 !== 0 ? (external >>> 16) & 0o7777 : null;
    entries.push({
      name,
      method,
      crc32: crc,
      compressedSize,
      size,
      localOffset: localOffset + shift,
      mode,
    });
    at = extraEnd + commentLength;
  }
  return entries;
}

/**
 * The uncompressed bytes of `entry`, checked against its size and CRC-32.
 * Throws `ZipError` for an unknown compression method or damaged data.
 */
export async function readZipEntry(bytes: Uint8Array, entry: ZipEntry): Promise<Uint8Array> {
  const dv = view(bytes);
  const at = entry.localOffset;
  if (at + 30 > bytes.length || dv.getUint32(at, true) !== LOCAL_SIG) {
    throw new ZipError(`the local header of ${JSON.stringify(entry.name)} is missing`);
  }
  const start = at + 30 + dv.getUint16(at + 26, true) + dv.getUint16(at + 28, true);
  const raw = bytes.subarray(start, start + entry.compressedSize);
  if (raw.length !== entry.compressedSize) {
    throw new ZipError(`the data of ${JSON.stringify(entry.name)} is truncated`);
  }
  let data: Uint8Array;
  if (entry.method === 0) data = raw;
  else if (entry.method === 8) {
    try {
      data = await inflateRaw(raw, entry.size);
    } catch (e: unknown) {
      const why = e instanceof ZipError ? e.message : String(e);
      throw new ZipError(`the data of ${JSON.stringify(entry.name)} does not inflate: ${why}`);
    }
  } else {
    throw new ZipError(
      `${
        JSON.stringify(entry.name)
      } uses compression method ${entry.method}, not stored or deflate`,
    );
  }
  if (data.length !== entry.size || crc32(data) !== entry.crc32) {
    throw new ZipError(`the data of ${JSON.stringify(entry.name)} fails its CRC-32 check`);
  }
  return data;
}

/** A file to put in an archive written by `writeZip`. */
export interface ZipInput {
  name: string;
  data: Uint8Array;
  /** Unix permission bits to record (default 0o644). */
  mode?: number;
}

/**
 * An archive holding `files` (stored, uncompressed), with offsets relative to its own first byte (so it can be
 * appended to a launcher executable). Timestamps are fixed at 1980-01-01 for reproducibility.
 */
export function writeZip(files: readonly ZipInput[]): Uint8Array {
  const encoder = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const file of files) {
    const name = encoder.encode(file.name);
    const body = file.data;
    const crc = crc32(file.data);
    const method = 0;
    const local = new Uint8Array(30 + name.length);
    const ldv = view(local);
    ldv.setUint32(0, LOCAL_SIG, true);
    ldv.setUint16(4, 20, true);
    ldv.setUint16(6, 0x0800, true); // names are UTF-8
    ldv.setUint16(8, method, true);
    ldv.setUint16(10, 0, true);
    ldv.setUint16(12, 0x21, true); // 1980-01-01
    ldv.setUint32(14, crc, true);
    ldv.setUint32(18, body.length, true);
    ldv.setUint32(22, file.data.length, true);
    ldv.setUint16(26, name.length, true);
    local.set(name, 30);
    const central = new Uint8Array(46 + name.length);
    const cdv = view(central);
    cdv.setUint32(0, CENTRAL_SIG, true);
    cdv.setUint16(4, (3 << 8) | 20, true); // made on Unix, so the mode below is meaningful
    cdv.setUint16(6, 20, true);
    cdv.setUint16(8, 0x0800, true);
    cdv.setUint16(10, method, true);
    cdv.setUint16(14, 0x21, true);
    cdv.setUint32(16, crc, true);
    cdv.setUint32(20, body.length, true);
    cdv.setUint32(24, file.data.length, true);
    cdv.setUint16(28, name.length, true);
    cdv.setUint32(38, ((0o100000 | (file.mode ?? 0o644)) << 16) >>> 0, true);
    cdv.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local, body);
    centrals.push(central);
    offset += local.length + body.length;
  }
  const cdSize = centrals.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const edv = view(end);
  edv.setUint32(0, EOCD_SIG, true);
  edv.setUint16(8, files.length, true);
  edv.setUint16(10, files.length, true);
  edv.setUint32(12, cdSize, true);
  edv.setUint32(16, offset, true);
  return concatBytes([...locals, ...centrals, end]);
}

/** Join byte arrays into one. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
