/** Facts about other processes. */

/** Whether a process with `pid` exists on this host. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === Deno.pid) return true;
  // Windows has no signal that only asks; there, treat every process as alive.
  if (Deno.build.os === "windows") return true;
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch (e: unknown) {
    // EPERM: it exists but is not ours to signal.
    return e instanceof Deno.errors.PermissionDenied;
  }
}
