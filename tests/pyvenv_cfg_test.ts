import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { computeLayout, defaultBuildOptions } from "../lib/venv/layout.ts";
import {
  MKVENV_VERSION,
  parsePythonStrLiteral,
  parsePyvenvCfg,
  pythonRepr,
  renderPyvenvCfg,
} from "../lib/venv/pyvenv_cfg.ts";
import { fixture } from "./fixtures/probe_fixtures.ts";

function render(name: string, extra: Partial<ReturnType<typeof defaultBuildOptions>> = {}) {
  const info = fixture(name);
  const options = { ...defaultBuildOptions(info.platform), ...extra };
  const env = info.platform === "windows" ? "C:\\env" : "/work/env";
  const layout = computeLayout(info, env, { ...options, cwd: "/work" });
  return renderPyvenvCfg(info, layout, { options, command: "mkvenv /work/env" });
}

Deno.test("renderPyvenvCfg() writes home, flag and version only for 3.7", () => {
  assertEquals(
    render("cpython-3.7-linux"),
    "home = /root/.pyenv/versions/3.7.16/bin\ninclude-system-site-packages = false\n" +
      `version = 3.7.16\nmkvenv = ${MKVENV_VERSION}\n`,
  );
});

Deno.test("renderPyvenvCfg() adds prompt (3.8+), executable and command (3.11+) in order", () => {
  const text = render("cpython-3.12-linux", { prompt: "it's", systemSitePackages: true });
  assertEquals([...parsePyvenvCfg(text).entries()], [
    ["home", "/root/.pyenv/versions/3.12.1/bin"],
    ["include-system-site-packages", "true"],
    ["version", "3.12.1"],
    ["prompt", `"it's"`],
    ["executable", "/root/.pyenv/versions/3.12.1/bin/python3.12"],
    ["command", "mkvenv /work/env"],
    ["mkvenv", MKVENV_VERSION],
  ]);
  assertEquals(
    parsePyvenvCfg(render("cpython-3.7-linux", { prompt: "p" })).get("prompt"),
    undefined,
  );
});

Deno.test("renderPyvenvCfg() uses CRLF and the Windows home on windows", () => {
  const text = render("cpython-3.12-windows");
  assertEquals(text.split("\r\n")[0], "home = C:\\Program Files\\Python312");
  assertEquals(text.replaceAll("\r\n", "").includes("\n"), false);
});

Deno.test("pythonRepr() matches Python's repr for quotes, backslashes and control characters", () => {
  const cases: [string, string][] = [
    ["plain", "'plain'"],
    [`it's "q"`, `'it\\'s "q"'`],
    ["it's", `"it's"`],
    ["a\\b", "'a\\\\b'"],
    ["tab\there \u00e9\x01", "'tab\\there \u00e9\\x01'"],
    ["\u200b", "'\\u200b'"],
    ["", "''"],
    ["emoji \u{1F40D}", "'emoji \u{1F40D}'"],
  ];
  for (const [input, expected] of cases) {
    assertEquals(pythonRepr(input), expected, input);
    assertEquals(parsePythonStrLiteral(expected), input, expected);
  }
});
