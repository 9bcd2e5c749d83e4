import assert from "node:assert/strict";
import { sha256 } from "../lib/seed/sha256.ts";

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("sha256() gives the FIPS 180-4 example digests", () => {
  const enc = new TextEncoder();
  assert.equal(
    hex(sha256(enc.encode("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    hex(sha256(new Uint8Array())),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
});

Deno.test("sha256() agrees with Web Crypto at every padding boundary and on large input", async () => {
  const lengths = [...Array.from({ length: 140 }, (_, i) => i), 1000, 4096, 65537, 1_000_003];
  let seed = 1;
  for (const n of lengths) {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = (seed = (seed * 16807) % 2147483647) & 0xff;
    const theirs = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
    assert.equal(hex(sha256(data)), hex(theirs), `length ${n}`);
  }
});
