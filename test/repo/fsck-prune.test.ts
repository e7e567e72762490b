// fsck finds a flipped byte in every object kind, like `ostree fsck`; prune keeps exactly what
// `ostree prune` keeps on a copy of the same repo.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Repo } from "../../src/repo/repo.js";
import { listObjects } from "../../src/repo/traverse.js";
import { haveTools, ostree, scratch, sh, tsostree } from "../helpers.js";
import { buildRepo, ostreeCommit } from "./fixture.js";

function flipLastByte(path: string): void {
  const b = readFileSync(path);
  b[b.length - 1] ^= 0x01;
  writeFileSync(path, b);
}

/** [object checksum, type] of one object of each kind in the fixture's second commit. */
function victims(repoPath: string): [string, "file" | "dirtree" | "dirmeta" | "commit"][] {
  const line = (args: string[]) =>
    ostree([`--repo=${repoPath}`, ...args])
      .stdout.trim()
      .split(/\s+/);
  const commit = ostree([`--repo=${repoPath}`, "rev-parse", "test"]).stdout.trim();
  const dirLine = line(["ls", "-d", "-C", "test", "/a/b"]);
  return [
    [line(["ls", "-C", "test", "/usr/bin/tool"])[4]!, "file"],
    [dirLine[4]!, "dirtree"],
    [dirLine[5]!, "dirmeta"],
    [commit, "commit"],
  ];
}

for (const mode of ["bare", "bare-user", "archive"]) {
  test(`fsck: clean ${mode} repo passes, each corrupted object kind is named (${mode})`, (t) => {
    if (!haveTools(t, "ostree", "setfattr")) return;
    const dir = scratch(t);
    const { repo: clean } = buildRepo(dir, mode);
    const ok = tsostree([`--repo=${clean}`, "fsck"]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /object fsck of 2 commits completed successfully - no errors found/);
    for (const [csum, type] of victims(clean)) {
      const copy = join(dir, `copy-${type}`);
      sh("cp", ["-a", clean, copy]);
      flipLastByte(Repo.open(copy).objectPath(csum, type));
      const theirs = ostree([`--repo=${copy}`, "fsck"]);
      const ours = tsostree([`--repo=${copy}`, "fsck"]);
      assert.notEqual(theirs.status, 0, `ostree fsck should fail on ${type}`);
      assert.equal(ours.status, 1, `tsostree fsck should fail on ${type}`);
      assert.ok(ours.stderr.includes(csum), `${type}: ${ours.stderr}`);
      assert.match(ours.stderr, /error: Repository corruption encountered/);
    }
  });
}

test("fsck --delete removes the corrupt file object and marks its commit partial", (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const { repo } = buildRepo(scratch(t), "bare-user");
  const [[csum]] = victims(repo) as [[string, string]];
  flipLastByte(Repo.open(repo).objectPath(csum, "file"));
  const r = tsostree([`--repo=${repo}`, "fsck", "--delete"]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Marking commit as partial/);
  assert.equal(Repo.open(repo).hasObject(csum, "file"), false);
  // ostree agrees the commit is now partial and skips it.
  assert.match(ostree([`--repo=${repo}`, "fsck"]).stdout, /partial commits not verified/);
});

for (const flags of [["--refs-only", "--depth=0"], [], ["--refs-only"]]) {
  test(`prune ${flags.join(" ")} keeps the same objects as ostree prune`, (t) => {
    if (!haveTools(t, "ostree", "setfattr")) return;
    const dir = scratch(t);
    const { repo, tree } = buildRepo(dir, "archive");
    ostreeCommit(repo, "other", join(tree, "a"), "other");
    ostree([`--repo=${repo}`, "refs", "--delete", "other"]);
    const theirs = join(dir, "theirs");
    sh("cp", ["-a", repo, theirs]);
    const o = ostree([`--repo=${theirs}`, "prune", ...flags]);
    assert.equal(o.status, 0, o.stderr);
    const r = tsostree([`--repo=${repo}`, "prune", ...flags]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, o.stdout);
    assert.deepEqual(listObjects(Repo.open(repo)).sort(), listObjects(Repo.open(theirs)).sort());
  });
}

test("prune --delete-commit refuses a referenced commit", (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const { repo, second } = buildRepo(scratch(t), "archive");
  const r = tsostree([`--repo=${repo}`, "prune", `--delete-commit=${second}`]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /is referenced by 'test'/);
});

test("fsck on a missing object: same messages as ostree, commit marked partial", (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const dir = scratch(t);
  const { repo } = buildRepo(dir, "archive");
  const [[csum]] = victims(repo) as [[string, string]];
  const theirs = join(dir, "theirs");
  sh("cp", ["-a", repo, theirs]);
  for (const r of [repo, theirs]) sh("rm", [Repo.open(r).objectPath(csum, "file")]);
  const o = ostree([`--repo=${theirs}`, "fsck"]);
  const ours = tsostree([`--repo=${repo}`, "fsck"]);
  assert.equal(ours.status, 1);
  assert.equal(ours.stderr, o.stderr);
  assert.deepEqual(sh("ls", [join(repo, "state")]), sh("ls", [join(theirs, "state")]));
});

test("prune --keep-younger-than keeps the same commits as ostree", (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const dir = scratch(t);
  const { repo, tree } = buildRepo(dir, "archive");
  for (const [i, ts] of ["2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z", "2022-01-01T00:00:00Z"].entries()) {
    writeFileSync(join(tree, "gen"), String(i));
    ostreeCommit(repo, "hist", tree, `gen ${i}`, [`--timestamp=${ts}`]);
  }
  const theirs = join(dir, "theirs");
  sh("cp", ["-a", repo, theirs]);
  const args = ["prune", "--keep-younger-than=2020-06-01 00:00:00 +0000"];
  const o = ostree([`--repo=${theirs}`, ...args]);
  assert.equal(o.status, 0, o.stderr);
  const r = tsostree([`--repo=${repo}`, ...args]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, o.stdout);
  assert.deepEqual(listObjects(Repo.open(repo)).sort(), listObjects(Repo.open(theirs)).sort());
});

test("a corrupt dirtree fails the checkout and leaves no destination", async (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const dir = scratch(t);
  const { repo } = buildRepo(dir, "bare-user");
  const [, [tree]] = victims(repo) as [unknown, [string, string]];
  flipLastByte(Repo.open(repo).objectPath(tree, "dirtree"));
  const r = tsostree([`--repo=${repo}`, "checkout", "-U", "test", join(dir, "co")]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`Corrupted dirtree object ${tree}|invalid dirtree`));
  assert.equal(r.stderr.trim().split("\n").length, 1);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.includes("co")),
    [],
  );
});

test("prune waits for the exclusive repo lock (held shared here, as a running commit would)", async (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const { repo } = buildRepo(scratch(t), "archive");
  assert.equal(tsostree([`--repo=${repo}`, "config", "set", "core.lock-timeout-secs", "1"]).status, 0);
  const lock = await Repo.open(repo).lock("shared");
  try {
    const r = tsostree([`--repo=${repo}`, "prune"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /exclusive lock/);
    // The real ostree sees our lock too.
    assert.notEqual(ostree([`--repo=${repo}`, "prune"]).status, 0);
  } finally {
    lock.release();
  }
  assert.equal(tsostree([`--repo=${repo}`, "prune"]).status, 0);
});
