/**
 * mkvenv's on-disk cache: where it lives, and how entries are written so that a concurrent
 * reader never sees half of one.
 */
import { posix, win32 } from "node:path";

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

/** A short stable hex digest of `text` (SHA-256, first 32 hex digits). */
export async function digest(text: string): Promise<string> {
  const bytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(bytes).slice(0, 16), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}
