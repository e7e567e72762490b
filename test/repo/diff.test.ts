// diffCommits compares dirtree checksums first: identical subtrees are never read.
import assert from "node:assert/strict";
import { test } from "node:test";
import { diffCommits } from "../../src/repo/diff.js";
import { Repo } from "../../src/repo/repo.js";
import { haveTools, ostree, scratch } from "../helpers.js";
import { buildRepo } from "./fixture.js";

test("diffCommits: ostree's answer, reading only the changed directories", (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const { repo: path } = buildRepo(scratch(t), "archive");
  const repo = Repo.open(path);
  const loaded: string[] = [];
  const load = repo.loadDirTree.bind(repo);
  repo.loadDirTree = (csum: string) => {
    loaded.push(csum);
    return load(csum);
  };
  const d = diffCommits(repo, "test^", "test");
  const lines = ostree([`--repo=${path}`, "diff", "test^", "test"])
    .stdout.trim()
    .split("\n");
  const pick = (c: string) => lines.filter((l) => l.startsWith(c)).map((l) => l.slice(5));
  assert.deepEqual(d.modified, pick("M"));
  assert.deepEqual(d.removed, pick("D"));
  assert.deepEqual(d.added, pick("A"));
  assert.ok(
    d.added.includes("/newdir/sub/f") && d.removed.includes("/hl2") && d.modified.includes("/usr/bin/hello"),
  );
  // Unchanged subtrees (/a/b/c, "dir with space", "ünï", /usr/share…) were never loaded.
  const unchanged = ostree([`--repo=${path}`, "ls", "-d", "-C", "test", "/a/b/c", "/ünï", "/usr/share"])
    .stdout.trim()
    .split("\n")
    .map((l) => l.split(/\s+/)[4]!);
  for (const c of unchanged) assert.ok(!loaded.includes(c), `loaded unchanged dirtree ${c}`);
  assert.deepEqual(diffCommits(repo, "test", "test"), { added: [], removed: [], modified: [] });
});
