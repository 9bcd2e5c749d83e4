/**
 * The library: `EnvBuilder` subclassed in TypeScript, each step overridden, on real venvs of
 * real Pythons. The order of the calls, the context (compared with CPython's own
 * `EnvBuilder.ensure_directories` for the same hostile path), what lands on disk, and the
 * guarantee of each step when it throws: nothing for a new venv, the previous venv on re-use.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
  rejects as assertRejects,
} from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { BuildError, create, EnvBuilder, type VenvContext } from "../../lib/mod.ts";
import { HOSTILE_NAME, HOSTILE_PROMPT } from "../_shells.ts";
import { pyenvPython, pyJson, ROOT, run, SHARED_TEST_CACHE, tempDir, tree } from "../_util.ts";
import { writeWheel } from "../_wheel_fixture.ts";
import { WheelBuilder } from "../../examples/wheel_builder.ts";

const PY = pyenvPython("3.13");
const BASE = { python: PY.exe, cacheDir: SHARED_TEST_CACHE, symlinks: true };

/** Every file and link below `dir` with its mode and a hash of its content. */
function snapshot(dir: string): string[] {
  return tree(dir).map((line) => {
    if (!line.startsWith("f ")) return line;
    const rel = line.slice(line.indexOf(" ", 2) + 1);
    const hash = createHash("sha256").update(Deno.readFileSync(join(dir, rel))).digest("hex");
    return `${line} ${hash.slice(0, 16)}`;
  });
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A scripts directory for `installScripts`: one script that prints the venv's directory. */
async function scriptsDir(parent: string): Promise<string> {
  const dir = join(parent, "scripts");
  await Deno.mkdir(join(dir, "common"), { recursive: true });
  await Deno.writeTextFile(join(dir, "common", "where.sh"), "printf '%s' __VENV_DIR__\n");
  return dir;
}

/** Records every step it runs, whether the venv was in place then, and the context. */
class Recorder extends EnvBuilder {
  calls: string[] = [];
  context: VenvContext | null = null;
  /** Where the bin directory was written before the commit. */
  stagedBin = "";
  prefixSeen = "";

  #note(step: string, context?: VenvContext): void {
    const envDir = context?.envDir ?? "";
    const inPlace = context ? exists(join(envDir, "pyvenv.cfg")) : false;
    this.calls.push(
      `${step}${context?.committed ? " (committed)" : ""}${inPlace ? " (in place)" : ""}`,
    );
  }
  override async ensureDirectories(envDir: string): Promise<VenvContext> {
    this.#note("ensureDirectories");
    this.context = await super.ensureDirectories(envDir);
    this.stagedBin = this.context.files.stagePath(this.context.binPath);
    return this.context;
  }
  override async createGitIgnoreFile(context: VenvContext): Promise<void> {
    this.#note("createGitIgnoreFile", context);
    await super.createGitIgnoreFile(context);
  }
  /** A second SCM, dispatched by name as CPython's `create_<scm>_ignore_file`. */
  async createHgIgnoreFile(context: VenvContext): Promise<void> {
    this.#note("createHgIgnoreFile", context);
    context.files.writeFile(join(context.envDir, ".hgignore"), "syntax: glob\n*\n");
    await Promise.resolve();
  }
  override async createConfiguration(context: VenvContext): Promise<void> {
    this.#note("createConfiguration", context);
    await super.createConfiguration(context);
  }
  override async setupPython(context: VenvContext): Promise<void> {
    this.#note("setupPython", context);
    await super.setupPython(context);
  }
  override async setupPip(context: VenvContext): Promise<void> {
    this.#note("setupPip", context);
    await super.setupPip(context);
  }
  override async setupScripts(context: VenvContext): Promise<void> {
    this.#note("setupScripts", context);
    await super.setupScripts(context);
    // An extra file of the subclass's, written by its final path through the context.
    context.files.writeFile(join(context.binPath, "hello"), "#!/bin/sh\necho hello\n", 0o755);
  }
  override async installScripts(context: VenvContext, dir: string): Promise<void> {
    this.#note("installScripts", context);
    await super.installScripts(context, dir);
  }
  override async postSetup(context: VenvContext): Promise<void> {
    this.#note("postSetup", context);
    const r = await run(context.envExe, ["-c", "import sys; print(sys.prefix)"]);
    assertEquals(r.code, 0, r.stderr);
    this.prefixSeen = r.stdout.trim();
  }
  override async upgradeDependencies(context: VenvContext): Promise<void> {
    // Not super: that needs a package index. The venv's pip runs, so the venv is in place.
    this.#note("upgradeDependencies", context);
    const r = await run(context.envExe, ["-m", "pip", "--version"]);
    assertEquals(r.code, 0, r.stderr);
  }
  override async clearDirectory(path: string): Promise<void> {
    this.calls.push(`clearDirectory ${path.slice(path.lastIndexOf("/") + 1)}`);
    await super.clearDirectory(path);
  }
}

