// MutableTree: lazy loading, overlay semantics (later wins, like `ostree commit --tree=ref=A
// --tree=ref=B`), path edits, and write() serializing only what changed.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { writeCommitObject } from "../../src/repo/commit.js";
import { MutableTree, type TreeSource } from "../../src/repo/mtree.js";
import { Repo } from "../../src/repo/repo.js";
import { Transaction } from "../../src/repo/transaction.js";
import { haveTools, scratch } from "../helpers.js";
import { commitWith, initWith } from "./commit-fixture.js";

function makeTree(root: string, files: Record<string, string>): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    if (!path.endsWith("/")) writeFileSync(join(root, path), content);
  }
  return root;
}

/** A TreeSource that counts which dirtrees were read. */
function counting(repo: Repo): TreeSource & { loaded: string[] } {
  const loaded: string[] = [];
  return {
    loaded,
    loadDirTree: (c) => {
      loaded.push(c);
      return repo.loadDirTree(c);
    },
    loadCommit: (c) => repo.loadCommit(c),
  };
}

test("overlay of commits equals ostree's --tree=ref= overlay, reading only merged directories", async (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = scratch(t);
  const repoPath = join(dir, "repo");
  initWith("ostree", repoPath, "bare");
  const bigBase: Record<string, string> = {};
  for (let i = 0; i < 50; i++) bigBase[`usr/share/doc/pkg${i}/README`] = `doc ${i}\n`;
  makeTree(join(dir, "base"), { ...bigBase, "usr/bin/sh": "sh\n", "etc/conf": "a=1\n" });
  makeTree(join(dir, "layer"), { "usr/bin/tool": "tool\n", "etc/conf": "a=2\n", "opt/new/file": "n\n" });
  const base = commitWith("ostree", repoPath, ["-b", "base", "--timestamp=@1", join(dir, "base")]);
  const layer = commitWith("ostree", repoPath, ["-b", "layer", "--timestamp=@1", join(dir, "layer")]);
  const expected = commitWith("ostree", repoPath, [
    "--orphan",
    "--no-bindings",
    "--timestamp=@2",
    "--tree=ref=base",
    "--tree=ref=layer",
  ]);

  const repo = Repo.open(repoPath);
  const src = counting(repo);
  const mt = MutableTree.fromCommit(src, base);
  assert.equal(src.loaded.length, 0, "nothing is read up front");
  const l = repo.loadCommit(layer);
  mt.overlay(l.rootTree, l.rootMeta);
  // Root, usr, usr/bin, etc of the base and the layer's root, usr, usr/bin, etc, opt: never usr/share.
  const doc = repo.loadDirTree(
    repo
      .loadDirTree(repo.loadDirTree(repo.loadCommit(base).rootTree).dirs.find((d) => d[0] === "usr")![1])
      .dirs.find((d) => d[0] === "share")![1],
  );
  assert.ok(!src.loaded.some((c) => c === doc.dirs[0]![1]));
  assert.ok(src.loaded.length <= 8, `read ${src.loaded.length} dirtrees`);

  const tx = await Transaction.begin(repo);
  let written = 0;
  const sink = {
    writeMetadata: (type: "dirtree", b: Buffer) => {
      written++;
      return tx.writeMetadata(type, b);
    },
  };
  const root = mt.write(sink);
  assert.ok(written <= 4, `wrote ${written} dirtrees (root, usr, usr/bin, etc)`);
  const ours = writeCommitObject(tx, {
    rootTree: root.tree,
    rootMeta: root.meta,
    timestamp: 2,
    metadata: [],
  });
  await tx.commit();
  assert.equal(ours, expected);
});

test("path edits: ensureDir, setFile, remove, lookup; unchanged trees keep their checksums", async (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = scratch(t);
  const repoPath = join(dir, "repo");
  initWith("tsostree", repoPath, "bare");
  makeTree(join(dir, "a"), { "x/y/z": "z\n", "x/keep/k": "k\n", top: "t\n" });
  const a = commitWith("tsostree", repoPath, ["-b", "a", "--timestamp=@1", join(dir, "a")]);
  // The same edits made on disk, committed normally, are the oracle.
  makeTree(join(dir, "b"), { "x/y/z": "z\n", "x/keep/k": "k\n", "new/deep/f": "z\n" });
  const expected = commitWith("ostree", repoPath, [
    "--orphan",
    "--no-bindings",
    "--timestamp=@1",
    join(dir, "b"),
  ]);

  const repo = Repo.open(repoPath);
  const mt = MutableTree.fromCommit(repo, a);
  const z = mt.lookup("x/y/z");
  assert.equal(z?.kind, "file");
  const keep = mt.lookup("/x/keep");
  assert.equal(keep?.kind, "dir");
  const keepTree = keep?.kind === "dir" ? keep.tree.contentsChecksum : null;
  mt.ensureDir("new/deep");
  mt.setFile("new/deep/f", z?.kind === "file" ? z.checksum : "");
  assert.equal(mt.remove("top"), true);
  assert.equal(mt.remove("nope/x"), false);
  assert.throws(() => mt.setFile("x", "0".repeat(64)), /Can't replace directory with file/);
  assert.throws(() => mt.ensureDir("new/deep/f"), /Can't replace file with directory/);
  const tx = await Transaction.begin(repo);
  const root = mt.write(tx);
  assert.equal(keep?.kind === "dir" ? keep.tree.contentsChecksum : null, keepTree);
  const ours = writeCommitObject(tx, { rootTree: root.tree, rootMeta: root.meta, timestamp: 1 });
  await tx.commit();
  assert.equal(ours, expected);
});

test("an empty tree without metadata cannot be written", async (t) => {
  const dir = scratch(t);
  const repo = Repo.init(join(dir, "repo"), "bare");
  const tx = await Transaction.begin(repo);
  assert.throws(() => MutableTree.empty().write(tx), /no metadata/);
  tx.abort();
});
