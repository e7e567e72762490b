// The sandbox's lower layers: the delta of a layered tree over its base holds only what changed, and
// a tree that lost a path of the base (which a delta could only express with whiteouts) has none.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { deltaTree } from "../../src/compose/lower.js";
import { MutableTree } from "../../src/repo/mtree.js";
import { resolveRev } from "../../src/repo/refs.js";
import { Repo } from "../../src/repo/repo.js";
import { Transaction } from "../../src/repo/transaction.js";
import { scratch, tsostree } from "../helpers.js";

function paths(t: MutableTree, prefix = ""): string[] {
  const { files, dirs } = t.entries();
  return [
    ...files.map(([n]) => `${prefix}/${n}`),
    ...dirs.flatMap(([n, d]) => [`${prefix}/${n}/`, ...paths(d, `${prefix}/${n}`)]),
  ].sort();
}

test("lower: the delta over the base has the new and changed files and their directories only", async (t) => {
  const dir = scratch(t);
  const tree = join(dir, "tree");
  for (const d of ["usr/bin", "usr/lib/big", "usr/share/doc", "etc"])
    mkdirSync(join(tree, d), { recursive: true });
  for (let i = 0; i < 50; i++) writeFileSync(join(tree, "usr/lib/big", `f${i}`), `${i}\n`);
  writeFileSync(join(tree, "usr/bin/sh"), "sh\n");
  writeFileSync(join(tree, "usr/share/doc/readme"), "doc\n");
  const repoPath = join(dir, "repo");
  assert.equal(tsostree(["init", `--repo=${repoPath}`, "--mode=bare-user"]).status, 0);
  assert.equal(tsostree(["commit", `--repo=${repoPath}`, "-b", "base", tree]).status, 0);
  const repo = Repo.open(repoPath);
  const tx = await Transaction.begin(repo);
  t.after(() => tx.abort());
  const base = repo.loadCommit(resolveRev(repo, "base") as string);
  const meta = { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: "", xattrs: [] };
  const next = MutableTree.fromTree(tx, base.rootTree, base.rootMeta);
  next.setFile("usr/bin/strace", tx.writeContentSync(meta, Buffer.from("strace\n")));
  next.setFile("usr/bin/sh", tx.writeContentSync(meta, Buffer.from("changed\n")));
  next.setFile("usr/lib/new/libx.so", tx.writeContentSync(meta, Buffer.from("x\n")));
  const root = next.write(tx);
  const delta = deltaTree(tx, root, { tree: base.rootTree, meta: base.rootMeta });
  assert.ok(delta);
  assert.deepEqual(paths(delta), [
    "/usr/",
    "/usr/bin/",
    "/usr/bin/sh",
    "/usr/bin/strace",
    "/usr/lib/",
    "/usr/lib/new/",
    "/usr/lib/new/libx.so",
  ]);
  // A path of the base missing from the layered tree needs a whiteout: no delta.
  next.remove("usr/share/doc/readme");
  assert.equal(deltaTree(tx, next.write(tx), { tree: base.rootTree, meta: base.rootMeta }), null);
});