Deno.test("EnvBuilder runs the overridden steps in CPython's order, staged until the commit", async () => {
  await using tmp = await tempDir();
  const envDir = join(tmp.path, HOSTILE_NAME);
  const scripts = await scriptsDir(tmp.path);
  const builder = new Recorder({
    ...BASE,
    withPip: true,
    upgradeDeps: true,
    prompt: HOSTILE_PROMPT,
    scmIgnoreFiles: ["git", "Hg"],
    scripts,
  });
  await builder.create(envDir);
  assertEquals(builder.calls, [
    "ensureDirectories",
    "createGitIgnoreFile",
    "createHgIgnoreFile",
    "createConfiguration",
    "setupPython",
    "setupPip",
    "setupScripts",
    "installScripts",
    "postSetup (committed) (in place)",
    "upgradeDependencies (committed) (in place)",
  ]);
  assertEquals(builder.prefixSeen, envDir, "postSetup ran the venv's python at its final path");

  // What the steps wrote by final paths is in the venv, and nothing else is left around it.
  assertEquals(Deno.readTextFileSync(join(envDir, ".hgignore")), "syntax: glob\n*\n");
  assertEquals((await run(join(envDir, "bin", "hello"), [])).stdout, "hello\n");
  const where = await run("sh", [join(envDir, "bin", "where.sh")]);
  assertEquals(where.stdout, envDir);
  assertEquals([...Deno.readDirSync(tmp.path)].map((e) => e.name).sort(), [
    HOSTILE_NAME,
    "scripts",
  ]);
  const cfg = Deno.readTextFileSync(join(envDir, "pyvenv.cfg"));
  assertMatch(cfg, /^home = \/root\/\.pyenv\/versions\/3\.13\.\d+\/bin$/m);
  assert((await run(join(envDir, "bin", "pip"), ["--version"])).code === 0);

  // The re-use with --upgrade: no activation scripts, no postSetup (as CPython), the
  // scripts option still installed, and what the commit moved aside emptied at the end.
  const upgrader = new Recorder({ ...BASE, withPip: true, upgrade: true, scripts });
  await upgrader.create(envDir);
  assertEquals(upgrader.calls, [
    "ensureDirectories",
    "createGitIgnoreFile (in place)",
    "createConfiguration (in place)",
    "setupPython (in place)",
    "setupPip (in place)",
    "installScripts (in place)",
    "clearDirectory .mkvenv-trash",
  ]);
  assert(!exists(join(envDir, ".mkvenv-trash")));
  assertMatch(Deno.readTextFileSync(join(envDir, "pyvenv.cfg")), /^prompt = /m);
});

Deno.test("the context holds CPython's values, by final path, for a hostile directory name", async () => {
  await using tmp = await tempDir();
  const envDir = join(tmp.path, HOSTILE_NAME);
  // CPython's own context for the same path, from its EnvBuilder.ensure_directories.
  const theirs = await pyJson(
    PY.exe,
    `import json, venv\nc = venv.EnvBuilder().ensure_directories(${
      JSON.stringify(envDir)
    })\nprint(json.dumps(vars(c)))`,
  ) as Record<string, string>;
  await Deno.remove(envDir, { recursive: true });
  const builder = new Recorder({ ...BASE });
  await builder.create(envDir);
  const c = builder.context!;
  const ours: Record<string, string> = {
    env_dir: c.envDir,
    env_name: c.envName,
    prompt: c.prompt,
    executable: c.executable,
    python_dir: c.pythonDir,
    python_exe: c.pythonExe,
    inc_path: c.incPath,
    lib_path: c.libPath,
    bin_path: c.binPath,
    bin_name: c.binName,
    env_exe: c.envExe,
    env_exec_cmd: c.envExecCmd,
  };
  for (const [key, value] of Object.entries(ours)) assertEquals(value, theirs[key], key);
  assertEquals(c.envName, HOSTILE_NAME);
  assertEquals(c.cfgPath, join(envDir, "pyvenv.cfg"));
  assertEquals(c.interpreter.version.slice(0, 2), [3, 13]);
  assertEquals(c.committed, true);
  // Before the commit a final path was written in the stage beside it; after, as itself.
  assertMatch(builder.stagedBin, /\/\.mkvenv-[0-9a-f]{16}\/bin$/);
  assert(builder.stagedBin.startsWith(`${tmp.path}/`), builder.stagedBin);
  assertEquals(c.files.stagePath(c.binPath), c.binPath);
});

