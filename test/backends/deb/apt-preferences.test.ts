// Oracle for apt preferences: two suites of one local repository (stable: foo 1.0 and 1.1,
// experimental: foo 2.0), an installed baz 2.0 that only a pin >= 1000 may downgrade, and a set of
// preferences files; `resolve --apt-preferences` must equal `apt-get -s install` given the same file
// as Dir::Etc::Preferences. Then the tree's own etc/apt/preferences.d through --root.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { haveTools, scratch, sh } from "../../helpers.js";
import { aptSim, ours } from "./apt-oracle.js";

const SUITES: Record<string, { codename: string; pkgs: [string, string][] }> = {
  stable: {
    codename: "bookworm",
    pkgs: [
      ["foo", "1.0"],
      ["foo", "1.1"],
      ["libx", "1.0"],
      ["baz", "1.0"],
    ],
  },
  experimental: {
    codename: "rc-buggy",
    pkgs: [
      ["foo", "2.0\nDepends: libx (>= 2.0)"],
      ["libx", "2.0"],
      ["baz", "3.0"],
    ],
  },
};

const STATUS =
  "Package: baz\nStatus: install ok installed\nVersion: 2.0\nArchitecture: amd64\nMaintainer: t <t@e>\nDescription: x\n";

/** [preferences text, packages to install]. */
const CASES: [string, string][] = [
  ["", "foo baz"],
  ["Package: foo\nPin: release a=stable\nPin-Priority: 900\n", "foo"],
  ["Explanation: older foo only\nPackage: foo\nPin: version 1.0*\nPin-Priority: 900\n", "foo"],
  ["# all of experimental is opt-in\nPackage: *\nPin: release n=rc-buggy\nPin-Priority: 50\n", "foo baz"],
  ["Package: *\nPin: release o=Test, l=Exp*\nPin-Priority: 50\n", "foo baz"],
  ["Package: /^fo+$/ libx\nPin: release experimental\nPin-Priority: -1\n", "foo"],
  [
    "Package: f*\nPin: version 1.1\nPin-Priority: 600\n\nPackage: foo\nPin: version 1.0\nPin-Priority: 700\n",
    "foo",
  ],
  // Specific before general, whatever the file order.
  [
    "Package: *\nPin: release a=stable\nPin-Priority: 1\n\nPackage: foo\nPin: release a=stable\nPin-Priority: 990\n",
    "foo",
  ],
  // Downgrades (3.0 never): 999 keeps the installed baz 2.0, 1000 takes stable's 1.0.
  [
    "Package: baz\nPin: version 3.0\nPin-Priority: -1\n\nPackage: baz\nPin: version 1.0\nPin-Priority: 999\n",
    "baz",
  ],
  [
    "Package: baz\nPin: version 3.0\nPin-Priority: -1\n\nPackage: baz\nPin: version 1.0\nPin-Priority: 1000\n",
    "baz",
  ],
  ["Package: baz\nPin: release a=experimental\nPin-Priority: -10\n", "baz"],
];

function buildRepo(dir: string): string {
  const repo = join(dir, "repo");
  for (const [suite, { codename, pkgs }] of Object.entries(SUITES)) {
    for (const [name, fields] of pkgs) {
      const version = fields.split("\n")[0];
      const root = join(dir, "build", `${suite}-${name}-${version}`);
      mkdirSync(join(root, "DEBIAN"), { recursive: true });
      writeFileSync(
        join(root, "DEBIAN/control"),
        `Package: ${name}\nVersion: ${fields}\nArchitecture: amd64\nMaintainer: t <t@example.org>\nDescription: test\n`,
      );
      mkdirSync(join(repo, "pool", suite), { recursive: true });
      sh("dpkg-deb", [
        "--root-owner-group",
        "-Zgzip",
        "--build",
        root,
        join(repo, "pool", suite, `${name}_${version}.deb`),
      ]);
    }
    const d = join(repo, `dists/${suite}/main/binary-amd64`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "Packages"), sh("apt-ftparchive", ["packages", `pool/${suite}`], { cwd: repo }));
    const label = suite === "stable" ? "Stable" : "Experimental";
    const opt = (k: string, v: string) => ["-o", `APT::FTPArchive::Release::${k}=${v}`];
    const release = sh(
      "apt-ftparchive",
      [
        ...opt("Suite", suite),
        ...opt("Codename", codename),
        ...opt("Origin", "Test"),
        ...opt("Label", label),
        ...opt("Components", "main"),
        ...opt("Architectures", "amd64"),
        "release",
        ".",
      ],
      { cwd: join(repo, `dists/${suite}`) },
    );
    writeFileSync(join(repo, `dists/${suite}/Release`), release);
  }
  return repo;
}

test("apt preferences: resolve --apt-preferences equals apt-get -s install", {
  timeout: 60_000,
}, async (t) => {
  if (!haveTools(t, "dpkg-deb", "apt-ftparchive", "apt-get")) return;
  const dir = scratch(t);
  const repo = buildRepo(dir);
  const sources = join(dir, "test.list");
  writeFileSync(
    sources,
    `deb [trusted=yes] file:${repo} stable main\ndeb [trusted=yes] file:${repo} experimental main\n`,
  );
  const status = join(dir, "status");
  writeFileSync(status, STATUS);
  const base = ["--sources-list", sources, "--dpkg-status", status, "--cache-dir", join(dir, "md")];
  CASES.forEach(([prefs, req], i) => {
    const file = join(dir, `prefs-${i}`);
    writeFileSync(file, prefs);
    const pkgs = req.split(" ");
    const a = aptSim(join(dir, "apt"), sources, status, pkgs, ["amd64"], file);
    assert.equal(a.status, 0, `apt, case ${i}`);
    const o = ours([...base, "--apt-preferences", file, ...pkgs]);
    assert.equal(o.status, 0, o.stderr);
    assert.deepEqual(o.set, a.set, `case ${i}:\n${prefs}`);
  });
  // --root: etc/apt/preferences.d parts (no extension or .pref; others ignored, as apt does).
  const tree = join(dir, "tree");
  mkdirSync(join(tree, "etc/apt/preferences.d"), { recursive: true });
  mkdirSync(join(tree, "etc/apt/sources.list.d"), { recursive: true });
  mkdirSync(join(tree, "var/lib/dpkg"), { recursive: true });
  writeFileSync(
    join(tree, "etc/apt/sources.list.d/test.list"),
    `deb [trusted=yes] file:${repo} stable main\ndeb [trusted=yes] file:${repo} experimental main\n`,
  );
  writeFileSync(join(tree, "var/lib/dpkg/status"), STATUS);
  writeFileSync(join(tree, "etc/apt/preferences.d/stable.pref"), CASES[1][0]);
  writeFileSync(
    join(tree, "etc/apt/preferences.d/ignored.txt"),
    "Package: foo\nPin: version 1.0\nPin-Priority: 999\n",
  );
  const viaRoot = ours(["--root", tree, "--cache-dir", join(dir, "md"), "foo"]);
  assert.equal(viaRoot.status, 0, viaRoot.stderr);
  assert.deepEqual(viaRoot.set, ["+foo 1.1"]);
});
