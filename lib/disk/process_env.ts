/**
 * The process's environment variables and working directory, read without ever throwing: Deno
 * refuses to return a value or path that is not valid UTF-8, and mkvenv must answer such input
 * with a message, not an internal error.
 */

/**
 * The value of the environment variable `name`, or undefined when it is not set. A value that
 * is not valid UTF-8 is returned with U+FFFD in place of each bad byte (read from
 * `/proc/self/environ` where there is one; elsewhere such a variable counts as unset): callers
 * refuse or skip what contains U+FFFD, as no file can be opened by that name.
 */
export function envVar(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return rawEnvVar(name);
  }
}

function rawEnvVar(name: string): string | undefined {
  return rawEnvironment().get(name);
}

/** The environment as `/proc/self/environ` holds it, bad UTF-8 replaced; empty without it. */
function rawEnvironment(): Map<string, string> {
  const out = new Map<string, string>();
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync("/proc/self/environ");
  } catch {
    return out;
  }
  const decoder = new TextDecoder("utf-8", { fatal: false });
  for (let start = 0; start < bytes.length;) {
    const end = bytes.indexOf(0, start);
    const stop = end < 0 ? bytes.length : end;
    const entry = decoder.decode(bytes.subarray(start, stop));
    const eq = entry.indexOf("=", 1);
    if (eq > 0 && !out.has(entry.slice(0, eq))) out.set(entry.slice(0, eq), entry.slice(eq + 1));
    start = stop + 1;
  }
  return out;
}

/**
 * The whole environment, as `Deno.env.toObject()` unless a value is not valid UTF-8: then as
 * `envVar` reads each (U+FFFD in place of bad bytes; where there is no `/proc`, without it).
 */
export function envObject(): Record<string, string> {
  try {
    return Deno.env.toObject();
  } catch {
    return Object.fromEntries(rawEnvironment());
  }
}

/**
 * The working directory, or null when it cannot be named: its path is not valid UTF-8, or it
 * was removed.
 */
export function currentDir(): string | null {
  try {
    return Deno.cwd();
  } catch {
    return null;
  }
}