const STEPS = [
  "ensureDirectories",
  "createGitIgnoreFile",
  "createConfiguration",
  "setupPython",
  "setupPip",
  "setupScripts",
  "installScripts",
  "postSetup",
  "upgradeDependencies",
] as const;

/** A builder whose step `failing` does its work, then throws. */
function failingBuilder(failing: string): typeof EnvBuilder {
  const fail = (step: string) => {
    if (step === failing) throw new Error(`${step} failed on purpose`);
  };
  return class extends EnvBuilder {
    override async ensureDirectories(envDir: string): Promise<VenvContext> {
      const context = await super.ensureDirectories(envDir);
      fail("ensureDirectories");
      return context;
    }
    override async createGitIgnoreFile(context: VenvContext): Promise<void> {
      await super.createGitIgnoreFile(context);
      fail("createGitIgnoreFile");
    }
    override async createConfiguration(context: VenvContext): Promise<void> {
      await super.createConfiguration(context);
      fail("createConfiguration");
    }
    override async setupPython(context: VenvContext): Promise<void> {
      await super.setupPython(context);
      fail("setupPython");
    }
    override async setupPip(context: VenvContext): Promise<void> {
      await super.setupPip(context);
      fail("setupPip");
    }
    override async setupScripts(context: VenvContext): Promise<void> {
      await super.setupScripts(context);
      fail("setupScripts");
    }
    override async installScripts(context: VenvContext, dir: string): Promise<void> {
      await super.installScripts(context, dir);
      fail("installScripts");
    }
    override async postSetup(context: VenvContext): Promise<void> {
      await super.postSetup(context);
      fail("postSetup");
    }
    override async upgradeDependencies(context: VenvContext): Promise<void> {
      // Not super (no package index here): what a failing pip would leave.
      await run(context.envExe, ["-m", "pip", "--version"]);
      fail("upgradeDependencies");
    }
  };
}

Deno.test("a step that throws leaves nothing of a new venv, whichever step it is", async () => {
  await using tmp = await tempDir();
  const scripts = await scriptsDir(tmp.path);
  const parent = join(tmp.path, "parent");
  await Deno.mkdir(parent);
  for (const step of STEPS) {
    const Builder = failingBuilder(step);
    const envDir = join(parent, `env ${step}`);
    const builder = new Builder({ ...BASE, withPip: true, upgradeDeps: true, scripts });
    await assertRejects(builder.create(envDir), { message: `${step} failed on purpose` });
    assertEquals([...Deno.readDirSync(parent)].map((e) => e.name), [], `after ${step}`);
  }
  // The same builder class, not failing, builds the venv.
  await new (failingBuilder("none"))({ ...BASE, withPip: true, scripts }).create(
    join(parent, "env"),
  );
  assert(exists(join(parent, "env", "bin", "where.sh")));
});

Deno.test("a step that throws leaves the previous venv as it was: re-use, --clear, --upgrade", async () => {
  await using tmp = await tempDir();
  const scripts = await scriptsDir(tmp.path);
  const envDir = join(tmp.path, "env");
  await create(envDir, { ...BASE, withPip: true, prompt: "before" });
  // Something of the user's in the venv, and a file the commit of a new build replaces.
  await Deno.writeTextFile(join(envDir, "lib", "python3.13", "site-packages", "mine.py"), "x=1\n");
  await Deno.writeTextFile(join(envDir, "bin", "activate"), "# edited by the user\n");
  const before = snapshot(envDir);
  const cases: [options: object, steps: string[]][] = [
    [{}, ["setupScripts", "installScripts", "postSetup", "upgradeDependencies"]],
    [{ clear: true }, ["setupPip", "installScripts", "postSetup", "upgradeDependencies"]],
    [{ upgrade: true }, ["setupPython", "installScripts", "upgradeDependencies"]],
  ];
  for (const [options, steps] of cases) {
    for (const step of steps) {
      const Builder = failingBuilder(step);
      const builder = new Builder({
        ...BASE,
        withPip: true,
        upgradeDeps: true,
        prompt: "after",
        scripts,
        ...options,
      });
      await assertRejects(builder.create(envDir), { message: `${step} failed on purpose` });
      assertEquals(snapshot(envDir), before, `${JSON.stringify(options)} ${step}`);
      assertEquals([...Deno.readDirSync(tmp.path)].map((e) => e.name).sort(), ["env", "scripts"]);
    }
  }
  // With --clear, even what a failing postSetup wrote into the committed venv goes.
  class Writes extends EnvBuilder {
    override async postSetup(context: VenvContext): Promise<void> {
      context.files.writeFile(join(context.binPath, "written-late"), "x");
      await Promise.resolve();
      throw new BuildError("late failure");
    }
  }
  await assertRejects(new Writes({ ...BASE, clear: true }).create(envDir), BuildError);
  assertEquals(snapshot(envDir), before);
});

