/**
 * Version numbers and version specifiers as PEP 440 defines them, as far as choosing a seed
 * wheel needs: compare two versions, and decide whether a `Requires-Python` specifier admits a
 * Python version. Pure.
 */

/** A parsed version: `1!2.0.0rc1.post2.dev3+local`. */
export interface Version {
  epoch: number;
  release: number[];
  /** `["a" | "b" | "rc", n]`, or null. */
  pre: [string, number] | null;
  post: number | null;
  dev: number | null;
  local: string | null;
}

const VERSION_RE = new RegExp(
  "^\\s*v?(?:(\\d+)!)?(\\d+(?:\\.\\d+)*)" + // epoch, release
    "(?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?(\\d+)?)?" + // pre-release
    "(?:-(\\d+)|[-_.]?(post|rev|r)[-_.]?(\\d+)?)?" + // post-release
    "(?:[-_.]?(dev)[-_.]?(\\d+)?)?" + // development release
    "(?:\\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\\s*$", // local label
  "i",
);

function preKind(word: string): string {
  const w = word.toLowerCase();
  if (w === "alpha" || w === "a") return "a";
  if (w === "beta" || w === "b") return "b";
  return "rc";
}

/** Parse `text` as a PEP 440 version, or return null when it is not one. */
export function parseVersion(text: string): Version | null {
  const m = VERSION_RE.exec(text);
  if (!m) return null;
  const num = (s: string | undefined) => (s === undefined ? 0 : Number(s));
  return {
    epoch: num(m[1]),
    release: m[2]!.split(".").map(Number),
    pre: m[3] === undefined ? null : [preKind(m[3]), num(m[4])],
    post: m[5] !== undefined ? Number(m[5]) : m[6] !== undefined ? num(m[7]) : null,
    dev: m[8] === undefined ? null : num(m[9]),
    local: m[10] === undefined ? null : m[10].toLowerCase().replace(/[-_]/g, "."),
  };
}

function compareReleases(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

// Sort keys for the parts after the release, following PEP 440's ordering:
// X.devN < X.aN.devM < X.aN < X.aN.postM < X < X.postN.devM < X.postN
function preKey(v: Version): [number, string, number] {
  if (v.pre === null && v.post === null && v.dev !== null) return [-1, "", 0];
  if (v.pre === null) return [1, "", 0];
  return [0, v.pre[0], v.pre[1]];
}

function compareLocal(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  const pa = a.split(".");
  const pb = b.split(".");
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny && Number(x) !== Number(y)) return Math.sign(Number(x) - Number(y));
    if (nx !== ny) return nx ? 1 : -1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Order two versions: negative when `a < b`, 0 when equal, positive when `a > b`. */
export function compareVersions(a: Version, b: Version): number {
  if (a.epoch !== b.epoch) return Math.sign(a.epoch - b.epoch);
  const r = compareReleases(a.release, b.release);
  if (r !== 0) return r;
  const [ka, sa, na] = preKey(a);
  const [kb, sb, nb] = preKey(b);
  if (ka !== kb) return Math.sign(ka - kb);
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (na !== nb) return Math.sign(na - nb);
  const pa = a.post ?? -1;
  const pb = b.post ?? -1;
  if (pa !== pb) return Math.sign(pa - pb);
  const da = a.dev ?? Infinity;
  const db = b.dev ?? Infinity;
  if (da !== db) return da < db ? -1 : 1;
  return compareLocal(a.local, b.local);
}

function withoutLocal(v: Version): Version {
  return { ...v, local: null };
}

function clauseAdmits(op: string, spec: string, version: Version, raw: string): boolean {
  if (op === "===") return raw.trim() === spec.trim();
  if ((op === "==" || op === "!=") && spec.endsWith(".*")) {
    const prefix = parseVersion(spec.slice(0, -2));
    if (prefix === null) throw new SyntaxError(`invalid version in ${op}${spec}`);
    const head = version.release.slice(0, prefix.release.length);
    while (head.length < prefix.release.length) head.push(0);
    const matches = version.epoch === prefix.epoch &&
      compareReleases(head, prefix.release) === 0;
    return op === "==" ? matches : !matches;
  }
  const target = parseVersion(spec);
  if (target === null) throw new SyntaxError(`invalid version in ${op}${spec}`);
  const candidate = target.local === null ? withoutLocal(version) : version;
  const c = compareVersions(candidate, target);
  switch (op) {
    case "==":
      return c === 0;
    case "!=":
      return c !== 0;
    case "<=":
      return c <= 0;
    case ">=":
      return c >= 0;
    case "<":
      return c < 0;
    case ">":
      return c > 0;
    case "~=": {
      if (target.release.length < 2) throw new SyntaxError(`~=${spec} needs two release parts`);
      const prefix = target.release.slice(0, -1).join(".");
      return c >= 0 && clauseAdmits("==", `${target.epoch}!${prefix}.*`, version, raw);
    }
  }
  throw new SyntaxError(`unknown operator ${op}`);
}

/**
 * Whether the specifier set `specifier` (e.g. `">=3.7, !=3.8.*"`) admits `version` (a plain
 * release such as `"3.12.1"`, which is how installers match `Requires-Python`). An empty
 * specifier admits everything. Throws `SyntaxError` when the specifier or version is invalid.
 */
export function specifierAdmits(specifier: string, version: string): boolean {
  const v = parseVersion(version);
  if (v === null) throw new SyntaxError(`invalid version ${JSON.stringify(version)}`);
  for (const part of specifier.split(",")) {
    const clause = part.trim();
    if (clause === "") continue;
    const m = /^(~=|===|==|!=|<=|>=|<|>)\s*(\S+)$/.exec(clause);
    if (!m) throw new SyntaxError(`invalid specifier clause ${JSON.stringify(clause)}`);
    if (!clauseAdmits(m[1]!, m[2]!, v, version)) return false;
  }
  return true;
}
