/**
 * A local stand-in for mkvenv's GitHub releases, for the installer and action tests: archives
 * made by scripts/package.ts (the code the release workflow packages with) holding a binary
 * per target, a `SHA256SUMS`, and an HTTP server on 127.0.0.1 answering as GitHub does:
 * `/releases/download/vVERSION/FILE`, and `/releases/latest/download/FILE` redirecting to the
 * latest release. Releases can be damaged on purpose: an archive changed after its checksum
 * was taken, an archive left out of SHA256SUMS, or listed there but not served.
 */
import { join } from "node:path";
import { archive, archiveName, sha256Sums, type Target, TARGETS } from "../scripts/package.ts";
import { ROOT } from "./_util.ts";

/** One release of the fake. */
export interface FakeReleaseSpec {
  version: string;
  /** The binary packaged for `target`. */
  binary: (target: Target) => Uint8Array | Promise<Uint8Array>;
  /** Targets whose archive is neither made nor listed. */
  omit?: readonly Target[];
  /** Targets whose archive is listed in SHA256SUMS but not served. */
  unserved?: readonly Target[];
  /** Targets whose archive is served with one byte changed after SHA256SUMS was written. */
  corrupt?: readonly Target[];
}

/** A running fake release server. */
export interface FakeRelease {
  /** What MKVENV_DOWNLOAD_URL is set to: `http://127.0.0.1:PORT/releases`. */
  url: string;
  /** The directory served: `vVERSION/FILE`. */
  dir: string;
  /** The paths requested so far. */
  requests: string[];
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A binary for the installer tests: a shell script that prints `mkvenv VERSION (TARGET)` for
 * `--version`, so a test can tell which archive was installed.
 */
export function scriptBinary(version: string): (target: Target) => Uint8Array {
  return (target) => new TextEncoder().encode(`#!/bin/sh\necho "mkvenv ${version} (${target})"\n`);
}

/** The release target of this machine. */
export function nativeTarget(): Target {
  const arch = Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";
  const os = Deno.build.os === "darwin"
    ? "apple-darwin"
    : Deno.build.os === "windows"
    ? "pc-windows-msvc"
    : "unknown-linux-gnu";
  return `${arch}-${os}` as Target;
}

/** Lay out `releases` in a new directory and serve it; the first spec is the latest. */
export async function fakeRelease(releases: readonly FakeReleaseSpec[]): Promise<FakeRelease> {
  const dir = await Deno.makeTempDir({ prefix: "mkvenv-fake-release-" });
  for (const spec of releases) {
    const out = join(dir, `v${spec.version}`);
    await Deno.mkdir(out);
    const files = new Map<string, Uint8Array>();
    for (const target of TARGETS) {
      if (spec.omit?.includes(target)) continue;
      files.set(
        archiveName(spec.version, target),
        await archive(target, await spec.binary(target)),
      );
    }
    await Deno.writeTextFile(join(out, "SHA256SUMS"), await sha256Sums(files));
    for (const [name, data] of files) {
      const target = TARGETS.find((t) => name === archiveName(spec.version, t))!;
      if (spec.unserved?.includes(target)) continue;
      if (spec.corrupt?.includes(target)) data[data.length >> 1]! ^= 0x01;
      await Deno.writeFile(join(out, name), data);
    }
    // The release workflow attaches the installers too.
    await Deno.copyFile(join(ROOT, "install.sh"), join(out, "install.sh"));
  }
  const latest = releases[0]!.version;
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    requests.push(path);
    const latestFile = /^\/releases\/latest\/download\/([^/]+)$/.exec(path);
    if (latestFile) {
      return new Response(null, {
        status: 302,
        headers: { location: `/releases/download/v${latest}/${latestFile[1]}` },
      });
    }
    const file = /^\/releases\/download\/(v[^/]+)\/([^/]+)$/.exec(path);
    if (file && !file[1]!.startsWith("v.") && !file[2]!.startsWith(".")) {
      try {
        return new Response(await Deno.readFile(join(dir, file[1]!, file[2]!)));
      } catch {
        // not there
      }
    }
    return new Response("Not Found", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/releases`,
    dir,
    requests,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
