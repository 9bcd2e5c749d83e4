import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { computeLayout, defaultBuildOptions } from "../lib/venv/layout.ts";
import {
  type DiskView,
  newVenvDirError,
  pythonOsErrorText,
  venvDirectoryRefusal,
} from "../lib/venv/venv_refusals.ts";
import { fixture } from "./fixtures/probe_fixtures.ts";

type Kind = "dir" | "file" | { link: string };

/** A disk of `entries` (absolute path -> kind); links resolve through it. */
function fakeDisk(entries: Record<string, Kind>): DiskView {
  const info = (isDirectory: boolean, isFile: boolean, isSymlink: boolean) =>
    ({ isDirectory, isFile, isSymlink }) as Deno.FileInfo;
  const lstat = (p: string) => {
    const kind = entries[p];
    if (kind === undefined) return null;
    if (typeof kind === "object") return info(false, false, true);
    return info(kind === "dir", kind === "file", false);
  };
  const stat = (p: string): Deno.FileInfo | null => {
    const kind = entries[p];
    if (typeof kind === "object") return stat(kind.link);
    return lstat(p);
  };
  return {
    stat,
    lstat,
    readLink: (p) => (entries[p] as { link: string }).link,
  };
}

const INFO = fixture("cpython-3.12-linux");
const LAYOUT = computeLayout(INFO, "/w/env", { ...defaultBuildOptions("linux"), cwd: "/w" });
const refusal = (entries: Record<string, Kind>, clear = false) =>
  venvDirectoryRefusal(LAYOUT, { clear }, fakeDisk({ "/": "dir", "/w": "dir", ...entries }))
    ?.message ?? null;

Deno.test("venvDirectoryRefusal() says what venv's ensure_directories would raise, in its words", () => {
  assertEquals(refusal({}), null);
  assertEquals(refusal({ "/w/env": "dir" }), null);
  assertEquals(
    refusal({ "/w/env": "file" }),
    "Unable to create directory '/w/env': it is a file; move it away or choose another ENV_DIR",
  );
  assertEquals(
    refusal({ "/w/env": "dir", "/w/env/bin": "file" })?.startsWith(
      "Unable to create directory '/w/env/bin': it is a file",
    ),
    true,
  );
  assertEquals(
    refusal({ "/w/env": "dir", "/w/env/include": "file" })?.startsWith(
      "[Errno 20] Not a directory: '/w/env/include/python3.12': \"/w/env/include\" is a file",
    ),
    true,
  );
  assertEquals(
    refusal({ "/w/env": { link: "/nowhere" } })?.startsWith(
      "[Errno 17] File exists: '/w/env': it is a symbolic link to \"/nowhere\", which does not exist",
    ),
    true,
  );
  // A link to a directory is built through inside the venv, refused as the venv itself.
  assertEquals(refusal({ "/w/env": "dir", "/x": "dir", "/w/env/bin": { link: "/x" } }), null);
  assertEquals(
    refusal({ "/x": "dir", "/w/env": { link: "/x" } })?.startsWith(
      "Unable to create directory '/w/env': it is a symbolic link",
    ),
    true,
  );
  assertEquals(
    refusal({ "/w/env": "dir", "/f": "file", "/w/env/bin": { link: "/f" } })?.startsWith(
      "Unable to create directory '/w/env/bin': it is a symbolic link to a file;",
    ),
    true,
  );
  // With --clear, venv empties the directory first: only the directory itself counts.
  assertEquals(refusal({ "/w/env": "dir", "/w/env/bin": "file" }, true), null);
  // venv links lib64 only where nothing resolves: a link to nothing stops it.
  assertEquals(refusal({ "/w/env": "dir", "/w/env/lib64": "file" }), null);
  assertEquals(
    refusal({ "/w/env": "dir", "/w/env/lib64": { link: "gone" } })?.startsWith(
      "[Errno 17] File exists: '/w/env/lib64'",
    ),
    true,
  );
});

Deno.test("OS errors read as Python shows them, naming the directory makedirs would fail on", () => {
  const denied = new Error("Permission denied (os error 13): mkdir '/w/a'");
  assertEquals(pythonOsErrorText(denied, "/w/a"), "[Errno 13] Permission denied: '/w/a'");
  const wrapped = new Error(`Cannot lock "/w/a": ${denied.message}`);
  assertEquals(pythonOsErrorText(wrapped, "/w/a"), "[Errno 13] Permission denied: '/w/a'");
  assertEquals(pythonOsErrorText(new Error("no errno here"), "/w/a"), null);
  const disk = fakeDisk({ "/": "dir", "/w": "dir" });
  assertEquals(
    newVenvDirError("/w/a/b/env", "linux", denied, disk)?.message.startsWith(
      "[Errno 13] Permission denied: '/w/a': cannot create the virtual environment",
    ),
    true,
  );
  assertEquals(newVenvDirError("/w", "linux", denied, disk), null, "it exists");
});

Deno.test("venvDirectoryRefusal() is no refusal when another run makes ENV_DIR between its stat and lstat", () => {
  // The check runs before the target's lock: a concurrent mkvenv may create the directory after
  // stat found nothing. The first stat of /w/env fails; everything after sees a directory.
  const disk = fakeDisk({ "/": "dir", "/w": "dir", "/w/env": "dir" });
  let first = true;
  const racing: DiskView = {
    ...disk,
    stat: (p) => {
      if (p === "/w/env" && first) {
        first = false;
        return null;
      }
      return disk.stat(p);
    },
  };
  assertEquals(venvDirectoryRefusal(LAYOUT, { clear: false }, racing), null);
});
