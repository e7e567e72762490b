// Our checkout writes the same tree as `ostree checkout`, in every mode combination, and fails
// without leaving anything behind.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { checkout } from "../../src/repo/checkout.js";
import { Repo } from "../../src/repo/repo.js";
import { haveTools, ostree, scratch, sh, tsostree } from "../helpers.js";
import { buildRepo, ostreeCommit, ostreeInit } from "./fixture.js";
import { describeTree } from "./treewalk.js";

const cases: [string, string[], { userMode?: boolean }][] = [
  ["bare", [], {}],
  ["bare", ["-U"], { userMode: true }],
  ["bare-user", ["-U"], { userMode: true }],
  ["bare-user", [], {}],
  ["archive", [], {}],
  ["archive", ["-U"], { userMode: true }],
  ["bare-user-only", ["-U"], { userMode: true }],
];

for (const [mode, flags, opts] of cases) {
  test(`checkout ${mode} ${flags.join(" ")} equals ostree's`, async (t) => {
    if (!haveTools(t, "ostree", "setfattr")) return;
    const dir = scratch(t);
    const { repo } = buildRepo(dir, mode);
    const theirs = join(dir, "theirs");
    const r = ostree(["checkout", `--repo=${repo}`, ...flags, "test", theirs]);
    assert.equal(r.status, 0, r.stderr);
    const ours = join(dir, "ours");
    await checkout(Repo.open(repo), "test", ours, opts);
    assert.deepEqual(describeTree(ours), describeTree(theirs));
    // Directories carry mtime 0 like ostree's.
    assert.equal(statSync(join(ours, "usr")).mtimeMs, statSync(join(theirs, "usr")).mtimeMs);
  });
}

test("usr/share, checked out by a second walk beside the rest, and a cancelled checkout", async (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = scratch(t);
  const tree = join(dir, "tree");
  for (const d of ["usr/bin", "usr/share/doc/pkg", "usr/share/man/man1", "usr/lib", "etc"])
    mkdirSync(join(tree, d), { recursive: true });
  for (let i = 0; i < 40; i++) writeFileSync(join(tree, "usr/share/doc/pkg", `f${i}`), `doc ${i}\n`);
  writeFileSync(join(tree, "usr/share/top"), "top\n");
  writeFileSync(join(tree, "usr/share/man/man1/x.1"), "man\n");
  writeFileSync(join(tree, "usr/bin/x"), "#!/bin/sh\n");
  writeFileSync(join(tree, "usr/lib/libx.so"), "elf\n");
  writeFileSync(join(tree, "etc/x.conf"), "conf\n");
  chmodSync(join(tree, "usr/share"), 0o750);
  chmodSync(join(tree, "usr"), 0o711);
  const repo = join(dir, "repo");
  ostreeInit(repo, "bare-user");
  ostreeCommit(repo, "test", tree, "share");
  const theirs = join(dir, "theirs");
  assert.equal(ostree(["checkout", `--repo=${repo}`, "-U", "test", theirs]).status, 0);
  const ours = join(dir, "ours");
  await checkout(Repo.open(repo), "test", ours, { userMode: true });
  assert.deepEqual(describeTree(ours), describeTree(theirs));
  assert.ok(statSync(join(ours, "usr/share/doc/pkg/f1")).nlink >= 2);
  // Aborted while the walk runs (the native jobs are queued when checkout() returns): it stops
  // where it is with the error, what it made left for the caller.
  for (let i = 0; i < 2000; i++) writeFileSync(join(tree, "usr/share/doc/pkg", `g${i}`), `more ${i}\n`);
  ostreeCommit(repo, "big", tree, "many");
  const into = join(dir, "into");
  mkdirSync(into);
  const stop = new AbortController();
  const running = checkout(Repo.open(repo), "big", into, {
    userMode: true,
    union: true,
    intoEmpty: true,
    signal: stop.signal,
  });
  stop.abort();
  await assert.rejects(running, /cancelled/);
  assert.ok(!existsSync(join(into, "usr/share/doc/pkg/g1999")));
  // Aborted before it starts: nothing is written.
  const abort = new AbortController();
  abort.abort();
  const none = join(dir, "none");
  await assert.rejects(
    checkout(Repo.open(repo), "test", none, { userMode: true, signal: abort.signal }),
    /cancelled/,
  );
  assert.equal(existsSync(none), false);
});

test("hardlink checkout shares inodes with the repo; subpath and union modes", async (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const dir = scratch(t);
  const { repo: path } = buildRepo(dir, "bare-user");
  const repo = Repo.open(path);
  const dest = join(dir, "co");
  await checkout(repo, "test", dest, { userMode: true, requireHardlinks: true });
  assert.ok(statSync(join(dest, "usr/bin/tool")).nlink >= 2);
  // Like ostree, empty files are copied so that they never share one inode.
  assert.equal(statSync(join(dest, "empty")).nlink, 1);
  const sub = join(dir, "sub");
  await checkout(repo, "test", sub, { userMode: true, subpath: "/usr/bin" });
  assert.deepEqual(readdirSync(sub).sort(), ["hello", "hi", "tool"]);
  await assert.rejects(checkout(repo, "test", sub, { userMode: true }), /already exists/);
  await checkout(repo, "test^", sub, { userMode: true, subpath: "/usr/bin", union: true });
  await checkout(repo, "test", sub, { userMode: true, subpath: "/a", unionAdd: true });
  assert.ok(existsSync(join(sub, "b/c/d/e")));
  await checkout(repo, "test", join(dir, "one"), { userMode: true, subpath: "/usr/bin/tool" });
  assert.deepEqual(readdirSync(join(dir, "one")), ["tool"]);
  await checkout(repo, "test", join(dir, "none"), { subpath: "/nope", allowNoent: true });
  assert.equal(existsSync(join(dir, "none")), false);
  await assert.rejects(
    checkout(repo, "test", join(dir, "h"), { requireHardlinks: true }),
    /user checkout mode/,
  );
});

