/**
 * The command line: argv -> `CliRequest`. Accepts what `python -m venv` accepts, argparse-style:
 * options and ENV_DIRs interleaved, `--opt=value`, and unique prefixes of long options (`--sys`).
 * node:util's parseArgs has no prefix matching, which a drop-in for argparse needs.
 */
import { BuildError, UsageError } from "../errors.ts";
import { formatHelp, formatUsage, type HelpSpec, terminalWidth } from "./help_format.ts";
import { LINK_MODES, type LinkMode, parseLinkMode } from "../disk/file_links.ts";

/** What the command line asks for. */
export interface CliRequest {
  envDirs: string[];
  python: string | undefined;
  systemSitePackages: boolean;
  /** true/false when `--symlinks`/`--copies` was given; null for the platform default. */
  symlinks: boolean | null;
  clear: boolean;
  force: boolean;
  upgrade: boolean;
  withPip: boolean;
  prompt: string | null;
  upgradeDeps: boolean;
  scmIgnoreFiles: boolean;
  /** `--pip-wheel` values, in order. */
  pipWheels: string[];
  /** `--link-mode`, or null for the default. */
  linkMode: LinkMode | null;
  /** `--scripts`: a directory of scripts to install into the venv, or null. */
  scripts: string | null;
  verbose: boolean;
  help: boolean;
  version: boolean;
  /** `--list-pythons`: show the interpreters discovery finds instead of building. */
  listPythons: boolean;
}

interface OptionSpec {
  long: string;
  short?: string;
  /** Name of the value shown in usage; absent for flags. */
  value?: string;
  help: string;
  apply: (request: CliRequest, value: string) => void;
}

