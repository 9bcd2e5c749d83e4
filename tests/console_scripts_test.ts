import assert from "node:assert/strict";
import { join } from "node:path";
import {
  consoleScriptEntries,
  launcherName,
  peMachine,
  posixScript,
  posixScriptHeader,
  SHEBANG_LIMIT,
  windowsLauncherScript,
} from "../lib/seed/console_scripts.ts";
import { shPythonWord } from "../lib/venv/shell_quote.ts";
import { type EntryPoint, readWheel } from "../lib/seed/wheel.ts";
import { readZipEntries, readZipEntry } from "../lib/seed/zip.ts";
import { bundledWheel, DEV_PYTHONS, PY312, run } from "./_wheel_fixture.ts";

const PIP_MAIN = { module: "pip._internal.cli.main", attr: "main" };

Deno.test("consoleScriptEntries() gives pip the names of the target interpreter", () => {
  const fromWheel: EntryPoint[] = ["pip", "pip3", "pip3.9"].map((name) => ({ name, ...PIP_MAIN }));
  const names = consoleScriptEntries({ name: "pip", consoleScripts: fromWheel }, [3, 7, 16]).map((
    e,
  ) => e.name);
  assert.deepEqual(names, ["pip", "pip3", "pip3.7"]);
  const only = consoleScriptEntries(
    { name: "pip", consoleScripts: [{ name: "pip", ...PIP_MAIN }] },
    [3, 13, 0],
  );
  assert.deepEqual(only.map((e) => e.name), ["pip", "pip3", "pip3.13"]);
  assert.ok(only.every((e) => e.module === PIP_MAIN.module && e.attr === "main"));
});

Deno.test("consoleScriptEntries() renames setuptools' easy_install and keeps other projects", () => {
  const ez = { module: "setuptools.command.easy_install", attr: "main" };
  const entries = [{ name: "easy_install", ...ez }, { name: "easy_install-3.8", ...ez }];
  assert.deepEqual(
    consoleScriptEntries({ name: "setuptools", consoleScripts: entries }, [3, 7, 16]).map((e) =>
      e.name
    ),
    ["easy_install", "easy_install-3.7"],
  );
  const other = [{ name: "pip3.9", module: "x", attr: "y" }];
  assert.deepEqual(
    consoleScriptEntries({ name: "not-pip", consoleScripts: other }, [3, 12, 1]),
    other,
  );
});

Deno.test("posixScriptHeader() is a plain #! line for a short path without blanks", () => {
  assert.equal(posixScriptHeader("/v/bin/python3.12"), "#!/v/bin/python3.12\n");
  // Characters the kernel passes through untouched need no shell.
  assert.equal(posixScriptHeader("/v/$(x)'`/bin/python"), "#!/v/$(x)'`/bin/python\n");
});

