/**
 * What a venv, pip and the usual venv tools put at the top of a venv, so that `--clear` can tell
 * a venv from a project that holds one (`mkvenv .` in a project, later `--clear .`): clearing the
 * latter would delete the project.
 */

/**
 * Top-level names a venv has (POSIX and Windows), pip adds (data files under `share`, `etc`,
 * `man`; its old `pip-selfcheck.json`), or venv tools add (virtualenv's and uv's `CACHEDIR.TAG`,
 * uv's `.lock`, virtualenvwrapper's `.project`).
 */
const VENV_ENTRIES = new Set([
  "bin",
  "Scripts",
  "include",
  "Include",
  "lib",
  "Lib",
  "lib64",
  "DLLs",
  "pyvenv.cfg",
  ".gitignore",
  "share",
  "etc",
  "man",
  "pip-selfcheck.json",
  "selfcheck.json",
  "CACHEDIR.TAG",
  ".lock",
  ".project",
  ".DS_Store",
]);

const VCS_DIRS = [".git", ".hg", ".svn", ".bzr"];

function isDir(path: string): boolean {
  try {
    return Deno.lstatSync(path).isDirectory;
  } catch {
    return false;
  }
}

/**
 * `src` is where `pip install -e <vcs url>` checks projects out: each entry a checkout. A `src`
 * holding anything else is a project's.
 */
function isPipSrc(dir: string): boolean {
  for (const entry of Deno.readDirSync(dir)) {
    const checkout = `${dir}/${entry.name}`;
    if (!entry.isDirectory || !VCS_DIRS.some((vcs) => isDir(`${checkout}/${vcs}`))) return false;
  }
  return true;
}

/**
 * The first top-level entry of the venv `envDir` that neither a venv nor pip puts there (a
 * `.git`, a `pyproject.toml`, a project's `src`), or null. `own` tells mkvenv's own helper names.
 */
export function foreignEntry(envDir: string, own: (name: string) => boolean): string | null {
  const names = [...Deno.readDirSync(envDir)].map((e) => e.name).sort();
  for (const name of names) {
    if (VENV_ENTRIES.has(name) || own(name)) continue;
    if (name === "src" && isDir(`${envDir}/src`) && isPipSrc(`${envDir}/src`)) continue;
    return name;
  }
  return null;
}
