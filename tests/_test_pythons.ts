/**
 * The base interpreters of the portable end-to-end tests (tests/e2e/portable_test.ts):
 * `MKVENV_TEST_PYTHONS`, executables separated by new lines or the PATH separator (GitHub
 * Actions sets it to setup-python's 3.9, 3.12, 3.13 and 3.13t), else the pyenv CPythons 3.9,
 * 3.12 and 3.13 (and a free-threaded 3.13t where pyenv has one) of the development machine,
 * else python3 (python on Windows) on PATH.
 */
import { delimiter, join } from "node:path";
import { which } from "./_shells.ts";
import { pyenvPythons, run } from "./_util.ts";

/** A base interpreter and the facts the tests need about it. */
export interface TestPython {
  exe: string;
  /** `3.12.1`, or `3.13.0t` for a free-threaded build. */
  label: string;
  /** `3.12`, or `3.13t`. */
  xy: string;
  freeThreaded: boolean;
}

function pyenvDefaults(): string[] {
  const wanted = ["3.9", "3.12", "3.13"];
  const found = pyenvPythons().filter((p) => wanted.includes(p.xy)).map((p) => p.exe);
  const root = Deno.env.get("PYENV_ROOT") ?? "/root/.pyenv";
  try {
    for (const entry of Deno.readDirSync(join(root, "versions"))) {
      if (!/^3\.13\.\d+t$/.test(entry.name)) continue;
      found.push(join(root, "versions", entry.name, "bin", "python3.13t"));
      break;
    }
  } catch {
    // no pyenv
  }
  return found;
}

/** The interpreters named by MKVENV_TEST_PYTHONS, else the pyenv defaults; each probed once. */
export async function testPythons(): Promise<TestPython[]> {
  const listed = Deno.env.get("MKVENV_TEST_PYTHONS");
  const fallback = () => {
    const onPath = which("python3") ?? which("python");
    return onPath === null ? [] : [onPath];
  };
  const pyenv = listed === undefined ? pyenvDefaults() : [];
  const exes = listed === undefined
    ? (pyenv.length > 0 ? pyenv : fallback())
    : listed.split(/\r?\n/).flatMap((line) => line.split(delimiter)).map((p) => p.trim())
      .filter((p) => p !== "");
  if (exes.length === 0) {
    throw new Error("no Python to test with: set MKVENV_TEST_PYTHONS, or put python3 on PATH");
  }
  const code = "import sys, sysconfig; print('%d.%d.%d' % sys.version_info[:3], " +
    "bool(sysconfig.get_config_var('Py_GIL_DISABLED')))";
  return await Promise.all(exes.map(async (exe) => {
    const r = await run(exe, ["-c", code]);
    if (r.code !== 0) throw new Error(`${exe} does not run: ${r.stderr}`);
    const [version, gil] = r.stdout.trim().split(" ");
    const freeThreaded = gil === "True";
    const xy = version!.split(".").slice(0, 2).join(".") + (freeThreaded ? "t" : "");
    return { exe, label: version! + (freeThreaded ? "t" : ""), xy, freeThreaded };
  }));
}
