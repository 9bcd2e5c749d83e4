/**
 * action.yml, run as GitHub's runner runs a composite action: its steps are read from the YAML,
 * `${{ inputs.* }}` and `${{ steps.*.outputs.* }}` are put into their `env`, each `run` goes
 * to `bash --noprofile --norc -eo pipefail` with the runner's variables and its own
 * GITHUB_OUTPUT, and what a step writes to GITHUB_ENV and GITHUB_PATH reaches the later steps
 * (and the job's files the test reads). The release it downloads is a local one
 * (tests/_release_fixture.ts) whose binary is the built program (dist/mkvenv.js) run by deno
 * with the release permissions, so the venv is real.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { delimiter, join } from "node:path";
import { parse } from "yaml";
import { MKVENV_VERSION } from "../lib/version.ts";
import { build } from "../scripts/build.ts";
import { PERMISSIONS } from "../scripts/compile.ts";
import { fakeRelease, nativeTarget } from "./_release_fixture.ts";
import { testPythons } from "./_test_pythons.ts";
import { which } from "./_shells.ts";
import { ROOT, run, SHARED_TEST_CACHE, tempDir } from "./_util.ts";

const POSIX = Deno.build.os !== "windows";

interface Step {
  name: string;
  id: string;
  shell: string;
  env?: Record<string, string>;
  run: string;
}

interface Action {
  inputs: Record<string, { default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: Step[] };
}

const ACTION = parse(await Deno.readTextFile(join(ROOT, "action.yml"))) as Action;

/** `${{ expr }}` with the few expressions action.yml may use; anything else is an error. */
function evaluate(
  text: string,
  inputs: Record<string, string>,
  outputs: Record<string, Record<string, string>>,
): string {
  return text.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expr: string) => {
    let m = /^inputs\.([\w-]+)$/.exec(expr);
    if (m) {
      if (!(m[1]! in ACTION.inputs)) throw new Error(`undeclared input in ${expr}`);
      return inputs[m[1]!] ?? ACTION.inputs[m[1]!]!.default ?? "";
    }
    m = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(expr);
    if (m) return outputs[m[1]!]?.[m[2]!] ?? "";
    throw new Error(`the test runner does not know the expression ${expr}`);
  });
}

/** `NAME=value` lines and `NAME<<DELIM` blocks, as the runner reads GITHUB_ENV/OUTPUT. */
function readKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2]!, i + 1);
      out[heredoc[1]!] = lines.slice(i + 1, end).join("\n");
      i = end;
    } else if (line.includes("=")) {
      out[line.slice(0, line.indexOf("="))] = line.slice(line.indexOf("=") + 1);
    }
  }
  return out;
}

interface Job {
  workspace: string;
  temp: string;
  /** The job's GITHUB_ENV and GITHUB_PATH files, as later workflow steps would see them. */
  envFile: string;
  pathFile: string;
}

interface ActionRun {
  code: number;
  stderr: string;
  outputs: Record<string, string>;
  stepsRun: string[];
}

