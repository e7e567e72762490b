// Bad repositories fail with one clear line and exit 1 without writing; usage errors exit 2.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { haveTools, ostree, scratch, sh, tsostree } from "../helpers.js";

function snapshot(dir: string): string {
  return sh("find", [dir, "-printf", "%P %s\\n"]).split("\n").sort().join("\n");
}

test("not a repo, unknown mode, unsupported repo_version: one line, exit 1, nothing written", (t) => {
  const dir = scratch(t);
  mkdirSync(join(dir, "notrepo"));
  tsostree(["init", `--repo=${join(dir, "weird")}`, "--mode=archive"]);
  tsostree(["init", `--repo=${join(dir, "v2")}`, "--mode=archive"]);
  const cfg = (name: string, from: string, to: string) =>
    writeFileSync(
      join(dir, name, "config"),
      readFileSync(join(dir, name, "config"), "utf8").replace(from, to),
    );
  cfg("weird", "mode=archive-z2", "mode=weird");
  cfg("v2", "repo_version=1", "repo_version=2");
  const before = snapshot(dir);
  for (const [repo, pattern] of [
    ["notrepo", /is not an OSTree repository/],
    ["missing", /is not an OSTree repository/],
    ["weird", /unknown repository mode 'weird'/],
    ["v2", /unsupported repo_version '2'/],
  ] as const) {
    for (const args of [
      ["refs"],
      ["log", "x"],
      ["checkout", "x", join(dir, "dest")],
      ["fsck"],
      ["prune"],
      ["summary", "-u"],
    ]) {
      const r = tsostree([`--repo=${join(dir, repo)}`, ...args]);
      assert.equal(r.status, 1, `${repo} ${args[0]}`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /^error: /);
    }
  }
  assert.equal(snapshot(dir), before);
});

test("usage errors exit 2", () => {
  assert.equal(tsostree(["frobnicate"]).status, 2);
  assert.equal(tsostree(["ls"]).status, 2);
  assert.equal(tsostree(["--version"]).status, 0);
});

test("init, config, refs --create/--delete, reset behave like ostree", (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = scratch(t);
  for (const mode of ["bare", "bare-user", "bare-user-only", "archive", "archive-z2"]) {
    const ours = join(dir, `ours-${mode}`);
    const theirs = join(dir, `theirs-${mode}`);
    assert.equal(tsostree(["init", `--repo=${ours}`, `--mode=${mode}`]).status, 0);
    assert.equal(ostree(["init", `--repo=${theirs}`, `--mode=${mode}`]).status, 0);
    assert.equal(readFileSync(join(ours, "config"), "utf8"), readFileSync(join(theirs, "config"), "utf8"));
    assert.deepEqual(
      readdirSync(ours).sort(),
      readdirSync(theirs)
        .sort()
        .filter((n) => n !== ".lock"),
    );
  }
  const repo = join(dir, "theirs-archive");
  assert.equal(tsostree([`--repo=${repo}`, "config", "set", "core.foo", "a b"]).status, 0);
  assert.equal(ostree([`--repo=${repo}`, "config", "get", "core.foo"]).stdout, "a b\n");
  assert.equal(tsostree([`--repo=${repo}`, "config", "--group=core", "get", "foo"]).stdout, "a b\n");
  const miss = tsostree([`--repo=${repo}`, "config", "get", "core.nope"]);
  assert.equal(miss.stderr, ostree([`--repo=${repo}`, "config", "get", "core.nope"]).stderr);
  const tree = join(dir, "tree");
  mkdirSync(tree);
  writeFileSync(join(tree, "f"), "1");
  const c1 = ostree(["commit", `--repo=${repo}`, "-b", "os/a", tree]).stdout.trim();
  writeFileSync(join(tree, "f"), "2");
  const c2 = ostree(["commit", `--repo=${repo}`, "-b", "os/a", tree]).stdout.trim();
  assert.equal(tsostree([`--repo=${repo}`, "refs", "--create=os/b", "os/a"]).status, 0);
  assert.equal(tsostree([`--repo=${repo}`, "refs", "--create=os/b", "os/a"]).status, 1);
  for (const args of [["refs"], ["refs", "os"], ["refs", "--list", "os"]])
    assert.equal(
      tsostree([`--repo=${repo}`, ...args]).stdout,
      ostree([`--repo=${repo}`, ...args])
        .stdout.split("\n")
        .sort()
        .join("\n")
        .trimStart() + "\n",
      args.join(" "),
    );
  assert.equal(tsostree([`--repo=${repo}`, "reset", "os/b", c1]).status, 0);
  assert.equal(ostree([`--repo=${repo}`, "rev-parse", "os/b"]).stdout.trim(), c1);
  assert.equal(tsostree([`--repo=${repo}`, "rev-parse", "os/a"]).stdout.trim(), c2);
  assert.equal(tsostree([`--repo=${repo}`, "refs", "--delete", "os/b"]).status, 0);
  assert.equal(ostree([`--repo=${repo}`, "refs"]).stdout, "os/a\n");
});
