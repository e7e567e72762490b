// Oracle: a signed apt repository built at test time (dpkg-deb, apt-ftparchive, a throwaway gpg key)
// with a case for each relationship kind; our resolution must equal `apt-get -s install` against the
// same repository and status file. Then bad metadata, each refused with the previous cache kept.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gpgTestKey, haveTools, scratch, sh, tsostreePkg } from "../../helpers.js";
import { aptSim, clearsignRelease, ours, writeRelease } from "./apt-oracle.js";

const PACKAGES: Record<string, string> = {
  // plain and versioned depends, pre-depends
  app: "Version: 1.0\nPre-Depends: prelib\nDepends: libfoo (>= 2.0), tool-a | tool-b\nRecommends: extra\nSuggests: never",
  prelib: "Version: 1.0",
  "libfoo-old": "Package: libfoo\nVersion: 1.0",
  libfoo: "Version: 2.1",
  // first alternative not installable (needs something missing), second taken
  "tool-a": "Version: 1.0\nDepends: missing-thing",
  "tool-b": "Version: 1.0",
  extra: "Version: 1.0",
  never: "Version: 1.0",
  // virtual and versioned provides
  mta1: "Version: 1.0\nProvides: mail-agent",
  mta2: "Version: 1.0\nProvides: mail-agent",
  mailer: "Version: 1.0\nDepends: mail-agent",
  vprov: "Version: 1.0\nProvides: api (= 3)",
  vuser: "Version: 1.0\nDepends: api (>= 2)",
  // conflicts with / breaks an installed package
  newimpl: "Version: 2.0\nConflicts: oldimpl\nReplaces: oldimpl\nProvides: impl",
  breaker: "Version: 1.0\nBreaks: victim (<< 2.0)",
  victim: "Version: 2.0",
  // Multi-Arch: allowed satisfies :any
  interp: "Version: 1.0\nMulti-Arch: allowed",
  script: "Version: 1.0\nArchitecture: all\nDepends: interp:any",
  // unsolvable: needs a newer version than exists
  needy: "Version: 1.0\nDepends: libfoo (>= 9)",
};

const STATUS = [
  "Package: oldimpl\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\nMaintainer: t <t@e>\nDescription: x",
  "Package: victim\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\nMaintainer: t <t@e>\nDescription: x",
].join("\n\n");

const CASES = ["app", "mailer", "vuser", "newimpl", "breaker", "script", "app mailer vuser script"];

function buildRepo(dir: string): { repo: string; keyring: string; env: NodeJS.ProcessEnv } {
  const repo = join(dir, "repo");
  const pool = join(repo, "pool");
  mkdirSync(pool, { recursive: true });
  for (const [id, fields] of Object.entries(PACKAGES)) {
    const root = join(dir, "build", id);
    mkdirSync(join(root, "DEBIAN"), { recursive: true });
    const name = /^Package: /.test(fields) ? "" : `Package: ${id}\n`;
    const arch = fields.includes("Architecture:") ? "" : "Architecture: amd64\n";
    writeFileSync(
      join(root, "DEBIAN/control"),
      `${name}${fields}\n${arch}Maintainer: t <t@example.org>\nDescription: test ${id}\n`,
    );
    sh("dpkg-deb", ["--root-owner-group", "-Zgzip", "--build", root, join(pool, `${id}.deb`)]);
  }
  const dists = join(repo, "dists/test/main/binary-amd64");
  mkdirSync(dists, { recursive: true });
  const packages = sh("apt-ftparchive", ["packages", "pool"], { cwd: repo });
  writeFileSync(join(dists, "Packages"), packages);
  sh("gzip", ["-k", "-9", join(dists, "Packages")]);
  writeRelease(repo, [
    "APT::FTPArchive::Release::Components=main",
    "APT::FTPArchive::Release::Architectures=amd64",
  ]);
  const env = gpgTestKey(dir, "tsostree test <t@example.org>");
  const keyring = join(dir, "key.gpg");
  sh("gpg", ["--batch", "--output", keyring, "--export"], { env });
  clearsignRelease(repo, env);
  return { repo, keyring, env };
}