/** Run the action's steps in `job` with `inputs`, stopping at the first failing step. */
async function runAction(job: Job, inputs: Record<string, string>): Promise<ActionRun> {
  const stepOutputs: Record<string, Record<string, string>> = {};
  const addedEnv: Record<string, string> = {};
  const addedPath: string[] = [];
  const stepsRun: string[] = [];
  let stderr = "";
  for (const [n, step] of ACTION.runs.steps.entries()) {
    assertEquals(step.shell, "bash", `${step.name}: runs in bash on every runner`);
    stepsRun.push(step.id);
    const outputFile = join(job.temp, `output-${n}`);
    const envFile = join(job.temp, `env-${n}`);
    const pathFile = join(job.temp, `path-${n}`);
    for (const f of [outputFile, envFile, pathFile]) await Deno.writeTextFile(f, "");
    const env: Record<string, string> = {
      PATH: [...addedPath.toReversed(), Deno.env.get("PATH") ?? ""].join(delimiter),
      HOME: Deno.env.get("HOME") ?? job.temp,
      MKVENV_CACHE_DIR: SHARED_TEST_CACHE,
      RUNNER_OS: "Linux",
      RUNNER_ARCH: "X64",
      RUNNER_TEMP: job.temp,
      GITHUB_WORKSPACE: job.workspace,
      GITHUB_ACTION_PATH: ROOT,
      GITHUB_OUTPUT: outputFile,
      GITHUB_ENV: envFile,
      GITHUB_PATH: pathFile,
      ...addedEnv,
    };
    for (const [k, v] of Object.entries(step.env ?? {})) {
      env[k] = evaluate(v, inputs, stepOutputs);
    }
    const script = join(job.temp, `step-${n}.sh`);
    await Deno.writeTextFile(script, step.run);
    const r = await run("bash", ["--noprofile", "--norc", "-eo", "pipefail", script], {
      cwd: job.workspace,
      env,
      clearEnv: true,
    });
    stderr += r.stderr;
    if (r.code !== 0) {
      return { code: r.code, stderr, outputs: {}, stepsRun };
    }
    stepOutputs[step.id] = readKeyValues(await Deno.readTextFile(outputFile));
    const envText = await Deno.readTextFile(envFile);
    Object.assign(addedEnv, readKeyValues(envText));
    const pathText = await Deno.readTextFile(pathFile);
    addedPath.push(...pathText.split("\n").filter((l) => l !== ""));
    await Deno.writeTextFile(job.envFile, envText, { append: true });
    await Deno.writeTextFile(job.pathFile, pathText, { append: true });
  }
  const outputs: Record<string, string> = {};
  for (const [name, o] of Object.entries(ACTION.outputs)) {
    outputs[name] = evaluate(o.value, inputs, stepOutputs);
  }
  return { code: 0, stderr, outputs, stepsRun };
}

async function newJob(root: string): Promise<Job> {
  const job = {
    workspace: join(root, "workspace"),
    temp: join(root, "runner-temp"),
    envFile: join(root, "GITHUB_ENV"),
    pathFile: join(root, "GITHUB_PATH"),
  };
  await Deno.mkdir(job.workspace);
  await Deno.mkdir(job.temp);
  await Deno.writeTextFile(job.envFile, "");
  await Deno.writeTextFile(job.pathFile, "");
  return job;
}

/** The real program behind a release binary: `deno run` of dist/mkvenv.js, in a script. */
async function programBinary(dir: string): Promise<Uint8Array> {
  const program = await build(join(dir, "program"));
  const words = [Deno.execPath(), "run", "--quiet", "--no-prompt", ...PERMISSIONS, program];
  const quoted = words.map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(" ");
  return new TextEncoder().encode(`#!/bin/sh\nexec ${quoted} "$@"\n`);
}

async function release(dir: string, corrupt = false) {
  const binary = await programBinary(dir);
  return await fakeRelease([
    { version: MKVENV_VERSION, binary: () => binary, corrupt: corrupt ? [nativeTarget()] : [] },
  ]);
}

Deno.test("action.yml's version default is the version of the commit it is pinned at", async () => {
  const deno = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))) as { version: string };
  assertEquals(ACTION.inputs.version!.default, MKVENV_VERSION);
  assertEquals(deno.version, MKVENV_VERSION);
  assertEquals(ACTION.runs.using, "composite");
  for (const step of ACTION.runs.steps) {
    // Inputs reach scripts through env, never spliced into the text (script injection).
    assert(!step.run.includes("${{"), `${step.name} has an expression in its script`);
    if (which("shellcheck") === null) continue; // tests/workflows_test.ts notes it
    const r = await run("shellcheck", ["--shell=bash", "-"], { stdin: step.run });
    assertEquals(r.code, 0, `${step.name}: ${r.stdout}`);
  }
});

