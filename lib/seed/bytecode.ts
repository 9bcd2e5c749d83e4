/**
 * Byte-compiling a cached wheel's sources with the base interpreter: one Python process per
 * core (templates/compile_pyc.py), each given files as they become ready, so that a first
 * run compiles while it is still unpacking.
 */
import { dirname, join } from "../disk/paths.ts";
import compileSource from "../../templates/compile_pyc.py" with { type: "text" };
import { readOnlyMode } from "../disk/cache.ts";

/** What Python wrote for one target: its RECORD hash and size. */
export interface CompiledFile {
  hash: string;
  size: number;
}

/** How many compiler processes for `count` files: one per core, none idle for want of work. */
function compileWorkers(count: number): number {
  const cores = Math.max(1, Math.min(navigator.hardwareConcurrency ?? 1, 16));
  return Math.max(1, Math.min(cores, Math.ceil(count / 16)));
}

interface Worker {
  child: Deno.ChildProcess;
  stdin: WritableStreamDefaultWriter<Uint8Array>;
  /** Its stdout and stderr, read from the start (a full pipe would stop the process). */
  output: Promise<Deno.CommandOutput>;
  /** Bytes of source given to it so far. */
  load: number;
  /** Lines not yet written to its stdin. */
  lines: string[];
}

/**
 * Python processes compiling sources to timestamp-checked bytecode. `add` deals each file to
 * the least loaded process; `send` passes what was dealt since the last `send`; `finish`
 * ends the input and returns what was written. Every process is waited for by `finish` or
 * `stop`, so that none is still writing when the caller removes its directory.
 */
export class Compilers {
  #workers: Worker[];
  /** Every target added, so that only those count as written. */
  #targets = new Set<string>();

  /**
   * Start compiler processes of `python` for `files` files (one per core, fewer for few files),
   * saying so in `log` (`what` names the files). Throws when Python cannot be started.
   */
  constructor(
    python: string,
    options: { files: number; what: string; log?: ((line: string) => void) | undefined },
  ) {
    const count = compileWorkers(options.files);
    options.log?.(
      `compiling ${options.files} files of ${options.what} with ${python}` +
        (count > 1 ? ` (${count} processes)` : ""),
    );
    this.#workers = [];
    try {
      for (let i = 0; i < count; i++) {
        const child = new Deno.Command(python, {
          args: ["-I", "-c", compileSource],
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        this.#workers.push({
          child,
          stdin: child.stdin.getWriter(),
          output: child.output(),
          load: 0,
          lines: [],
        });
      }
    } catch (e: unknown) {
      void this.stop();
      throw e;
    }
  }

  /**
   * Compile `source` into `target` once sent, naming it `shownAs` in the bytecode (where it
   * will be when the caller is done). `size` weighs the work.
   */
  add(source: string, target: string, shownAs: string, size: number): void {
    let lightest = this.#workers[0]!;
    for (const w of this.#workers) if (w.load < lightest.load) lightest = w;
    lightest.load += size;
    this.#targets.add(target);
    lightest.lines.push(asciiJson([source, target, shownAs]));
  }

  /** Write the files added since the last call to the processes' input. */
  async send(): Promise<void> {
    const encoder = new TextEncoder();
    await Promise.all(this.#workers.map((w) => {
      if (w.lines.length === 0) return;
      const text = w.lines.join("\n") + "\n";
      w.lines = [];
      // A process that is gone is reported by `finish`, with what it printed.
      return w.stdin.write(encoder.encode(text)).catch(() => {});
    }));
  }

  /**
   * End the input and wait for every process. Returns the targets written, each with its
   * RECORD hash and size; throws with Python's message when a process failed.
   */
  async finish(): Promise<Map<string, CompiledFile>> {
    await this.send();
    const closed = await Promise.allSettled(this.#workers.map((w) => w.stdin.close()));
    const outputs = await Promise.all(this.#workers.map((w) => w.output));
    const written = new Map<string, CompiledFile>();
    for (const out of outputs) {
      if (!out.success) {
        const said = new TextDecoder().decode(out.stderr).trim();
        const how = out.signal !== null ? `killed by ${out.signal}` : `exit status ${out.code}`;
        throw new Error(said === "" ? `a compiler ended with ${how}` : said);
      }
      const rows = JSON.parse(new TextDecoder().decode(out.stdout)) as [string, string, number][];
      for (const [target, hash, size] of rows) {
        if (this.#targets.has(target)) written.set(target, { hash, size });
      }
    }
    const lost = closed.find((c) => c.status === "rejected");
    if (lost !== undefined) throw lost.reason;
    // Every module failing means the compiler could not work here (it could not open the paths,
    // say), not that pip's modules are broken: stored, an empty list would last for good.
    if (written.size === 0 && this.#targets.size > 0) throw new Error("no module compiled");
    return written;
  }

  /** Stop every process at once (for an interrupt, which cannot wait). */
  kill(): void {
    for (const w of this.#workers) {
      try {
        w.child.kill("SIGKILL");
      } catch {
        // already ended
      }
    }
  }

  /** Stop every process and wait for it to end. */
  async stop(): Promise<void> {
    this.kill();
    await Promise.allSettled(this.#workers.map((w) => w.output));
  }
}

/** JSON with every character past ASCII escaped: Python reads it whatever its stdin encoding. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * Give the bytecode `written` under `root` the cache's modes (read-only files, 0755
 * directories, whatever the umask Python ran under) and list it in `root/pyc.json`. `files`
 * pairs each bytecode path (relative to `root`, `/`-separated) with its target as compiled.
 * Returns the files written, in the order of `files`.
 */
export function recordBytecode(
  root: string,
  files: readonly { path: string; target: string }[],
  written: ReadonlyMap<string, CompiledFile>,
): { path: string; hash: string; size: number }[] {
  const listed: { path: string; hash: string; size: number }[] = [];
  const dirs = new Set<string>();
  for (const { path, target } of files) {
    const done = written.get(target);
    if (done === undefined) continue;
    if (Deno.build.os !== "windows") {
      Deno.chmodSync(target, readOnlyMode(0o644));
      for (let d = dirname(target); d.length >= root.length && !dirs.has(d); d = dirname(d)) {
        Deno.chmodSync(d, 0o755);
        dirs.add(d);
      }
    }
    listed.push({ path, hash: done.hash, size: done.size });
  }
  Deno.writeTextFileSync(join(root, "pyc.json"), JSON.stringify({ files: listed }), {
    mode: 0o444,
  });
  return listed;
}
