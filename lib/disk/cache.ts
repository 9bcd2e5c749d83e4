/**
 * mkvenv's on-disk cache: where it lives, and how entries are written so that a concurrent
 * reader never sees half of one.
 */
import { posix, win32 } from "./paths.ts";

/** Environment lookup, injectable for tests. */
export type Env = (name: string) => string | undefined;

/**
 * The cache root: `MKVENV_CACHE_DIR`, else the platform's user cache directory + `mkvenv`.
 * Returns `null` when no home directory is known (the cache is then skipped).
 */
export function cacheRoot(
  platform: typeof Deno.build.os = Deno.build.os,
  env: Env = (name) => Deno.env.get(name),
): string | null {
  const explicit = env("MKVENV_CACHE_DIR");
  if (explicit) return explicit;
  if (platform === "windows") {
    const local = env("LOCALAPPDATA");
    return local ? win32.join(local, "mkvenv", "Cache") : null;
  }
  const join = posix.join;
  const home = env("HOME");
  if (platform === "darwin") return home ? join(home, "Library", "Caches", "mkvenv") : null;
  const xdg = env("XDG_CACHE_HOME");
  if (xdg && xdg.startsWith("/")) return join(xdg, "mkvenv");
  return home ? join(home, ".cache", "mkvenv") : null;
}

/**
 * Write `data` to `path` atomically: a unique temporary sibling, then rename over the target.
 * Creates the parent directory. Throws what the file system throws.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = path.slice(0, Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")));
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e: unknown) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * A short stable hex digest of `text` for cache file names (two 32-bit FNV-1a lanes): not
 * cryptographic, and synchronous, which matters on the start-up path.
 */
export function digest(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}
