// The resolver on small in-memory worlds: candidate policy (pins, no downgrades), Recommends,
// backtracking out of a dead alternative, the chain of why, and rpm rich dependencies.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DebDialect } from "../../backends/deb/apt-dialect.js";
import { PackagesIndex } from "../../backends/deb/apt-packages.js";
import { DebPackageSet } from "../../backends/deb/apt-packageset.js";
import { dpkgStatusSet } from "../../backends/deb/dpkg-status.js";
import { parseRpmRich } from "../../backends/rpm/relations.js";
import { RpmDialect } from "../../backends/rpm/rpm-dialect.js";
import { RpmPackageSet, type RpmRecord } from "../../backends/rpm/rpmmd-packageset.js";
import { EMPTY_SET, resolve, type World } from "../../src/packages/resolve.js";
import { UnsolvableError } from "../../src/packages/solver-types.js";

function debSet(id: string, pin: number, stanzas: string[]): DebPackageSet {
  const text = stanzas.map((s) => `${s}\nArchitecture: amd64\n`).join("\n");
  return new DebPackageSet(new PackagesIndex(Buffer.from(text)), {
    id,
    pin,
    installed: false,
    nativeArch: "amd64",
  });
}

function deb(repos: DebPackageSet[], status = ""): World {
  return {
    dialect: new DebDialect("amd64"),
    repos,
    installed: status ? dpkgStatusSet(Buffer.from(status), "amd64") : EMPTY_SET,
  };
}

const names = (w: World, pkgs: string[], recommends = true) => {
  const t = resolve(
    w,
    pkgs.map((name) => ({ name })),
    { recommends },
  );
  return [
    ...t.install.map((v) => `${v.name}=${v.evr}`),
    ...t.upgrade.map((u) => `${u.to.name}=${u.to.evr}`),
  ].sort();
};

test("candidates: highest pin wins, NotAutomatic only when nothing else has it, no downgrade", () => {
  const main = debSet("main", 500, ["Package: a\nVersion: 1.0", "Package: b\nVersion: 1.0"]);
  const exp = debSet("exp", 1, ["Package: a\nVersion: 2.0", "Package: c\nVersion: 3.0"]);
  assert.deepEqual(names(deb([main, exp]), ["a", "c"]), ["a=1.0", "c=3.0"]);
  const status = "Package: b\nStatus: install ok installed\nVersion: 5.0\nArchitecture: amd64\n";
  const t = resolve(deb([main], status), [{ name: "b" }], { recommends: true });
  assert.deepEqual([t.install.length, t.upgrade.length, t.unchanged.map((v) => v.evr)], [0, 0, ["5.0"]]);
});

test("Recommends are followed by default and not with recommends off", () => {
  const r = debSet("r", 500, ["Package: a\nVersion: 1\nRecommends: b", "Package: b\nVersion: 1"]);
  assert.deepEqual(names(deb([r]), ["a"]), ["a=1", "b=1"]);
  assert.deepEqual(names(deb([r]), ["a"], false), ["a=1"]);
});

test("an alternative that fails deep down is undone and the next one taken", () => {
  const r = debSet("r", 500, [
    "Package: a\nVersion: 1\nDepends: x | y",
    "Package: x\nVersion: 1\nDepends: w",
    "Package: w\nVersion: 1\nDepends: z (>= 2)",
    "Package: z\nVersion: 1",
    "Package: y\nVersion: 1",
  ]);
  assert.deepEqual(names(deb([r]), ["a"]), ["a=1", "y=1"]);
  // The same in breadth-first mode, where the dead end shows only after all of a's deps are chosen.
  const bfs = deb([r]);
  Object.defineProperty(bfs.dialect, "breadthFirst", { value: true });
  assert.deepEqual(names(bfs, ["a"]), ["a=1", "y=1"]);
});

test("no solution: a short chain of why", () => {
  const r = debSet("r", 500, [
    "Package: strace\nVersion: 6\nDepends: libunwind8 (>= 1.6)",
    "Package: libunwind8\nVersion: 1.3",
  ]);
  assert.throws(
    () => resolve(deb([r]), [{ name: "strace" }], { recommends: true }),
    (e: unknown) =>
      e instanceof UnsolvableError &&
      /strace depends on libunwind8 \(>= 1\.6\) but only 1\.3 is available/.test(e.message),
  );
  assert.throws(
    () => resolve(deb([r]), [{ name: "nope" }], { recommends: true }),
    /unable to locate package nope/,
  );
});

function rpm(name: string, entries: RpmRecord["entries"] = {}): RpmRecord {
  return { name, arch: "noarch", epoch: 0, version: "1", release: "1", entries, files: [] };
}

test("rpm rich dependencies: or, if, unless, with", () => {
  const set = new RpmPackageSet(
    [
      rpm("app", {
        requires: [
          { name: "(missing or alt)", evr: "" },
          { name: "(cond if trigger)", evr: "" },
          { name: "(never unless alt)", evr: "" },
          { name: "(lib with lib-extra)", evr: "" },
        ],
      }),
      rpm("alt"),
      rpm("cond"),
      rpm("trigger"),
      rpm("never"),
      rpm("lib", { provides: [{ name: "lib-extra", evr: "" }] }),
    ],
    { id: "r", installed: false, pin: -99 },
    parseRpmRich,
  );
  const w: World = { dialect: new RpmDialect("x86_64"), repos: [set], installed: EMPTY_SET };
  assert.deepEqual(names(w, ["app"]), ["alt=1-1", "app=1-1", "lib=1-1"]);
  assert.deepEqual(names(w, ["app", "trigger"]), [
    "alt=1-1",
    "app=1-1",
    "cond=1-1",
    "lib=1-1",
    "trigger=1-1",
  ]);
});