Deno.test("context.files refuses a path outside the venv, and the build leaves nothing", async () => {
  await using tmp = await tempDir();
  const outside = join(tmp.path, "outside");
  class Escapes extends EnvBuilder {
    override async setupScripts(context: VenvContext): Promise<void> {
      await super.setupScripts(context);
      context.files.writeFile(`${context.envDir}/../outside`, "x");
    }
  }
  await assertRejects(
    new Escapes(BASE).create(join(tmp.path, "env")),
    /The path ".*outside" is outside the venv/,
  );
  assertEquals([...Deno.readDirSync(tmp.path)], []);
  assert(!exists(outside));
});

Deno.test("an SCM without a create<Scm>IgnoreFile method is an error before anything is touched", async () => {
  await using tmp = await tempDir();
  const envDir = join(tmp.path, "env");
  await assertRejects(
    create(envDir, { ...BASE, scmIgnoreFiles: ["git", "fossil"] }),
    (e: unknown) =>
      e instanceof BuildError &&
      /ignore file for the SCM "fossil": the builder has no method createFossilIgnoreFile/.test(
        e.message,
      ),
  );
  assertEquals([...Deno.readDirSync(tmp.path)], []);
});

Deno.test("EnvBuilder's defaults are CPython's API defaults: copies, no pip, .gitignore", async () => {
  await using tmp = await tempDir();
  const envDir = join(tmp.path, "env");
  await create(envDir, { python: PY.exe, cacheDir: SHARED_TEST_CACHE });
  const python = await Deno.lstat(join(envDir, "bin", "python3.13"));
  assert(python.isFile && !python.isSymlink, "the interpreter is copied");
  assert(!exists(join(envDir, "bin", "pip")));
  assert(exists(join(envDir, ".gitignore")));
  const r = await run(join(envDir, "bin", "python"), ["-c", "import sys; print(sys.prefix)"]);
  assertEquals(r.stdout.trim(), envDir);
});

Deno.test("the docs' example: a subclass installs a local wheel in postSetup and reports progress", async () => {
  await using tmp = await tempDir();
  const wheel = await writeWheel(tmp.path, {
    name: "hello-mkvenv",
    version: "1.0",
    files: { "hello_mkvenv.py": "def main():\n    print('hello from the wheel')\n" },
    consoleScripts: { "hello-mkvenv": "hello_mkvenv:main" },
  });
  const events: string[] = [];
  const builder = new WheelBuilder([wheel], {
    ...BASE,
    progress: (e) => events.push(`${e.step}: ${e.message}`),
  });
  const envDir = join(tmp.path, "env");
  await builder.create(envDir);
  const hello = await run(join(envDir, "bin", "hello-mkvenv"), []);
  assertEquals(hello.stdout, "hello from the wheel\n", hello.stderr);
  const steps = events.map((e) => e.slice(0, e.indexOf(":")));
  assertEquals([...new Set(steps)], [
    "ensureDirectories",
    "createGitIgnoreFile",
    "createConfiguration",
    "setupPython",
    "setupPip",
    "setupScripts",
    "commit",
    "postSetup",
  ]);
  assert(events.includes(`postSetup: installing ${wheel}`), events.join("\n"));
  assert(
    events.some((e) => /^postSetup: Successfully installed hello-mkvenv-1\.0/.test(e)),
    events.join("\n"),
  );

  // A wheel pip cannot install: nothing is left, and pip's output is in the error.
  const broken = join(tmp.path, "broken-1.0-py3-none-any.whl");
  await Deno.writeTextFile(broken, "not a zip");
  const failed = join(tmp.path, "failed");
  await assertRejects(
    new WheelBuilder([broken], BASE).create(failed),
    (e: unknown) => e instanceof BuildError && e.message.includes("Cannot install"),
  );
  assert(!exists(failed));
});

Deno.test("the README shows the docs' example as examples/wheel_builder.ts has it", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const example = (await Deno.readTextFile(join(ROOT, "examples", "wheel_builder.ts")))
    .replace(`from "../lib/mod.ts"`, `from "@mkvenv/mkvenv"`);
  assert(readme.includes(example.trimEnd()), "README.md carries examples/wheel_builder.ts");
});
