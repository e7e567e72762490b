import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { compareDebVersions } from "../../backends/deb/version.js";
import { compareEVR } from "../../backends/rpm/version.js";
import { diffPackages } from "../../src/packages/pkgdb.js";
import { haveTools, run } from "../helpers.js";
import { pkg } from "./pkgdb-fixture.js";

const deb = (name: string, evr: string, arch = "amd64") => pkg(name, evr, { arch });
const rpm = (name: string, evr: string, arch = "x86_64") => pkg(name, evr, { kind: "rpm", arch });

test("pkgdb diff: added, removed, upgraded and downgraded by name+arch, new versions, sorted", () => {
  const from = [
    deb("zlib1g", "1:1.2.13.dfsg-1"),
    deb("libc6", "2.36-9"),
    deb("libc6", "2.36-9", "i386"),
    deb("gone", "1.0"),
    deb("same", "1.0-1"),
    deb("epoch", "1:0.1"),
    deb("tilde", "1.0"),
  ];
  const to = [
    deb("libc6", "2.36-9+deb12u4"),
    deb("zlib1g", "1:1.2.13.dfsg-1"),
    deb("new", "0.1"),
    deb("libc6", "2.36-9", "arm64"),
    deb("same", "1.0-1"),
    // epoch 1 beats any version without one: the move to 9.9 is a downgrade.
    deb("epoch", "9.9"),
    deb("tilde", "1.0~rc1"),
  ];
  assert.deepEqual(diffPackages(from, to, compareDebVersions), {
    added: [
      { name: "libc6", version: "2.36-9", arch: "arm64" },
      { name: "new", version: "0.1", arch: "amd64" },
    ],
    removed: [
      { name: "gone", version: "1.0", arch: "amd64" },
      { name: "libc6", version: "2.36-9", arch: "i386" },
    ],
    upgraded: [{ name: "libc6", version: "2.36-9+deb12u4", arch: "amd64" }],
    downgraded: [
      { name: "epoch", version: "9.9", arch: "amd64" },
      { name: "tilde", version: "1.0~rc1", arch: "amd64" },
    ],
  });
  assert.deepEqual(diffPackages(to, to, compareDebVersions), {
    added: [],
    removed: [],
    upgraded: [],
    downgraded: [],
  });
});

/** Version pairs whose order the diff depends on; each side's tool decides it. */
const PAIRS: [string, string][] = [
  ["1.0", "1:0.1"],
  ["2:1.0-1", "1:9.9-9"],
  ["1.0~rc1-1", "1.0-1"],
  ["1.0-1", "1.0-1+b1"],
  ["1.0a-1", "1.0-1"],
  ["1.10", "1.9"],
  ["1.0", "1.0"],
  ["0:1.0-1", "1.0-1"],
];

function sides(from: string, to: string, mk: typeof deb) {
  return diffPackages([mk("p", from)], [mk("p", to)], mk === deb ? compareDebVersions : compareEVR);
}

function verdict(d: ReturnType<typeof sides>): "upgraded" | "downgraded" | "same" {
  return d.upgraded.length ? "upgraded" : d.downgraded.length ? "downgraded" : "same";
}

test("pkgdb diff: deb upgrades and downgrades agree with dpkg --compare-versions", (t: TestContext) => {
  if (!haveTools(t, "dpkg")) return;
  for (const [a, b] of PAIRS) {
    const lt = run("dpkg", ["--compare-versions", a, "lt", b]).status === 0;
    const gt = run("dpkg", ["--compare-versions", a, "gt", b]).status === 0;
    const want = lt ? "upgraded" : gt ? "downgraded" : "same";
    assert.equal(verdict(sides(a, b, deb)), want, `${a} → ${b}`);
  }
});

test("pkgdb diff: rpm upgrades and downgrades agree with rpm's own rpm.vercmp", (t: TestContext) => {
  if (!haveTools(t, "rpm")) return;
  const lua = PAIRS.map(([a, b]) => `print(rpm.vercmp("${a}", "${b}"))`).join(' print(" ") ');
  const r = run("rpm", ["--eval", `%{lua: ${lua}}`]);
  assert.equal(r.status, 0, r.stderr);
  const got = r.stdout.trim().split(" ").map(Number);
  assert.equal(got.length, PAIRS.length);
  PAIRS.forEach(([a, b], i) => {
    const want = got[i] < 0 ? "upgraded" : got[i] > 0 ? "downgraded" : "same";
    assert.equal(verdict(sides(a, b, rpm)), want, `${a} → ${b}`);
  });
  // The slot is name+arch: a package moving from x86_64 to noarch is one removed, one added.
  const d = diffPackages([rpm("p", "1-1")], [rpm("p", "1-1", "noarch")], compareEVR);
  assert.deepEqual(
    [d.added, d.removed].map((l) => l.map((e) => e.arch)),
    [["noarch"], ["x86_64"]],
  );
});
