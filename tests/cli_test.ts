import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { helpText, parseCli } from "../lib/cli/cli.ts";
import { UsageError } from "../lib/errors.ts";

Deno.test("parseCli() reads every python -m venv option, interleaved with ENV_DIRs", () => {
  const r = parseCli([
    "a",
    "--system-site-packages",
    "--copies",
    "--clear",
    "--without-pip",
    "--prompt",
    "p",
    "b",
    "--upgrade-deps",
    "--without-scm-ignore-files",
    "-p",
    "python3.12",
  ]);
  assertEquals(r.envDirs, ["a", "b"]);
  assertEquals(
    [
      r.systemSitePackages,
      r.symlinks,
      r.clear,
      r.withPip,
      r.prompt,
      r.upgradeDeps,
      r.scmIgnoreFiles,
    ],
    [true, false, true, false, "p", true, false],
  );
  assertEquals(r.python, "python3.12");
});

Deno.test("parseCli() accepts unique prefixes, --opt=value and -pVALUE as argparse does", () => {
  const r = parseCli(["--sys", "--without-p", "--prompt=", "-ppython3", "env"]);
  assertEquals([r.systemSitePackages, r.withPip, r.prompt, r.python], [true, false, "", "python3"]);
  assertEquals(parseCli(["--", "-weird"]).envDirs, ["-weird"]);
});

Deno.test("parseCli() refuses what argparse refuses, with its words", () => {
  const cases: [string[], RegExp][] = [
    [[], /required: ENV_DIR/],
    [["--up", "x"], /ambiguous option: --up could match --upgrade, --upgrade-deps/],
    [["--bogus", "x"], /unrecognized arguments: --bogus/],
    [["--symlinks", "--copies", "x"], /argument --copies: not allowed with argument --symlinks/],
    [["--prompt"], /--prompt: expected one argument/],
    [["--clear=yes", "x"], /ignored explicit argument/],
    [["--upgrade", "--clear", "x"], /--upgrade and --clear/],
  ];
  for (const [argv, message] of cases) {
    assertThrows(
      () => parseCli(argv),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
    );
  }
});

Deno.test("parseCli() lets --help and --version through without ENV_DIR", () => {
  assertEquals(parseCli(["-h"]).help, true);
  assertEquals(parseCli(["--version"]).version, true);
  assertEquals(helpText().includes("--without-scm-ignore-files"), true);
});
