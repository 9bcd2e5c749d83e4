import assert from "node:assert/strict";
import { compareVersions, parseVersion, specifierAdmits } from "../lib/discovery/pep440.ts";
import { DEV_PYTHONS, PY312, run } from "./_wheel_fixture.ts";

const SPECIFIERS = [
  "",
  ">=3.7",
  ">=3.8",
  ">=3.9",
  ">3.7",
  "<3.12",
  "<=3.11.7",
  ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, !=3.5.*, !=3.6.*",
  "~=3.8",
  "~=3.8.2",
  "==3.*",
  "==3.11.*",
  "!=3.12.1",
  "==3.12",
  ">=3.9,<3.14",
  ">=3.10.0a1",
  "<3.13.0rc1",
  "===3.12.1",
];
const PYTHONS = ["3.6.15", "3.7.16", "3.8.18", "3.9.16", "3.11.7", "3.12.1", "3.13.0", "3.14.0"];

Deno.test(
  "specifierAdmits() agrees with pip's packaging on Requires-Python values",
  DEV_PYTHONS,
  async () => {
    const ours = SPECIFIERS.flatMap((s) => PYTHONS.map((v) => specifierAdmits(s, v)));
    // pip's vendored `packaging` is what pip itself uses to check Requires-Python.
    const script = "import json, sys\n" +
      "from pip._vendor.packaging.specifiers import SpecifierSet\n" +
      "specs, versions = json.load(sys.stdin)\n" +
      "print(json.dumps([SpecifierSet(s).contains(v, prereleases=True) " +
      "for s in specs for v in versions]))\n";
    const out = await run(PY312, ["-c", script], { stdin: JSON.stringify([SPECIFIERS, PYTHONS]) });
    assert.equal(out.code, 0, out.stderr);
    const theirs = JSON.parse(out.stdout) as boolean[];
    const differences = SPECIFIERS.flatMap((s, i) =>
      PYTHONS.filter((_, j) => ours[i * PYTHONS.length + j] !== theirs[i * PYTHONS.length + j])
        .map((v) => `${JSON.stringify(s)} ${v}`)
    );
    assert.deepEqual(differences, []);
  },
);

Deno.test(
  "compareVersions() orders versions as PEP 440 and pip's packaging do",
  DEV_PYTHONS,
  async () => {
    const versions = [
      "1.0",
      "1.0.0",
      "1.0.post1",
      "1.0.dev1",
      "1.0a1",
      "1.0a1.dev2",
      "1.0a1.post1",
      "1.0b2",
      "1.0rc1",
      "1.0c2",
      "1.0+local.7",
      "1.0+local.abc",
      "1!0.5",
      "0.9",
      "23.0.1",
      "9.0",
      "66.1.1",
      "1.0.post2.dev1",
    ];
    const sorted = [...versions].sort((a, b) =>
      compareVersions(parseVersion(a)!, parseVersion(b)!)
    );
    const script = "import json, sys\n" +
      "from pip._vendor.packaging.version import Version\n" +
      "print(json.dumps(sorted(json.load(sys.stdin), key=Version)))\n";
    const out = await run(PY312, ["-c", script], { stdin: JSON.stringify(versions) });
    assert.equal(out.code, 0, out.stderr);
    const theirs = JSON.parse(out.stdout) as string[];
    // Equal versions ("1.0" and "1.0.0") may come in either order; compare as versions.
    assert.deepEqual(
      sorted.map((v, i) => compareVersions(parseVersion(v)!, parseVersion(theirs[i]!)!)),
      sorted.map(() => 0),
    );
  },
);

Deno.test("parseVersion() refuses what is not a version", () => {
  assert.equal(parseVersion("not-a-version"), null);
  assert.equal(parseVersion("1.0-beta-x"), null);
  assert.deepEqual(parseVersion("v2.1rc3")?.pre, ["rc", 3]);
});

Deno.test("specifierAdmits() throws on a malformed specifier", () => {
  assert.throws(() => specifierAdmits(">= three", "3.12.1"), SyntaxError);
  assert.throws(() => specifierAdmits("~=3", "3.12.1"), SyntaxError);
});
