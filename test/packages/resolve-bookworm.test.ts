// Real-world oracle: the bookworm indexes `apt-get update` left in /var/lib/apt/lists (read as local
// files) and the dpkg status of a debootstrap minbase tree (fixtures/minbase.sh). Our resolution must
// install exactly what `apt-get -s install` installs.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadAptWorld } from "../../backends/deb/apt-world.js";
import { MetadataCache } from "../../src/packages/metadata-cache.js";
import { resolve } from "../../src/packages/resolve.js";
import { fixture, haveTools, hostAptSources, run, scratch, skipOrFail } from "../helpers.js";

const LISTS = "/var/lib/apt/lists";
const CASES = [
  "strace",
  "jq",
  "htop",
  "curl",
  "vim",
  "git",
  "python3",
  "strace jq htop curl vim git python3",
];

/** apt-get -s with this host's own sources and lists, against another status file. */
function aptSet(status: string, cacheDir: string, pkgs: string[]): string[] {
  const r = run("apt-get", [
    "-s",
    "-o",
    `Dir::State::status=${status}`,
    "-o",
    `Dir::Cache=${cacheDir}`,
    "-o",
    "APT::Architecture=amd64",
    "install",
    ...pkgs,
  ]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split("\n")
    .filter((l) => l.startsWith("Inst "))
    .map((l) => {
      const m = /^Inst (\S+) (?:\[[^\]]*\] )?\((\S+)/.exec(l);
      return `${m?.[1]} ${m?.[2]}`;
    })
    .sort();
}

test("bookworm + minbase: our set equals apt-get -s install", { timeout: 90_000 }, async (t) => {
  if (!haveTools(t, "apt-get")) return;
  const hasLists =
    existsSync(LISTS) && readdirSync(LISTS).some((n) => n.includes("bookworm_main_binary-amd64_Packages"));
  if (!hasLists) return skipOrFail(t, `no bookworm indexes in ${LISTS}: run \`sudo apt-get update\``);
  const STATUS = join(fixture("minbase"), "var/lib/dpkg/status");
  const dir = scratch(t);
  const world = await loadAptWorld({
    dpkgStatus: STATUS,
    sourcesLists: hostAptSources(),
    repoUrls: [],
    keyrings: [],
    arch: "amd64",
    cache: new MetadataCache(join(dir, "md")),
    aptLists: LISTS,
  });
  for (const c of CASES) {
    const pkgs = c.split(" ");
    const tx = resolve(
      world,
      pkgs.map((name) => ({ name })),
      { recommends: true },
    );
    const ours = [...tx.install, ...tx.upgrade.map((u) => u.to)].map((v) => `${v.name} ${v.evr}`).sort();
    assert.equal(tx.remove.length, 0, c);
    assert.deepEqual(ours, aptSet(STATUS, join(dir, "aptcache"), pkgs), c);
  }
});