test("signed test repository: resolve equals apt-get -s install; bad metadata is refused", {
  timeout: 80_000,
}, async (t) => {
  if (!haveTools(t, "dpkg-deb", "apt-ftparchive", "apt-get", "gpg")) return;
  const dir = scratch(t);
  const { repo, keyring, env: gpgEnv } = buildRepo(dir);
  const sources = join(dir, "test.list");
  writeFileSync(sources, `deb [signed-by=${keyring}] file:${repo} test main\n`);
  const status = join(dir, "status");
  writeFileSync(status, `${STATUS}\n`);
  const cache = join(dir, "md");
  const base = ["--sources-list", sources, "--dpkg-status", status, "--cache-dir", cache];
  for (const c of CASES) {
    const pkgs = c.split(" ");
    const a = aptSim(join(dir, "apt"), sources, status, pkgs);
    assert.equal(a.status, 0, c);
    const o = ours([...base, ...pkgs]);
    assert.equal(o.status, 0, o.stderr);
    assert.deepEqual(o.set, a.set, c);
  }
  // --root: the tree's own deb822 sources (key inside the tree) and its dpkg status.
  const tree = join(dir, "tree");
  mkdirSync(join(tree, "etc/apt/sources.list.d"), { recursive: true });
  mkdirSync(join(tree, "etc/apt/keyrings"), { recursive: true });
  mkdirSync(join(tree, "var/lib/dpkg"), { recursive: true });
  writeFileSync(join(tree, "etc/apt/keyrings/test.gpg"), readFileSync(keyring));
  writeFileSync(
    join(tree, "etc/apt/sources.list.d/test.sources"),
    `Types: deb\nURIs: file:${repo}\nSuites: test\nComponents: main\nSigned-By: /etc/apt/keyrings/test.gpg\n`,
  );
  writeFileSync(join(tree, "var/lib/dpkg/status"), `${STATUS}\n`);
  const viaRoot = ours(["--root", tree, "app", "newimpl"]);
  assert.equal(viaRoot.status, 0, viaRoot.stderr);
  assert.deepEqual(viaRoot.set, aptSim(join(dir, "apt"), sources, status, ["app", "newimpl"]).set);
  // --no-install-recommends drops `extra`.
  assert.ok(!ours([...base, "--no-install-recommends", "app"]).set.includes("+extra 1.0"));
  // Unsolvable: exit 1 and a readable chain.
  const bad = tsostreePkg(["resolve", ...base, "needy"]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /needy depends on libfoo \(>= 9\) but only 2\.1 is available/);

  // Bad metadata: each refused, and the cache keeps what it had.
  const rel = join(repo, "dists/test/InRelease");
  const pk = join(repo, "dists/test/main/binary-amd64/Packages.gz");
  const goodRel = readFileSync(rel);
  const goodPk = readFileSync(pk);
  const refresh = () =>
    tsostreePkg(["refresh-md", "--force", "--sources-list", sources, "--cache-dir", cache]);
  assert.equal(refresh().status, 0);
  const snapshot = sh("sh", ["-c", `cd ${cache} && find . -type f | sort | xargs sha256sum`]);
  const expectRefused = (what: string, re: RegExp) => {
    const r = refresh();
    assert.equal(r.status, 1, `${what}: ${r.stdout}`);
    assert.match(r.stderr, re, what);
    assert.equal(
      sh("sh", ["-c", `cd ${cache} && find . -type f | sort | xargs sha256sum`]),
      snapshot,
      `${what}: cache changed`,
    );
  };
  writeFileSync(rel, goodRel.toString("utf8").replace(/Suite: test/, "Suite: tampered"));
  expectRefused("bad signature", /signature/i);
  writeFileSync(rel, goodRel);
  writeFileSync(pk, Buffer.concat([goodPk.subarray(0, goodPk.length - 10), Buffer.alloc(10)]));
  expectRefused("Packages hash differs from Release", /checksum mismatch/);
  writeFileSync(pk, goodPk);
  // A truncated index, correctly listed and signed: the hash passes, the parser refuses it.
  const trunc = readFileSync(join(repo, "dists/test/main/binary-amd64/Packages"), "utf8").replace(
    /^Package: app\n/m,
    "",
  );
  rmSync(join(repo, "dists/test/main/binary-amd64/Packages"));
  rmSync(pk);
  writeFileSync(join(repo, "dists/test/main/binary-amd64/Packages"), `Garbage line without colon\n${trunc}`);
  resign(repo, gpgEnv, "");
  expectRefused("malformed index", /malformed|corrupt/);
  // Expired Valid-Until.
  sh("gzip", ["-k", "-f", "-9", join(repo, "dists/test/main/binary-amd64/Packages")]);
  resign(repo, gpgEnv, "2000-01-01 00:00:00 UTC");
  expectRefused("expired Valid-Until", /expired/);
});

function resign(repo: string, env: NodeJS.ProcessEnv, validUntil: string): void {
  const extra = validUntil ? [`APT::FTPArchive::Release::Valid-Until=${validUntil}`] : [];
  writeRelease(repo, extra, (text) =>
    validUntil && !/Valid-Until/.test(text)
      ? text.replace(/^(Date: .*)$/m, `$1\nValid-Until: Sat, 01 Jan 2000 00:00:00 UTC`)
      : text,
  );
  clearsignRelease(repo, env);
}
