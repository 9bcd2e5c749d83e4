/**
 * install.sh against a local release (tests/_release_fixture.ts): the latest or a given version
 * for this machine, piped to sh, in every POSIX shell here, with curl or wget; the asset chosen
 * for each of the six targets (uname faked); and every refusal (a damaged or missing archive,
 * no such release, an unknown system or processor, a bad version) leaving nothing installed, an
 * earlier mkvenv untouched and no temporary file behind.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import type { Target } from "../scripts/package.ts";
import { fakeRelease, nativeTarget, scriptBinary } from "./_release_fixture.ts";
import { which } from "./_shells.ts";
import { ROOT, run, tempDir } from "./_util.ts";

const INSTALL_SH = join(ROOT, "install.sh");
const NATIVE = nativeTarget();
const POSIX = Deno.build.os !== "windows";

/** The releases every test serves: 0.2.0 (the latest) and 0.1.0, plus damaged ones. */
function releases() {
  return fakeRelease([
    { version: "0.2.0", binary: scriptBinary("0.2.0") },
    { version: "0.1.0", binary: scriptBinary("0.1.0") },
    { version: "0.1.1", binary: scriptBinary("0.1.1"), corrupt: [NATIVE] },
    { version: "0.1.2", binary: scriptBinary("0.1.2"), omit: [NATIVE] },
    { version: "0.1.3", binary: scriptBinary("0.1.3"), unserved: [NATIVE] },
  ]);
}

interface Sandbox {
  root: string;
  bin: string;
  tmp: string;
  env: Record<string, string>;
}

/** A HOME, an install directory (not yet made) and a TMPDIR that must be empty afterwards. */
async function sandbox(root: string, url: string, extra: Record<string, string> = {}) {
  const tmp = join(root, "tmp");
  await Deno.mkdir(tmp, { recursive: true });
  await Deno.mkdir(join(root, "home"));
  const box: Sandbox = {
    root,
    bin: join(root, "bin"),
    tmp,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: join(root, "home"),
      TMPDIR: tmp,
      MKVENV_DOWNLOAD_URL: url,
      MKVENV_INSTALL_DIR: join(root, "bin"),
      ...extra,
    },
  };
  return box;
}

function install(box: Sandbox, options: { shell?: string; env?: Record<string, string> } = {}) {
  return run(options.shell ?? "sh", [INSTALL_SH], {
    env: { ...box.env, ...options.env },
    clearEnv: true,
  });
}

function listing(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch {
    return ["(missing)"];
  }
}

/**
 * A directory of commands that answer `uname -s` and `uname -m` as `os` and `arch` do, and
 * `sysctl -n hw.optional.arm64` (Apple silicon under Rosetta) as `arm64` does.
 */
async function fakeUname(root: string, os: string, arch: string, arm64 = "0"): Promise<string> {
  const dir = join(root, "fake-uname");
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    join(dir, "uname"),
    `#!/bin/sh\ncase "$1" in -s) echo '${os}' ;; -m) echo '${arch}' ;; *) exit 2 ;; esac\n`,
    { mode: 0o755 },
  );
  await Deno.writeTextFile(
    join(dir, "sysctl"),
    `#!/bin/sh\n[ "$*" = "-n hw.optional.arm64" ] && echo '${arm64}'\n`,
    { mode: 0o755 },
  );
  return dir;
}

async function installedVersion(path: string): Promise<string> {
  const r = await run(path, ["--version"]);
  assertEquals(r.code, 0, r.stderr);
  return r.stdout.trim();
}

Deno.test({
  name: "install.sh is POSIX sh that shellcheck passes",
  ignore: !POSIX || which("shellcheck") === null,
  async fn() {
    const r = await run("shellcheck", ["--shell=sh", "--severity=style", INSTALL_SH]);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    const text = await Deno.readTextFile(INSTALL_SH);
    assert(text.startsWith("#!/bin/sh\n"));
    assert(/^set -eu$/m.test(text), "set -eu");
    assertEquals(text.trimEnd().split("\n").pop(), "main");
  },
});