/** Every option, in the order `--help` lists them. */
export const OPTIONS: readonly OptionSpec[] = [
  {
    long: "help",
    short: "h",
    help: "show this help message and exit",
    apply: (r) => (r.help = true),
  },
  { long: "version", help: "Show mkvenv's version and exit.", apply: (r) => (r.version = true) },
  {
    long: "python",
    short: "p",
    value: "PYTHON",
    help: "The base interpreter: a path, a command, a version (3.12, 3.13t), an implementation " +
      "(pypy3.10) or a range (>=3.10,<3.13). Default: MKVENV_PYTHON, .python-version, then " +
      "python3 or python on PATH.",
    apply: (r, v) => {
      // One interpreter per run: a second -p is refused rather than silently winning.
      if (r.python !== undefined) {
        throw new UsageError(
          `argument -p/--python: given twice (${JSON.stringify(r.python)} and ${
            JSON.stringify(v)
          }); give one interpreter, or a version range such as ">=3.11,<3.14"`,
        );
      }
      r.python = v;
    },
  },
  {
    long: "system-site-packages",
    help: "Give the virtual environment access to the system site-packages dir.",
    apply: (r) => (r.systemSitePackages = true),
  },
  {
    long: "symlinks",
    help:
      "Try to use symlinks rather than copies, when symlinks are not the default for the platform.",
    apply: (r) => (r.symlinks = true),
  },
  {
    long: "copies",
    help:
      "Try to use copies rather than symlinks, even when symlinks are the default for the platform.",
    apply: (r) => (r.symlinks = false),
  },
  {
    long: "clear",
    help:
      "Delete the contents of the environment directory if it already exists, before environment creation.",
    apply: (r) => (r.clear = true),
  },
  {
    long: "force",
    help: "Let --clear empty a directory that is not a virtual environment (no pyvenv.cfg).",
    apply: (r) => (r.force = true),
  },
  {
    long: "upgrade",
    help:
      "Upgrade the environment directory to use this version of Python, assuming Python has been upgraded in-place.",
    apply: (r) => (r.upgrade = true),
  },
  {
    long: "without-pip",
    help:
      "Skips installing or upgrading pip in the virtual environment (pip is bootstrapped by default)",
    apply: (r) => (r.withPip = false),
  },
  {
    long: "prompt",
    value: "PROMPT",
    help: "Provides an alternative prompt prefix for this environment.",
    apply: (r, v) => (r.prompt = v),
  },
  {
    long: "upgrade-deps",
    help:
      "Upgrade core dependencies (pip, and setuptools before 3.12) to the latest version in PyPI",
    apply: (r) => (r.upgradeDeps = true),
  },
  {
    long: "without-scm-ignore-files",
    help:
      "Skips adding SCM ignore files to the environment directory (Git is supported by default).",
    apply: (r) => (r.scmIgnoreFiles = false),
  },
  {
    long: "pip-wheel",
    value: "PATH",
    help:
      "Seed from this pip (or setuptools) wheel instead of the interpreter's own; may be repeated (default: $MKVENV_PIP_WHEEL, a list like PATH).",
    apply: (r, v) => {
      // An empty value would name the working directory.
      if (v === "") throw new UsageError("argument --pip-wheel: expected the path of a .whl file");
      r.pipWheels.push(v);
    },
  },
  {
    long: "link-mode",
    value: "MODE",
    help: `How seeded files are placed from mkvenv's cache: ${
      LINK_MODES.join(", ")
    } (default: hardlink, copying where links are impossible).`,
    apply: (r, v) => {
      const mode = parseLinkMode(v);
      if (mode === null) {
        throw new UsageError(
          `argument --link-mode: invalid choice: ${JSON.stringify(v)} (choose from ${
            LINK_MODES.join(", ")
          })`,
        );
      }
      r.linkMode = mode;
    },
  },
  {
    long: "scripts",
    value: "DIR",
    help:
      "Also install the scripts of DIR/common and DIR/posix (DIR/nt on Windows) into the bin directory, on --upgrade too, with __VENV_DIR__, __VENV_NAME__, __VENV_PROMPT__, __VENV_BIN_NAME__ and __VENV_PYTHON__ replaced by values quoted for each file's language.",
    apply: (r, v) => (r.scripts = v),
  },
  {
    long: "list-pythons",
    help: "List the Python interpreters mkvenv can find, marking the one it would use, and exit.",
    apply: (r) => (r.listPythons = true),
  },
  {
    long: "verbose",
    short: "v",
    help: "Say what is done, and show a stack trace for internal errors.",
    apply: (r) => (r.verbose = true),
  },
];

/** Options shown as one `[--a | --b]` group in the usage line (argparse's mutual exclusion). */
const EXCLUSIVE = ["symlinks", "copies"];

/** The help text's parts, from `OPTIONS`. */
function helpSpec(): HelpSpec {
  const optionalParts: string[] = [];
  for (const o of OPTIONS) {
    if (o.long === EXCLUSIVE[1]) continue;
    if (o.long === EXCLUSIVE[0]) {
      optionalParts.push(`[${EXCLUSIVE.map((name) => `--${name}`).join(" | ")}]`);
    } else {
      const name = o.short ? `-${o.short}` : `--${o.long}`;
      optionalParts.push(`[${o.value ? `${name} ${o.value}` : name}]`);
    }
  }
  const invocation = (o: OptionSpec) =>
    [o.short ? `-${o.short}` : null, `--${o.long}`]
      .filter((n) => n !== null)
      .map((n) => (o.value ? `${n} ${o.value}` : n))
      .join(", ");
  return {
    prog: "mkvenv",
    optionalParts,
    positionalParts: ["ENV_DIR", "[ENV_DIR ...]"],
    description: "Creates virtual Python environments in one or more target directories.",
    sections: [
      {
        title: "positional arguments",
        items: [{ invocation: "ENV_DIR", help: "A directory to create the environment in." }],
      },
      {
        title: "options",
        items: OPTIONS.map((o) => ({ invocation: invocation(o), help: o.help })),
      },
    ],
    epilog: "Once an environment has been created, you may wish to activate it, e.g. by " +
      "sourcing an activate script in its bin directory.",
  };
}

