/**
 * Path syntax for POSIX and Windows, with node:path's names and meanings for the functions
 * mkvenv uses. Why not node:path: importing any `node:` module starts Deno's Node compatibility
 * layer, about 5 ms of a 30 ms run, a sixth of what a venv costs us (see bench/).
 */

/**
 * The longest path (in bytes, without the final NUL) the system calls take: PATH_MAX less one
 * on Linux and macOS; on Windows, long paths are allowed to 32767 characters.
 */
export const PATH_LIMIT: Readonly<Record<"linux" | "darwin" | "windows", number>> = {
  linux: 4095,
  darwin: 1023,
  windows: 32767,
};

/** The path functions of one platform's syntax. */
export interface PathApi {
  readonly sep: string;
  readonly delimiter: string;
  isAbsolute(path: string): boolean;
  normalize(path: string): string;
  join(...parts: string[]): string;
  resolve(...parts: string[]): string;
  dirname(path: string): string;
  basename(path: string, suffix?: string): string;
  extname(path: string): string;
  relative(from: string, to: string): string;
}

function hostCwd(): string {
  return Deno.cwd();
}

function normalizeSegments(segments: string[], absolute: boolean): string[] {
  const out: string[] = [];
  for (const s of segments) {
    if (s === "" || s === ".") continue;
    if (s === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(s);
  }
  return out;
}

function basenameOf(path: string, seps: RegExp, root: string, suffix?: string): string {
  let rest = path.slice(root.length);
  rest = rest.replace(new RegExp(`${seps.source}+$`), "");
  const parts = rest.split(seps);
  let base = parts[parts.length - 1] ?? "";
  if (suffix && base.endsWith(suffix) && base !== suffix) base = base.slice(0, -suffix.length);
  return base;
}

function extnameOf(base: string): string {
  const dot = base.lastIndexOf(".");
  return dot <= 0 || base === ".." ? "" : base.slice(dot);
}

/** POSIX path syntax. */
export const posix: PathApi = {
  sep: "/",
  delimiter: ":",
  isAbsolute: (path) => path.startsWith("/"),
  normalize(path) {
    if (path === "") return ".";
    const absolute = path.startsWith("/");
    const trailing = path.endsWith("/");
    const body = normalizeSegments(path.split("/"), absolute).join("/");
    if (absolute) return "/" + body + (trailing && body ? "/" : "");
    return (body || ".") + (trailing && body ? "/" : "");
  },
  join(...parts) {
    const joined = parts.filter((p) => p !== "").join("/");
    return joined === "" ? "." : posix.normalize(joined);
  },
  resolve(...parts) {
    let path = "";
    for (let i = parts.length - 1; i >= 0 && !path.startsWith("/"); i--) {
      const part = parts[i]!;
      if (part !== "") path = path === "" ? part : `${part}/${path}`;
    }
    if (!path.startsWith("/")) path = `${hostCwd()}/${path}`;
    const body = normalizeSegments(path.split("/"), true).join("/");
    return "/" + body;
  },
  dirname(path) {
    if (path === "") return ".";
    const hasRoot = path.startsWith("/");
    const trimmed = path.replace(/(?<=.)\/+$/, "");
    const at = trimmed.lastIndexOf("/");
    if (at < 0) return hasRoot ? "/" : ".";
    if (at === 0) return "/";
    if (at === 1 && trimmed.startsWith("//")) return "//";
    return trimmed.slice(0, at);
  },
  basename: (path, suffix) => basenameOf(path, /\//, "", suffix),
  extname: (path) => extnameOf(posix.basename(path)),
  relative(from, to) {
    const a = posix.resolve(from).split("/").filter(Boolean);
    const b = posix.resolve(to).split("/").filter(Boolean);
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    return [...a.slice(i).map(() => ".."), ...b.slice(i)].join("/");
  },
};

/** The root of a Windows path: `C:\`, `C:`, `\\server\share\`, `\`, or "". */
function winRoot(path: string): string {
  const unc = /^[\\/]{2}[^\\/]+[\\/]+[^\\/]+[\\/]?/.exec(path);
  if (unc) return unc[0];
  const drive = /^[A-Za-z]:[\\/]?/.exec(path);
  if (drive) return drive[0];
  return /^[\\/]/.test(path) ? path[0]! : "";
}

function winCleanRoot(root: string): string {
  const clean = root.replaceAll("/", "\\");
  return clean.startsWith("\\\\") && !clean.endsWith("\\") ? `${clean}\\` : clean;
}

/** Windows path syntax (backslashes out; both separators in). */
export const win32: PathApi = {
  sep: "\\",
  delimiter: ";",
  isAbsolute(path) {
    const root = winRoot(path);
    return root !== "" && (/[\\/]$/.test(root) || /^[\\/]{2}/.test(root));
  },
  normalize(path) {
    if (path === "") return ".";
    const root = winCleanRoot(winRoot(path));
    const absolute = root.endsWith("\\");
    const trailing = /[\\/]$/.test(path) && path.length > root.length;
    const body = normalizeSegments(path.slice(root.length).split(/[\\/]/), absolute).join("\\");
    const out = root + body + (trailing && body ? "\\" : "");
    if (out === "") return ".";
    return /^[A-Za-z]:$/.test(out) ? `${out}.` : out;
  },
  join(...parts) {
    const joined = parts.filter((p) => p !== "").join("\\");
    return joined === "" ? "." : win32.normalize(joined);
  },
  resolve(...parts) {
    let device = "";
    let tail = "";
    let absolute = false;
    for (let i = parts.length - 1; i >= -1; i--) {
      const part = i >= 0 ? parts[i]! : hostCwd();
      if (part === "") continue;
      const root = winRoot(part);
      const partDevice = root.replace(/[\\/]$/, "").replace(/^[\\/]$/, "");
      if (partDevice && device && partDevice.toLowerCase() !== device.toLowerCase()) continue;
      if (!device) device = partDevice.replaceAll("/", "\\");
      if (!absolute) {
        tail = `${part.slice(root.length)}\\${tail}`;
        absolute = win32.isAbsolute(root);
      }
      if (absolute && device) break;
    }
    const body = normalizeSegments(tail.split(/[\\/]/), true).join("\\");
    return `${device}\\${body}`;
  },
  dirname(path) {
    const root = winRoot(path);
    const rest = path.slice(root.length).replace(/(?<=.)[\\/]+$/, "");
    const at = Math.max(rest.lastIndexOf("\\"), rest.lastIndexOf("/"));
    if (at < 0) return root === "" ? "." : root;
    return root + rest.slice(0, at);
  },
  basename: (path, suffix) => basenameOf(path, /[\\/]/, /^[A-Za-z]:/.exec(path)?.[0] ?? "", suffix),
  extname: (path) => extnameOf(win32.basename(path)),
  relative(from, to) {
    const a = win32.resolve(from).split("\\").filter(Boolean);
    const b = win32.resolve(to).split("\\").filter(Boolean);
    let i = 0;
    while (i < a.length && i < b.length && a[i]!.toLowerCase() === b[i]!.toLowerCase()) i++;
    return [...a.slice(i).map(() => ".."), ...b.slice(i)].join("\\");
  },
};

const host: PathApi = Deno.build.os === "windows" ? win32 : posix;

/** The host's path separator. */
export const sep: string = host.sep;
/** The host's PATH list separator. */
export const delimiter: string = host.delimiter;
/** Host path functions (node:path's top-level names). */
export const { isAbsolute, normalize, join, resolve, dirname, basename, extname, relative } = {
  isAbsolute: host.isAbsolute,
  normalize: host.normalize,
  join: host.join,
  resolve: host.resolve,
  dirname: host.dirname,
  basename: host.basename,
  extname: host.extname,
  relative: host.relative,
};

/** The path of a `file:` URL, in host syntax. */
export function fromFileUrl(url: string | URL): string {
  const u = typeof url === "string" ? new URL(url) : url;
  const path = decodeURIComponent(u.pathname);
  if (Deno.build.os !== "windows") return path;
  const local = path.replace(/^\/([A-Za-z]:)/, "$1").replaceAll("/", "\\");
  return u.host ? `\\\\${u.host}${local}` : local;
}