Deno.test({
  name: "install.sh installs the latest release's binary for this machine, checked and runnable",
  ignore: !POSIX,
  async fn() {
    await using rel = await releases();
    await using t = await tempDir();
    const box = await sandbox(t.path, rel.url);
    const r = await install(box);
    assertEquals(r.code, 0, r.stderr);
    const exe = join(box.bin, "mkvenv");
    assertEquals(await installedVersion(exe), `mkvenv 0.2.0 (${NATIVE})`);
    assertEquals((Deno.statSync(exe).mode ?? 0) & 0o777, 0o755);
    assertEquals(listing(box.bin), ["mkvenv"]);
    assertEquals(listing(box.tmp), []);
    assert(r.stderr.includes(`installed mkvenv 0.2.0 (${NATIVE}) to ${exe}`), r.stderr);
    assert(r.stderr.includes("is not on PATH"), r.stderr);
    // The latest SHA256SUMS names the version; the archive comes from that version's release.
    assert(rel.requests.includes("/releases/latest/download/SHA256SUMS"), `${rel.requests}`);
    assert(rel.requests.includes(`/releases/download/v0.2.0/mkvenv-0.2.0-${NATIVE}.tar.gz`));
  },
});

Deno.test({
  name: "install.sh piped from curl to sh installs; cut short anywhere, it runs nothing",
  ignore: !POSIX || which("curl") === null,
  async fn() {
    await using rel = await releases();
    await using t = await tempDir();
    const box = await sandbox(t.path, rel.url);
    const piped = await run(
      "sh",
      ["-c", 'curl -fsSL "$MKVENV_DOWNLOAD_URL/latest/download/install.sh" | sh'],
      { env: box.env, clearEnv: true },
    );
    assertEquals(piped.code, 0, piped.stderr);
    assertEquals(await installedVersion(join(box.bin, "mkvenv")), `mkvenv 0.2.0 (${NATIVE})`);
    // A download cut short: every prefix that ends at a line break runs no command that
    // reaches the network or the disk (all of it is function definitions until the last line).
    await Deno.remove(box.bin, { recursive: true });
    const text = await Deno.readTextFile(INSTALL_SH);
    const lines = text.split("\n");
    rel.requests.length = 0;
    for (let cut = 1; cut < lines.length - 2; cut += 7) {
      const r = await run("sh", ["-s"], {
        env: box.env,
        clearEnv: true,
        stdin: lines.slice(0, cut).join("\n") + "\n",
      });
      assert(!r.stderr.includes("downloading"), `cut at line ${cut}: ${r.stderr}`);
    }
    assertEquals(rel.requests, []);
    assertEquals(listing(box.bin), ["(missing)"]);
    assertEquals(listing(box.tmp), []);
  },
});

Deno.test({
  name: "install.sh runs in every POSIX shell here (dash, posh, bash, ksh, mksh, zsh as sh)",
  ignore: !POSIX,
  async fn() {
    await using rel = await releases();
    const shells = [
      ["dash"],
      ["bash", "--posix"],
      ["ksh"],
      ["mksh"],
      ["zsh", "--emulate", "sh"],
      ["busybox", "sh"],
      ["posh"],
    ].filter(([cmd]) => which(cmd!) !== null);
    assert(shells.length >= 2, "at least two shells");
    for (const [shell, ...flags] of shells) {
      await using t = await tempDir();
      const box = await sandbox(t.path, rel.url, { MKVENV_VERSION: "0.1.0" });
      const r = await run(shell!, [...flags, INSTALL_SH], { env: box.env, clearEnv: true });
      assertEquals(r.code, 0, `${shell}: ${r.stderr}`);
      assertEquals(await installedVersion(join(box.bin, "mkvenv")), `mkvenv 0.1.0 (${NATIVE})`);
      assertEquals(listing(box.tmp), [], shell);
    }
  },
});

Deno.test({
  name: "install.sh installs an explicit version, with or without v, over an earlier one",
  ignore: !POSIX,
  async fn() {
    await using rel = await releases();
    await using t = await tempDir();
    const box = await sandbox(t.path, rel.url);
    for (const [asked, got] of [["0.1.0", "0.1.0"], ["v0.2.0", "0.2.0"], ["v0.1.0", "0.1.0"]]) {
      const r = await install(box, { env: { MKVENV_VERSION: asked! } });
      assertEquals(r.code, 0, r.stderr);
      assertEquals(await installedVersion(join(box.bin, "mkvenv")), `mkvenv ${got} (${NATIVE})`);
      assertEquals(listing(box.bin), ["mkvenv"]);
    }
    assert(rel.requests.every((p) => !p.includes("/latest/")), `${rel.requests}`);
  },
});

