import assert from "node:assert/strict";
import { test } from "node:test";
import { compareDebVersions, formatDebVersion, parseDebVersion } from "../../../backends/deb/version.js";
import { haveTools, run } from "../../helpers.js";

const VERSIONS = [
  "1.0",
  "1.0-1",
  "1.0-2",
  "1.0~rc1",
  "1.0~rc1-1",
  "1.0~~",
  "1.0~",
  "1.0+b1",
  "1.0.1",
  "1.00",
  "1:0.9",
  "2:1.0",
  "0:1.0",
  "1.0a",
  "1.0-1ubuntu1",
  "1.0-1~bpo1",
  "10.0",
  "9.99",
  "1.0-0",
  "1.0.0",
  "a1",
  "1.2.3-4.5",
  "1.2.3-4.5+deb12u1",
  "2.36-9+deb12u4",
  "1.0-a",
];

test("dpkg version order agrees with dpkg --compare-versions on every pair", (t) => {
  if (!haveTools(t, "dpkg")) return;
  const pairs: [string, string][] = [];
  for (let i = 0; i < VERSIONS.length; i++)
    for (let j = i + 1; j < VERSIONS.length; j++) pairs.push([VERSIONS[i], VERSIONS[j]]);
  // One shell for all pairs: each line "a b" → -1/0/1 from dpkg itself.
  const script = `while read a b; do if dpkg --compare-versions "$a" lt "$b"; then echo -1; elif dpkg --compare-versions "$a" eq "$b"; then echo 0; else echo 1; fi; done`;
  const r = run("sh", ["-c", script], { input: pairs.map((p) => p.join(" ")).join("\n") + "\n" });
  assert.equal(r.status, 0, r.stderr);
  const want = r.stdout.trim().split("\n").map(Number);
  assert.equal(want.length, pairs.length);
  pairs.forEach(([a, b], i) => {
    assert.equal(compareDebVersions(a, b), want[i], `${a} vs ${b}`);
    assert.equal(compareDebVersions(b, a), want[i] === 0 ? 0 : -want[i], `${b} vs ${a}`);
  });
});

test("deb versions split and print like dpkg", () => {
  assert.deepEqual(parseDebVersion("1:2.0~rc1-3"), { epoch: 1, upstream: "2.0~rc1", revision: "3" });
  assert.deepEqual(parseDebVersion("2.0-1-2"), { epoch: 0, upstream: "2.0-1", revision: "2" });
  assert.equal(formatDebVersion({ epoch: 0, version: "1.0", release: "" }), "1.0");
  assert.equal(formatDebVersion({ epoch: 2, version: "1.0", release: "3" }), "2:1.0-3");
});
