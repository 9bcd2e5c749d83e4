/**
 * The errors a user can cause. Anything else that escapes is a bug and is reported with its
 * stack trace under `--verbose`.
 */

/** A mistake on the command line: exit status 2, shown with the usage line. */
export class UsageError extends Error {
  /** `"UsageError"`. */
  override name = "UsageError";
}

/** A build that could not be carried out: exit status 1, shown as one line. */
export class BuildError extends Error {
  /** `"BuildError"`. */
  override name = "BuildError";
  /** Output of a failed subprocess, shown below the message. */
  readonly detail: string | undefined;

  /** An error with a one-line `message`, a subprocess's output as `detail`, and its `cause`. */
  constructor(message: string, options: { detail?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.detail = options.detail;
  }
}

/** Quote a value for an error message: JSON string syntax, so control characters are visible. */
export function q(value: string): string {
  return JSON.stringify(value);
}

/** The message of a caught value, for a log line or the detail of an error. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