Deno.test({
  name: "install.sh without MKVENV_INSTALL_DIR installs to ~/.local/bin",
  ignore: !POSIX,
  async fn() {
    await using rel = await releases();
    await using t = await tempDir();
    const box = await sandbox(t.path, rel.url);
    delete box.env.MKVENV_INSTALL_DIR;
    const r = await install(box);
    assertEquals(r.code, 0, r.stderr);
    const exe = join(box.env.HOME!, ".local", "bin", "mkvenv");
    assertEquals(await installedVersion(exe), `mkvenv 0.2.0 (${NATIVE})`);
  },
});

Deno.test({
  name: "install.sh refuses a damaged archive: nothing installed, an earlier mkvenv untouched",
  ignore: !POSIX,
  async fn() {
    await using rel = await releases();
    await using t = await tempDir();
    const box = await sandbox(t.path, rel.url);
    const fresh = await install(box, { env: { MKVENV_VERSION: "0.1.1" } });
    assertEquals(fresh.code, 1, fresh.stderr);
    assert(
      /error: Cannot install mkvenv: mkvenv-0\.1\.1-.* does not match SHA256SUMS \(expected [0-9a-f]{64}, got [0-9a-f]{64}\)/
        .test(fresh.stderr),
      fresh.stderr,
    );
    assertEquals(listing(box.bin), ["(missing)"]);
    assertEquals(listing(box.tmp), []);

    const good = await install(box, { env: { MKVENV_VERSION: "0.1.0" } });
    assertEquals(good.code, 0, good.stderr);
    const before = await Deno.readFile(join(box.bin, "mkvenv"));
    const again = await install(box, { env: { MKVENV_VERSION: "0.1.1" } });
    assertEquals(again.code, 1, again.stderr);
    assertEquals(await Deno.readFile(join(box.bin, "mkvenv")), before);
    assertEquals(listing(box.bin), ["mkvenv"]);
    assertEquals(listing(box.tmp), []);
  },
});

Deno.test({
  name: "install.sh refuses a release without this machine's archive, or with it unserved",
  ignore: !POSIX,
  async fn() {
    await using rel = await releases();
    await using t = await tempDir();
    const box = await sandbox(t.path, rel.url);
    const cases: [string, RegExp][] = [
      [
        "0.1.2",
        new RegExp(
          `error: Cannot install mkvenv 0\\.1\\.2: the release has no binary for ${NATIVE} \\(mkvenv-0\\.1\\.2-${NATIVE}\\.tar\\.gz is not in SHA256SUMS\\)`,
        ),
      ],
      [
        "0.1.3",
        new RegExp(
          `error: Cannot download http://.*/download/v0\\.1\\.3/mkvenv-0\\.1\\.3-${NATIVE}\\.tar\\.gz$`,
          "m",
        ),
      ],
      [
        "9.9.9",
        /error: Cannot download http:\/\/.*\/download\/v9\.9\.9\/SHA256SUMS: no such release, or no network \(check MKVENV_VERSION\)/,
      ],
    ];
    for (const [version, message] of cases) {
      const r = await install(box, { env: { MKVENV_VERSION: version } });
      assertEquals(r.code, 1, r.stderr);
      assert(message.test(r.stderr), r.stderr);
      assertEquals(listing(box.bin), ["(missing)"]);
      assertEquals(listing(box.tmp), []);
    }
  },
});