Deno.test("posixScriptHeader() re-executes through /bin/sh for blanks and long paths", () => {
  assert.match(posixScriptHeader("/a b/bin/python"), /^#!\/bin\/sh\n'exec' '\/a b\/bin\/python' /);
  const long = "/" + "d".repeat(SHEBANG_LIMIT) + "/python";
  assert.match(posixScriptHeader(long), /^#!\/bin\/sh\n/);
  const fits = "/" + "d".repeat(SHEBANG_LIMIT - 4 - "/python".length) + "/python";
  assert.equal(posixScriptHeader(fits), `#!${fits}\n`);
  assert.throws(() => posixScriptHeader("/a\nb/python"), RangeError);
});

const HOSTILE_CHARS = [" ", "'", '"', "`", "$", "(", ")", "\\", "!", ";", "&", "|", "*", "?", "~"];

Deno.test(
  "shPythonWord() is the same string to sh and valid, warning-free Python",
  DEV_PYTHONS,
  async () => {
    const values = ["", "plain", "a b", "it's", "\\", "\\'\\", "$(touch x)`y`", "ü ✓ 🐍"];
    let seed = 7;
    for (let i = 0; i < 150; i++) {
      let value = "";
      for (let j = 0; j < 12; j++) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        value += seed % 3 === 0 ? "x" : HOSTILE_CHARS[seed % HOSTILE_CHARS.length];
      }
      values.push(value);
    }
    const dir = await Deno.makeTempDir();
    try {
      const sh = values.map((v) => `printf '%s\\0' ${shPythonWord(v)}\n`).join("");
      for (const shell of ["/bin/sh", "bash", "dash", "zsh", "ksh", "mksh"]) {
        const out = await run(shell, ["-c", sh], { cwd: dir });
        assert.equal(out.stderr, "", shell);
        assert.deepEqual(out.stdout.split("\0").slice(0, -1), values, shell);
      }
      const python = values.map((v) => `${shPythonWord(v)}\n`).join("");
      const out = await run(PY312, [
        "-W",
        "error",
        "-c",
        "import sys; compile(sys.stdin.read(), 'x', 'exec')",
      ], {
        stdin: python,
      });
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing was executed");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

/** Make `<dir>/<name>/python` a link to Python 3.12 and a script for it; run it. */
async function runScriptAt(dir: string, name: string, shell: string | null) {
  const home = join(dir, name);
  await Deno.mkdir(home, { recursive: true });
  const python = join(home, "python");
  await Deno.symlink(PY312, python);
  await Deno.writeTextFile(
    join(dir, "probe_mod.py"),
    "import json, sys\ndef main():\n    print(json.dumps([sys.executable, sys.argv[1:]]))\n    return 3\n",
  );
  const script = join(home, "tool");
  const text = posixScript(python, { name: "tool", module: "probe_mod", attr: "main" });
  await Deno.writeTextFile(script, text, { mode: 0o755 });
  const compiled = await run(PY312, [
    "-W",
    "error",
    "-c",
    "import sys; compile(open(sys.argv[1]).read(), 'x', 'exec')",
    script,
  ]);
  assert.equal(compiled.code, 0, compiled.stderr);
  const args = ["two words", "$(touch ARG)", "'"];
  const out = shell === null
    ? await run(script, args, { cwd: dir, env: { PYTHONPATH: dir } })
    : await run(shell, [script, ...args], { cwd: dir, env: { PYTHONPATH: dir } });
  return { out, python, text };
}

Deno.test(
  "a console script runs its venv python from hostile, spaced and very long paths",
  DEV_PYTHONS,
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const names = [
        "plain",
        "with space",
        `q'uo"te $(touch MARKER) \`touch MARKER\` back\\slash !bang`,
        `nospace$(touch${"${IFS}"}MARKER)'"\`!`,
        Array.from({ length: 6 }, (_, i) => `long-directory-name-number-${i}-xxxxxxxxxxxxxxxxxxxxx`)
          .join("/"),
        "spaced " + "y".repeat(100) + "/" + "z".repeat(150),
      ];
      for (const [i, name] of names.entries()) {
        const { out, python, text } = await runScriptAt(join(dir, String(i)), name, null);
        assert.equal(out.code, 3, `${name}: ${out.stderr}`);
        assert.deepEqual(JSON.parse(out.stdout), [python, ["two words", "$(touch ARG)", "'"]]);
        if (python.length > 250) assert.match(text, /^#!\/bin\/sh\n/);
      }
      for (const shell of ["bash", "dash", "zsh", "ksh", "mksh"]) {
        const { out, python } = await runScriptAt(join(dir, shell), names[2]!, shell);
        assert.equal(out.code, 3, `${shell}: ${out.stderr}`);
        assert.equal(JSON.parse(out.stdout)[0], python);
      }
      const found: string[] = [];
      for await (const e of walk(dir)) {
        if (/MARKER|ARG/.test(e) && !e.includes("touch")) found.push(e);
      }
      assert.deepEqual(found, [], "no command in a path was executed");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    yield path;
    if (e.isDirectory) yield* walk(path);
  }
}

Deno.test(
  "launcherName() and peMachine() pick pip's launcher for the interpreter's machine",
  DEV_PYTHONS,
  async () => {
    const path = bundledWheel("3.13.0", "pip");
    const { contents } = await readWheel(await Deno.readFile(path), path);
    const exe = (name: string) => contents.get(`pip/_vendor/distlib/${name}`)!;
    assert.equal(peMachine(exe("t64.exe")), "amd64");
    assert.equal(peMachine(exe("t32.exe")), "x86");
    assert.equal(peMachine(exe("w64-arm.exe")), "arm64");
    assert.equal(peMachine(new TextEncoder().encode("#!/bin/sh\n".repeat(10))), null);
    assert.equal(launcherName("amd64", false), "t64.exe");
    assert.equal(launcherName("amd64", true), "w64.exe");
    assert.equal(launcherName("x86", false), "t32.exe");
    assert.equal(launcherName("arm64", true), "w64-arm.exe");
  },
);

Deno.test(
  "windowsLauncherScript() lays out launcher, #! line and a runnable __main__.py archive",
  DEV_PYTHONS,
  async () => {
    const path = bundledWheel("3.13.0", "pip");
    const { contents } = await readWheel(await Deno.readFile(path), path);
    const launcher = contents.get("pip/_vendor/distlib/t64.exe")!;
    const python = "C:\\Users\\A B\\venv\\Scripts\\python.exe";
    const body = "import sys\nfrom pip._internal.cli.main import main as _m\nsys.exit(_m())\n";
    const exe = windowsLauncherScript({ launcher, python, body });
    assert.deepEqual(exe.subarray(0, launcher.length), launcher);
    const shebang = `#!"${python}"\r\n`;
    const rest = exe.subarray(launcher.length);
    assert.equal(new TextDecoder().decode(rest.subarray(0, shebang.length)), shebang);
    // The archive starts right after the #! line: its offsets count from there (as the launcher
    // reads them), and the end record sits at the very end.
    const archive = rest.subarray(shebang.length);
    assert.deepEqual([...archive.subarray(0, 4)], [0x50, 0x4b, 0x03, 0x04]);
    const [entry] = readZipEntries(exe);
    assert.equal(entry!.name, "__main__.py");
    assert.equal(new TextDecoder().decode(await readZipEntry(exe, entry!)), body);
    assert.equal(
      new TextDecoder().decode(
        windowsLauncherScript({ launcher, python: "C:\\v\\python.exe", body }),
      )
        .includes("#!C:\\v\\python.exe\r\n"),
      true,
    );
    // Python runs the .exe itself as a zip application, as the launcher makes it do on Windows.
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeFile(join(dir, "pip.exe"), exe);
      const out = await run(PY312, [join(dir, "pip.exe"), "--version"]);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /^pip \d+\.\d+/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
