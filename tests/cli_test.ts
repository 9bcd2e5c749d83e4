import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { helpText, OPTIONS, parseCli, usageText } from "../lib/cli/cli.ts";
import { wrapText } from "../lib/cli/help_format.ts";
import { BuildError, UsageError } from "../lib/errors.ts";
import { DEV_PYTHONS, PY312 } from "./_wheel_fixture.ts";
import { run } from "./_util.ts";

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
    [["-p", "3.12", "--python=3.13", "x"], /-p\/--python: given twice \("3.12" and "3.13"\)/],
    [["--pip-wheel", "", "x"], /argument --pip-wheel: expected the path of a \.whl file/],
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

Deno.test("parseCli() refuses --upgrade with --clear as venv does: a build error (exit 1)", () => {
  assertThrows(
    () => parseCli(["--upgrade", "--clear", "x"]),
    (e: unknown) =>
      e instanceof BuildError &&
      e.message.startsWith("you cannot supply --upgrade and --clear together: "),
  );
});

/**
 * A Python program that builds mkvenv's command line with argparse from `OPTIONS` and prints
 * its help (argv[1] = "help") or its usage (argv[1] = "usage"), for COLUMNS as set.
 */
const ARGPARSE_TWIN = `
import argparse, json, sys
spec = json.loads(sys.stdin.read())
p = argparse.ArgumentParser(prog="mkvenv", add_help=False,
    description="Creates virtual Python environments in one or more target directories.",
    epilog="Once an environment has been created, you may wish to activate it, e.g. by "
           "sourcing an activate script in its bin directory.")
p.add_argument("ENV_DIR", nargs="+", help="A directory to create the environment in.")
group = None
for o in spec:
    names = (["-" + o["short"]] if o.get("short") else []) + ["--" + o["long"]]
    kw = {"help": o["help"]}
    if o.get("value"): kw["metavar"] = o["value"]
    else: kw["action"] = "store_true"
    target = p
    if o["long"] in ("symlinks", "copies"):
        group = group or p.add_mutually_exclusive_group()
        target = group
    target.add_argument(*names, **kw)
sys.stdout.write(p.format_help() if sys.argv[1] == "help" else p.format_usage())
`;

async function argparseText(what: "help" | "usage", columns: number): Promise<string> {
  const r = await run(PY312, ["-c", ARGPARSE_TWIN, what], {
    env: { COLUMNS: String(columns) },
    stdin: JSON.stringify(OPTIONS),
  });
  assertEquals(r.code, 0, r.stderr);
  return r.stdout;
}

Deno.test({
  name: "--help and the usage line are laid out as argparse lays out the same options",
  ...DEV_PYTHONS,
  async fn() {
    for (const columns of [80, 60, 120, 40]) {
      assertEquals(helpText(columns - 2), await argparseText("help", columns), `${columns}`);
      assertEquals(usageText(columns - 2) + "\n", await argparseText("usage", columns));
    }
    assertEquals(helpText(78).split("\n").filter((l) => l.length > 78), []);
  },
});

Deno.test({
  name: "wrapText() breaks where textwrap breaks: spaces, hyphens between words, long words",
  ...DEV_PYTHONS,
  async fn() {
    const cases: [string, number][] = [
      ["Give the virtual environment access to the system site-packages dir.", 54],
      ["aaaa bb site-packages", 13],
      ["--upgrade-deps x", 8],
      ["see https://example.org/a-very-long-path-name here", 12],
      ["an em--dash, x-y, 3.12-dev and .python-version   spaced\tout", 10],
    ];
    const r = await run(PY312, [
      "-c",
      "import json, sys, textwrap\n" +
      "print(json.dumps([textwrap.wrap(t, w) for t, w in json.load(sys.stdin)]))",
    ], { stdin: JSON.stringify(cases) });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(cases.map(([text, width]) => wrapText(text, width)), JSON.parse(r.stdout));
  },
});
