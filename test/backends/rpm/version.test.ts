import assert from "node:assert/strict";
import { test } from "node:test";
import { compareEVR, parseEVR, rpmvercmp } from "../../../backends/rpm/version.js";
import { haveTools, run } from "../../helpers.js";

const VERSIONS = [
  "1.0",
  "1.0.0",
  "1.0a",
  "1.0~rc1",
  "1.0~rc2",
  "1.0~",
  "1.0^",
  "1.0^git1",
  "1.0^git1~pre",
  "1.01",
  "1.1",
  "1.10",
  "1.9",
  "2",
  "a",
  "b",
  "1.0.a",
  "1_0",
  "1+0",
  "001",
  "1.0~~",
  "r1",
  "1.0rc1",
  "1.0.1^post",
  "5.4.18",
  "2.0-1",
];

test("rpmvercmp agrees with rpm's own rpm.vercmp on every pair", (t) => {
  if (!haveTools(t, "rpm")) return;
  const pairs: [string, string][] = [];
  for (let i = 0; i < VERSIONS.length; i++)
    for (let j = 0; j < VERSIONS.length; j++) if (i !== j) pairs.push([VERSIONS[i], VERSIONS[j]]);
  const table = pairs.map(([a, b]) => `{"${a}","${b}"}`).join(",");
  const lua = `%{lua: for _, p in ipairs({${table}}) do print(rpm.vercmp(p[1], p[2]) .. "\\n") end}`;
  const r = run("rpm", ["--eval", lua]);
  assert.equal(r.status, 0, r.stderr);
  const want = r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map(Number);
  assert.equal(want.length, pairs.length);
  pairs.forEach(([a, b], i) => {
    assert.equal(rpmvercmp(a, b), want[i], `${a} vs ${b}`);
  });
});

test("EVR comparison: epoch first, release only when both sides have one", () => {
  assert.equal(compareEVR("1:1.0-1", "2.0-1"), 1);
  assert.equal(compareEVR("1.0", "1.0-5"), 0);
  assert.equal(compareEVR("1.0-2", "1.0-10"), -1);
  assert.deepEqual(parseEVR("3:1.2-4.fc40"), { epoch: 3, version: "1.2", release: "4.fc40" });
});
