// What a package commit carries for layering (format 2): script bodies, triggers and the native
// database record, checked against what dpkg-deb and rpm themselves extract and store.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { splitHeader } from "../../backends/rpm/header-write.js";
import { importPackage, PACKAGE_COMMIT_FORMAT } from "../../src/packages/import.js";
import { writeCommitObject } from "../../src/repo/commit.js";
import { metadataGet } from "../../src/repo/objects.js";
import { Repo } from "../../src/repo/repo.js";
import { Transaction } from "../../src/repo/transaction.js";
import { buildDeb, demoTree } from "../backends/deb/build.js";
import { buildRpm } from "../backends/rpm/build.js";
import { rpmdbBlobs, rpmJustDb } from "../backends/rpm/rpmdb-oracle.js";
import { haveTools, ostree, scratch, sh } from "../helpers.js";

function initRepo(dir: string): Repo {
  const path = join(dir, "repo");
  assert.equal(ostree(["init", `--repo=${path}`, "--mode=bare-user"]).status, 0);
  return Repo.open(path);
}

/** The demo .deb, built by dpkg-deb and imported into a fresh repo. */
async function importedDemoDeb(t: TestContext) {
  const dir = scratch(t);
  demoTree(dir);
  const deb = buildDeb(dir, "xz");
  const repo = initRepo(dir);
  return { dir, deb, repo, r: await importPackage(repo, deb) };
}

function meta(repo: Repo, commit: string, key: string): unknown {
  return metadataGet(repo.loadCommit(commit).metadata, key)?.value;
}

test("a .deb commit carries every control member, the script bodies and the triggers", async (t) => {
  if (!haveTools(t, "dpkg-deb", "ostree")) return;
  const { dir, deb, repo, r } = await importedDemoDeb(t);
  assert.equal(meta(repo, r.commit, "tsostree.pkg.format"), PACKAGE_COMMIT_FORMAT);
  // dpkg-deb -e extracts the control area exactly as dpkg copies it into its info database.
  const ctl = join(dir, "control");
  sh("dpkg-deb", ["-e", deb, ctl]);
  const want = readdirSync(ctl)
    .sort()
    .map((n) => [n, readFileSync(join(ctl, n))]);
  assert.deepEqual(meta(repo, r.commit, "tsostree.pkg.deb-control"), want);
  const bodies = meta(repo, r.commit, "tsostree.pkg.script-bodies") as string[][];
  assert.deepEqual(
    bodies.map((b) => b[0]),
    ["preinst", "postinst", "prerm", "postrm", "config"],
  );
  for (const [phase, interpreter, body] of bodies) {
    assert.equal(interpreter, "", `${phase}: dpkg runs the file itself`);
    assert.equal(body, readFileSync(join(ctl, phase!), "utf8"));
  }
  assert.deepEqual(meta(repo, r.commit, "tsostree.pkg.triggers"), [
    ["interest-noawait", "/usr/share/tso-demo", "", ""],
    ["activate-noawait", "ldconfig", "", ""],
  ]);
  assert.equal(meta(repo, r.commit, "tsostree.pkg.rpm-header"), undefined);
});

test("an .rpm commit carries the header rpm stores in its rpmdb, the scriptlets and the triggers", async (t) => {
  if (!haveTools(t, "rpmbuild", "rpm", "ostree")) return;
  const dir = scratch(t);
  const rpm = buildRpm(dir, "gzip");
  const repo = initRepo(dir);
  const r = await importPackage(repo, rpm);
  const ours = meta(repo, r.commit, "tsostree.pkg.rpm-header") as Buffer;
  // rpm's own blob: the same bytes plus the install-time tags it appends.
  const root = join(dir, "root");
  rpmJustDb(root, [rpm]);
  const [theirs] = rpmdbBlobs(root);
  const installTags = new Set([1008, 1029, 1127, 1128]);
  const split = splitHeader(theirs!);
  const shared = split.appended.filter((e) => !installTags.has(e.tag));
  assert.deepEqual(
    splitHeader(ours).appended.map((e) => [e.tag, e.data.toString("hex")]),
    shared.map((e) => [e.tag, e.data.toString("hex")]),
    "the merged signature tags",
  );
  assert.ok(splitHeader(ours).regionData.equals(split.regionData), "the immutable region, verbatim");
  assert.equal(meta(repo, r.commit, "tsostree.pkg.deb-control"), undefined);
  const bodies = meta(repo, r.commit, "tsostree.pkg.script-bodies") as string[][];
  assert.deepEqual(
    bodies.find((b) => b[0] === "pretrans"),
    ["pretrans", "<lua>", 'print("pretrans")'],
  );
  assert.deepEqual(
    bodies.find((b) => b[0] === "post"),
    ["post", "/bin/bash", 'echo post "$1"'],
  );
  const triggers = meta(repo, r.commit, "tsostree.pkg.triggers") as string[][];
  assert.deepEqual(
    triggers.find((x) => x[0] === "triggerin"),
    ["triggerin", "bash >= 5", "/bin/sh", "echo trigger-bash"],
  );
  assert.deepEqual(
    triggers.filter((x) => x[0] === "filetriggerin").map((x) => x[1]),
    ["/usr/lib/tso-demo", "/usr/share/tso-demo"],
  );
});

test("a package whose commit predates format 2 is imported again, not skipped", async (t) => {
  if (!haveTools(t, "dpkg-deb", "ostree")) return;
  const { deb, repo, r: first } = await importedDemoDeb(t);
  // Rewrite the ref to a commit like the ones imported before layering: no format key.
  const c = repo.loadCommit(first.commit);
  const tx = await Transaction.begin(repo);
  const old = writeCommitObject(tx, {
    subject: "old",
    timestamp: 0,
    metadata: c.metadata.filter(([k]) => k === "tsostree.pkg.sha256" || k === "tsostree.pkg.name"),
    rootTree: c.rootTree,
    rootMeta: c.rootMeta,
  });
  tx.setRef(first.ref, old);
  await tx.commit();
  const again = await importPackage(repo, deb);
  assert.equal(again.unchanged, false);
  assert.equal(again.commit, first.commit, "the same package gives the same commit");
  assert.equal((await importPackage(repo, deb)).unchanged, true);
});