test("a missing object fails the checkout and leaves no destination", async (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const dir = scratch(t);
  const { repo: path } = buildRepo(dir, "archive");
  const repo = Repo.open(path);
  const files = ostree(["ls", `--repo=${path}`, "-C", "test", "/usr/bin/tool"])
    .stdout.trim()
    .split(/\s+/);
  const csum = files[4]!;
  unlinkSync(repo.objectPath(csum, "file"));
  const dest = join(dir, "co");
  await assert.rejects(checkout(repo, "test", dest), new RegExp(`${csum}.file not found`));
  assert.equal(existsSync(dest), false);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.startsWith(".co")),
    [],
  );
});

test("export writes the entries ostree export writes", async (t) => {
  if (!haveTools(t, "ostree", "setfattr", "tar")) return;
  const dir = scratch(t);
  const { repo } = buildRepo(dir, "archive");
  for (const sub of [[], ["--subpath=/usr"]]) {
    const theirs = join(dir, "theirs.tar");
    const ours = join(dir, "ours.tar");
    assert.equal(ostree(["export", `--repo=${repo}`, `--output=${theirs}`, ...sub, "test"]).status, 0);
    const r = tsostree(["export", `--repo=${repo}`, `--output=${ours}`, ...sub, "test"]);
    assert.equal(r.status, 0, r.stderr);
    const list = (f: string) => sh("tar", ["--numeric-owner", "-tvf", f]).split("\n").sort();
    assert.deepEqual(list(ours), list(theirs));
    const content = (f: string) => sh("tar", ["-xOf", f, sub.length ? "bin/hello" : "usr/bin/hello"]);
    assert.equal(content(ours), content(theirs));
  }
});

test("a hardlink checkout whose plan runs in many chunks fails cleanly on a missing object", async (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = scratch(t);
  // Enough entries for several native chunks, and the missing object near the end of the walk.
  const tree = join(dir, "tree");
  for (let d = 0; d < 8; d++) {
    mkdirSync(join(tree, `d${d}`), { recursive: true });
    for (let f = 0; f < 150; f++) writeFileSync(join(tree, `d${d}`, `f${f}`), `${d}/${f}\n`);
  }
  const repo = join(dir, "repo");
  assert.equal(ostree(["init", `--repo=${repo}`, "--mode=bare"]).status, 0);
  const c = ostree(["commit", `--repo=${repo}`, "-b", "test", "--no-xattrs", tree]);
  assert.equal(c.status, 0, c.stderr);
  const good = join(dir, "good");
  const r = tsostree([`--repo=${repo}`, "checkout", "-H", "test", good]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(statSync(join(good, "d7/f149")).nlink, 2);
  assert.equal(statSync(join(good, "d3")).mtimeMs, 0);
  const csum = ostree(["ls", `--repo=${repo}`, "-C", "test", "/d7/f100"])
    .stdout.trim()
    .split(/\s+/)[4]!;
  unlinkSync(Repo.open(repo).objectPath(csum, "file"));
  const bad = tsostree([`--repo=${repo}`, "checkout", "-H", "test", join(dir, "bad")]);
  assert.equal(bad.status, 1);
  assert.match(
    bad.stderr,
    new RegExp(`checkout of test into .*bad failed, nothing was written: .*${csum}.file not found`),
  );
  assert.deepEqual(readdirSync(dir).sort(), ["good", "repo", "tree"]);
});

test("bare-user -U: symlinks and empty files are created, the rest linked, a missing object reported", async (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const dir = scratch(t);
  const { repo: path } = buildRepo(dir, "bare-user");
  const viaCli = join(dir, "w");
  const r = tsostree([`--repo=${path}`, "checkout", "-U", "test", viaCli]);
  assert.equal(r.status, 0, r.stderr);
  const theirs = join(dir, "i");
  assert.equal(ostree(["checkout", `--repo=${path}`, "-U", "test", theirs]).status, 0);
  assert.deepEqual(describeTree(viaCli), describeTree(theirs));
  assert.equal(statSync(join(viaCli, "empty")).nlink, 1);
  const csum = ostree(["ls", `--repo=${path}`, "-C", "test", "/usr/bin/tool"])
    .stdout.trim()
    .split(/\s+/)[4]!;
  unlinkSync(Repo.open(path).objectPath(csum, "file"));
  const before = readdirSync(dir).sort();
  const bad = tsostree([`--repo=${path}`, "checkout", "-U", "test", join(dir, "bad")]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, new RegExp(`${csum}.file not found`));
  assert.deepEqual(readdirSync(dir).sort(), before);
});