Deno.test({
  name: "install.sh refuses an unknown system or processor, and a malformed version",
  ignore: !POSIX,
  async fn() {
    await using rel = await releases();
    await using t = await tempDir();
    const cases: [string, string, string][] = [
      [
        "SunOS",
        "i86pc",
        'Cannot install mkvenv on "SunOS": release binaries exist for Linux, macOS and Windows only',
      ],
      ["FreeBSD", "amd64", 'Cannot install mkvenv on "FreeBSD"'],
      [
        "Linux",
        "riscv64",
        'Cannot install mkvenv on "riscv64" (Linux): release binaries exist for x86_64 and aarch64 only',
      ],
      ["Darwin", "ppc", 'Cannot install mkvenv on "ppc" (Darwin)'],
    ];
    for (const [os, arch, message] of cases) {
      const box = await sandbox(join(t.path, `${os}-${arch}`), rel.url);
      const fake = await fakeUname(box.root, os, arch);
      const r = await install(box, { env: { PATH: `${fake}:${box.env.PATH}` } });
      assertEquals(r.code, 1, r.stderr);
      assert(r.stderr.includes(`mkvenv-install: error: ${message}`), r.stderr);
      assertEquals(listing(box.bin), ["(missing)"]);
      assertEquals(listing(box.tmp), []);
    }
    assertEquals(rel.requests, [], "nothing is downloaded for a system without a binary");
    const box = await sandbox(join(t.path, "bad-version"), rel.url);
    for (const bad of ["1.0;touch x", "../0.1.0", "0.1.0/x"]) {
      const r = await install(box, { env: { MKVENV_VERSION: bad } });
      assertEquals(r.code, 1, r.stderr);
      assert(r.stderr.includes(`Cannot install mkvenv version "${bad}": expected a version`));
    }
  },
});

Deno.test({
  name: "install.sh chooses the archive of each of the six targets from uname",
  ignore: !POSIX || which("unzip") === null,
  async fn() {
    await using rel = await releases();
    await using t = await tempDir();
    const cases: [string, string, Target, string, string?][] = [
      ["Linux", "x86_64", "x86_64-unknown-linux-gnu", "mkvenv"],
      ["Linux", "aarch64", "aarch64-unknown-linux-gnu", "mkvenv"],
      ["Darwin", "x86_64", "x86_64-apple-darwin", "mkvenv"],
      ["Darwin", "arm64", "aarch64-apple-darwin", "mkvenv"],
      // A shell under Rosetta says x86_64 on Apple silicon: the native binary is chosen.
      ["Darwin", "x86_64", "aarch64-apple-darwin", "mkvenv", "1"],
      ["MINGW64_NT-10.0-20348", "x86_64", "x86_64-pc-windows-msvc", "mkvenv.exe"],
      ["MSYS_NT-10.0-22631", "aarch64", "aarch64-pc-windows-msvc", "mkvenv.exe"],
    ];
    for (const [os, arch, target, exe, arm64] of cases) {
      const box = await sandbox(join(t.path, `${target}-${arm64 ?? ""}`), rel.url);
      const fake = await fakeUname(box.root, os, arch, arm64);
      const r = await install(box, { env: { PATH: `${fake}:${box.env.PATH}` } });
      assertEquals(r.code, 0, r.stderr);
      assertEquals(listing(box.bin), [exe]);
      assertEquals(await installedVersion(join(box.bin, exe)), `mkvenv 0.2.0 (${target})`);
    }
  },
});

Deno.test({
  name: "install.sh downloads with wget where there is no curl",
  ignore: !POSIX || which("wget") === null,
  async fn() {
    await using rel = await releases();
    await using t = await tempDir();
    const box = await sandbox(t.path, rel.url);
    // A PATH with every command of this machine but curl.
    const noCurl = join(t.path, "no-curl");
    await Deno.mkdir(noCurl);
    for (const dir of (box.env.PATH ?? "").split(":")) {
      for (
        const entry of (() => {
          try {
            return [...Deno.readDirSync(dir)];
          } catch {
            return [];
          }
        })()
      ) {
        if (entry.name === "curl") continue;
        await Deno.symlink(join(dir, entry.name), join(noCurl, entry.name)).catch(() => {});
      }
    }
    const r = await install(box, { env: { PATH: noCurl } });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(await installedVersion(join(box.bin, "mkvenv")), `mkvenv 0.2.0 (${NATIVE})`);
    const bad = await install(box, { env: { PATH: noCurl, MKVENV_VERSION: "0.1.1" } });
    assertEquals(bad.code, 1, bad.stderr);
    assert(bad.stderr.includes("does not match SHA256SUMS"), bad.stderr);
  },
});