/**
 * The usage block shown with a usage error, wrapped as argparse wraps it: for `width` columns
 * (default: the terminal's, as argparse takes it).
 */
export function usageText(width: number = terminalWidth()): string {
  return formatUsage(helpSpec(), width);
}

/** The full `--help` text, for `width` (default: the terminal's, as argparse takes it). */
export function helpText(width: number = terminalWidth()): string {
  return formatHelp(helpSpec(), width);
}

function lookupLong(name: string): OptionSpec {
  const exact = OPTIONS.find((o) => o.long === name);
  if (exact) return exact;
  const matches = OPTIONS.filter((o) => o.long.startsWith(name));
  if (matches.length === 1 && name.length > 0) return matches[0]!;
  if (matches.length > 1) {
    throw new UsageError(
      `ambiguous option: --${name} could match ${matches.map((o) => `--${o.long}`).join(", ")}`,
    );
  }
  throw new UsageError(`unrecognized arguments: --${name}`);
}

/**
 * Parse argv (without the program name). Throws `UsageError` for anything argparse refuses,
 * and `BuildError` for `--upgrade` with `--clear`, which venv refuses after parsing.
 */
export function parseCli(argv: readonly string[]): CliRequest {
  const request: CliRequest = {
    envDirs: [],
    python: undefined,
    systemSitePackages: false,
    symlinks: null,
    clear: false,
    force: false,
    upgrade: false,
    withPip: true,
    prompt: null,
    upgradeDeps: false,
    scmIgnoreFiles: true,
    pipWheels: [],
    linkMode: null,
    scripts: null,
    verbose: false,
    help: false,
    version: false,
    listPythons: false,
  };
  let linkChoice: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      request.envDirs.push(...argv.slice(i + 1));
      break;
    }
    let spec: OptionSpec;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      spec = lookupLong(eq < 0 ? arg.slice(2) : arg.slice(2, eq));
      if (eq >= 0) inline = arg.slice(eq + 1);
    } else if (arg.startsWith("-") && arg.length > 1) {
      const found = OPTIONS.find((o) => o.short === arg[1]);
      if (!found) throw new UsageError(`unrecognized arguments: ${arg}`);
      spec = found;
      if (arg.length > 2) {
        if (!spec.value) {
          throw new UsageError(
            `argument -${spec.short}: ignored explicit argument ${JSON.stringify(arg.slice(2))}`,
          );
        }
        inline = arg.slice(2);
      }
    } else {
      request.envDirs.push(arg);
      continue;
    }
    const label = spec.short ? `-${spec.short}/--${spec.long}` : `--${spec.long}`;
    let value = "";
    if (spec.value) {
      if (inline !== undefined) value = inline;
      else if (i + 1 < argv.length && !(argv[i + 1]!.startsWith("-") && argv[i + 1]!.length > 1)) {
        value = argv[++i]!;
      } else throw new UsageError(`argument ${label}: expected one argument`);
    } else if (inline !== undefined) {
      throw new UsageError(
        `argument ${label}: ignored explicit argument ${JSON.stringify(inline)}`,
      );
    }
    if (spec.long === "symlinks" || spec.long === "copies") {
      if (linkChoice !== null && linkChoice !== spec.long) {
        throw new UsageError(`argument --${spec.long}: not allowed with argument --${linkChoice}`);
      }
      linkChoice = spec.long;
    }
    spec.apply(request, value);
  }
  if (request.help || request.version || request.listPythons) return request;
  if (request.envDirs.length === 0) {
    throw new UsageError("the following arguments are required: ENV_DIR");
  }
  if (request.upgrade && request.clear) {
    // venv refuses this after parsing, as an error of the build (exit 1), in these words.
    throw new BuildError(
      "you cannot supply --upgrade and --clear together: --clear empties the venv that " +
        "--upgrade would keep; choose one",
    );
  }
  return request;
}
