/**
 * install.ps1. The development machine has no PowerShell: here the script is parsed with the
 * tree-sitter PowerShell grammar (a syntax error anywhere fails), and its structure is checked:
 * the same variables, asset names and checks as install.sh. Where `pwsh` exists (GitHub's
 * runners) it is run against the local release of tests/_release_fixture.ts: a good install,
 * an explicit version, a damaged archive refused with nothing installed, a missing asset.
 * .github/workflows/ci.yml and release.yml also run it on Windows against a real binary.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { Language, type Node, Parser } from "web-tree-sitter";
// In the module graph, so that import.meta.resolve() below finds the package's files.
import "tree-sitter-powershell/package.json" with { type: "json" };
import { fakeRelease, nativeTarget, scriptBinary } from "./_release_fixture.ts";
import { which } from "./_shells.ts";
import { ROOT, run, tempDir } from "./_util.ts";

const INSTALL_PS1 = join(ROOT, "install.ps1");
const TEXT = await Deno.readTextFile(INSTALL_PS1);

async function parsePowershell(text: string) {
  const wasm = new URL(
    "tree-sitter-powershell.wasm",
    import.meta.resolve("tree-sitter-powershell/package.json"),
  );
  await Parser.init();
  const parser = new Parser();
  parser.setLanguage(await Language.load(await Deno.readFile(wasm)));
  return parser.parse(text)!;
}

/** Every node of the tree, depth first. */
function* walk(node: Node): Generator<Node> {
  yield node;
  for (const child of node.children) if (child) yield* walk(child);
}

Deno.test("install.ps1 parses as PowerShell, with no error node", async () => {
  const tree = await parsePowershell(TEXT);
  const errors = [...walk(tree.rootNode)].filter((n) => n.isError || n.isMissing);
  assertEquals(
    errors.map((n) => `line ${n.startPosition.row + 1}: ${n.text.slice(0, 60)}`),
    [],
  );
  // The parser does find errors: a brace left open is one.
  const broken = await parsePowershell(
    TEXT.replace("if ($actual -ne $expected) {", "if ($actual -ne $expected"),
  );
  assert(broken.rootNode.hasError, "a removed parenthesis is a syntax error");
});

Deno.test("install.ps1 defines one function and only calls it, so a cut-short download runs nothing", async () => {
  const tree = await parsePowershell(TEXT);
  const statements = tree.rootNode.namedChildren.flatMap((n) =>
    n?.type === "statement_list" ? n.namedChildren : [n]
  );
  const kinds = statements.filter((n) => n && n.type !== "comment").map((n) => n!.type);
  assertEquals(kinds, ["function_statement", "pipeline"]);
  assertEquals(TEXT.trimEnd().split("\n").pop(), "Install-Mkvenv");
  // No `exit`: under `irm | iex` it would close the user's session.
  assert(!/^\s*exit\b/m.test(TEXT), "no exit");
});

Deno.test("install.ps1 names the assets and checks as install.sh does", async () => {
  const sh = await Deno.readTextFile(join(ROOT, "install.sh"));
  for (
    const name of ["MKVENV_VERSION", "MKVENV_INSTALL_DIR", "MKVENV_DOWNLOAD_URL", "SHA256SUMS"]
  ) {
    assert(TEXT.includes(name) && sh.includes(name), name);
  }
  const repo = /^MKVENV_REPOSITORY=(.+)$/m.exec(sh)?.[1];
  assert(TEXT.includes(`$repository = '${repo}'`), "the same repository as install.sh");
  for (
    const part of ["pc-windows-msvc", "apple-darwin", "unknown-linux-gnu", "x86_64", "aarch64"]
  ) {
    assert(TEXT.includes(`'${part}'`), part);
  }
  assert(TEXT.includes("Get-FileHash -Algorithm SHA256"));
  assert(TEXT.includes("does not match SHA256SUMS"));
  assert(TEXT.includes('"$base/download/v$version/$asset"'));
  assert(TEXT.includes('"$base/latest/download/SHA256SUMS"'));
  // The binary is moved into place only after the check (the order of the statements).
  const check = TEXT.indexOf("if ($actual -ne $expected)");
  const mkdir = TEXT.indexOf("New-Item -ItemType Directory -Force -Path $dir");
  const move = TEXT.indexOf("Move-Item -LiteralPath $partial -Destination $final");
  assert(check > 0 && check < mkdir && mkdir < move, "check, then make the directory, then move");
});

const PWSH = which("pwsh");

Deno.test({
  name:
    "install.ps1 in pwsh: installs, refuses a damaged or missing archive with nothing installed",
  // The fake release's binaries are shell scripts, which Windows does not run.
  ignore: PWSH === null || Deno.build.os === "windows",
  async fn() {
    const native = nativeTarget();
    await using rel = await fakeRelease([
      { version: "0.2.0", binary: scriptBinary("0.2.0") },
      { version: "0.1.0", binary: scriptBinary("0.1.0") },
      { version: "0.1.1", binary: scriptBinary("0.1.1"), corrupt: [native] },
      { version: "0.1.2", binary: scriptBinary("0.1.2"), omit: [native] },
    ]);
    await using t = await tempDir();
    const bin = join(t.path, "bin");
    const exe = join(bin, native.endsWith("windows-msvc") ? "mkvenv.exe" : "mkvenv");
    const install = (version: string) =>
      run(PWSH!, ["-NoProfile", "-NonInteractive", "-File", INSTALL_PS1], {
        env: { MKVENV_DOWNLOAD_URL: rel.url, MKVENV_INSTALL_DIR: bin, MKVENV_VERSION: version },
      });
    const bad = await install("0.1.1");
    assert(bad.code !== 0 && bad.stderr.includes("does not match SHA256SUMS"), bad.stderr);
    assert(!(await Deno.stat(bin).then(() => true, () => false)), "nothing installed");
    const missing = await install("0.1.2");
    assert(missing.code !== 0 && missing.stderr.includes("is not in SHA256SUMS"), missing.stderr);
    const latest = await install("");
    assertEquals(latest.code, 0, latest.stderr);
    assertEquals((await run(exe, ["--version"])).stdout.trim(), `mkvenv 0.2.0 (${native})`);
    const explicit = await install("v0.1.0");
    assertEquals(explicit.code, 0, explicit.stderr);
    assertEquals((await run(exe, ["--version"])).stdout.trim(), `mkvenv 0.1.0 (${native})`);
    const before = await Deno.readFile(exe);
    assert((await install("0.1.1")).code !== 0);
    assertEquals(await Deno.readFile(exe), before);
  },
});
