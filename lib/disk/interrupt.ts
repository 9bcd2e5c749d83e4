/**
 * Interruption (Ctrl-C, SIGTERM): the cleanups a signal handler runs, and the points where a
 * build lets the handler run at all. Deno runs a signal listener only when its event loop turns,
 * and a build is mostly synchronous, so without these points a signal would wait for the whole
 * run.
 */

/** Cleanups to run if the process is interrupted (Ctrl-C, SIGTERM). */
const cleanups = new Set<() => void>();

/** Register `cleanup` to run on interruption; returns a function that unregisters it. */
export function onInterrupt(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** Run every registered cleanup (newest first); for the signal handlers in main.ts. */
export function runInterruptCleanups(): void {
  for (const cleanup of [...cleanups].reverse()) {
    try {
      cleanup();
    } catch {
      // best effort while exiting
    }
  }
  cleanups.clear();
}

let lastYield = performance.now();

/**
 * A point where a signal may stop the build. Signal listeners only run when the event loop
 * turns, and a build is mostly synchronous: long loops call this, which lets the loop turn once
 * 100 ms have passed since the last turn, so Ctrl-C acts within that. Never called inside a
 * commit: a commit is not interrupted half-way.
 *
 * The turn waits on a 1 ms timer: the loop must idle for a signal to be seen (an operation that
 * completes at once, such as an `lstat`, let a SIGINT go unseen for the whole of a 60-venv run
 * under load). The timer is an abort signal's, not `setTimeout`, whose first call in Deno 2.9
 * loads its Node timers (7-10 ms).
 */
export async function checkpoint(): Promise<void> {
  if (performance.now() - lastYield < 100) return;
  await new Promise((resolve) => {
    AbortSignal.timeout(1).addEventListener("abort", resolve, { once: true });
  });
  lastYield = performance.now();
}