Deno.test({
  name:
    "the action installs the release checked against SHA256SUMS and makes the venv for later steps",
  ignore: !POSIX,
  async fn() {
    const [py] = await testPythons();
    await using tmp = await tempDir();
    await using rel = await release(tmp.path);
    const job = await newJob(tmp.path);
    const r = await runAction(job, { python: py!.exe, "download-url": rel.url });
    assertEquals(r.code, 0, r.stderr);
    const venv = join(job.workspace, ".venv");
    const bin = join(venv, "bin");
    assertEquals(await Deno.readTextFile(job.pathFile), `${bin}\n`);
    assertEquals(await Deno.readTextFile(job.envFile), `VIRTUAL_ENV=${venv}\n`);
    assertEquals(r.outputs, { python: join(bin, "python"), path: venv });
    assert(rel.requests.includes(`/releases/download/v${MKVENV_VERSION}/SHA256SUMS`));
    // A later step, with the job's PATH: `python` and `pip` are the venv's.
    const later = await run("sh", [
      "-c",
      "python -c 'import sys; print(sys.prefix)'; pip --version",
    ], {
      env: { PATH: `${bin}${delimiter}${Deno.env.get("PATH")}` },
    });
    assertEquals(later.code, 0, later.stderr);
    const [prefix, pip] = later.stdout.split("\n");
    assertEquals(Deno.realPathSync(prefix!), Deno.realPathSync(venv));
    assert(pip!.startsWith("pip ") && pip!.includes(".venv"), pip);
    // The binary was installed under the runner's temporary directory, nowhere else.
    const installed = join(job.temp, "mkvenv-action", MKVENV_VERSION, "mkvenv");
    assert((await Deno.stat(installed)).isFile);
  },
});

Deno.test({
  name: "the action passes its path, python, version and extra args to mkvenv",
  ignore: !POSIX,
  async fn() {
    const [py] = await testPythons();
    await using tmp = await tempDir();
    await using rel = await release(tmp.path);
    const job = await newJob(tmp.path);
    const r = await runAction(job, {
      version: `v${MKVENV_VERSION}`,
      python: py!.exe,
      path: "envs/ci env",
      args: "--without-pip  --prompt ci",
      "download-url": rel.url,
    });
    assertEquals(r.code, 0, r.stderr);
    const venv = join(job.workspace, "envs", "ci env");
    assertEquals(r.outputs.path, venv);
    const cfg = await Deno.readTextFile(join(venv, "pyvenv.cfg"));
    assert(/^prompt = 'ci'$/m.test(cfg), cfg);
    const pip = await run(r.outputs.python!, ["-c", "import pip"]);
    assert(pip.code !== 0, "--without-pip was passed");
    const base = await run(r.outputs.python!, ["-c", "import sys; print(sys._base_executable)"]);
    assertEquals(Deno.realPathSync(base.stdout.trim()), Deno.realPathSync(py!.exe));
  },
});

Deno.test({
  name: "the action refuses a corrupted download: no venv, nothing on PATH, no outputs",
  ignore: !POSIX,
  async fn() {
    const [py] = await testPythons();
    await using tmp = await tempDir();
    await using rel = await release(tmp.path, true);
    const job = await newJob(tmp.path);
    const r = await runAction(job, { python: py!.exe, "download-url": rel.url });
    assertEquals(r.code, 1, r.stderr);
    assert(r.stderr.includes("does not match SHA256SUMS"), r.stderr);
    assertEquals(r.stepsRun, ["install"]);
    assertEquals(await Deno.readTextFile(job.pathFile), "");
    assertEquals(await Deno.readTextFile(job.envFile), "");
    assertEquals([...Deno.readDirSync(job.workspace)], []);
    const installDir = join(job.temp, "mkvenv-action", MKVENV_VERSION);
    assert(!(await Deno.stat(installDir).then(() => true, () => false)), "nothing installed");
  },
});

Deno.test({
  name: "the action fails on a mkvenv error and on a release that does not exist",
  ignore: !POSIX,
  async fn() {
    await using tmp = await tempDir();
    await using rel = await release(tmp.path);
    const job = await newJob(tmp.path);
    const bad = await runAction(job, { python: "/nonexistent/python9", "download-url": rel.url });
    assertEquals(bad.code, 1, bad.stderr);
    assert(bad.stderr.includes("mkvenv: error:"), bad.stderr);
    assertEquals(bad.stepsRun, ["install", "create"]);
    const missing = await runAction(job, { version: "9.9.9", "download-url": rel.url });
    assertEquals(missing.code, 1, missing.stderr);
    assert(missing.stderr.includes("no such release"), missing.stderr);
    assertEquals(await Deno.readTextFile(job.pathFile), "");
    assertEquals(await Deno.readTextFile(job.envFile), "");
  },
});
