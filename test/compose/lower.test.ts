// The sandbox's lower layers: the delta of a layered tree over its base holds only what changed, and
// a tree that lost a path of the base (which a delta could only express with whiteouts) has none.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { MutableTree } from "../../src/repo/mtree.js";
import { serializeDirMeta } from "../../src/repo/objects.js";
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
  const expected = [
    "/usr/",
    "/usr/bin/",
    "/usr/bin/sh",
    "/usr/bin/strace",
    "/usr/lib/",
    "/usr/lib/new/",
    "/usr/lib/new/libx.so",
  ];
  // Compared by the names changed since the base's dirtrees were loaded, before and after a write.
  assert.deepEqual(paths(next.deltaOver(base.rootTree, tx)!), expected);
  const root = next.write(tx);
  assert.deepEqual(paths(next.deltaOver(base.rootTree, tx)!), expected);
  // The same tree loaded from its own dirtrees is compared against the base's dirtrees instead.
  assert.deepEqual(
    paths(MutableTree.fromTree(tx, root.tree, root.meta).deltaOver(base.rootTree, tx)!),
    expected,
  );
  // A directory's new metadata reaches the delta, which then holds that directory.
  const other = tx.writeMetadata("dirmeta", serializeDirMeta({ uid: 0, gid: 0, mode: 0o40700, xattrs: [] }));
  const meta2 = MutableTree.fromTree(tx, base.rootTree, base.rootMeta);
  meta2.ensureDir("usr/share/doc").setMetadata(other);
  const d2 = meta2.deltaOver(base.rootTree, tx)!;
  assert.deepEqual(paths(d2), ["/usr/", "/usr/share/", "/usr/share/doc/"]);
  const doc = d2.lookup("usr/share/doc");
  assert.equal(doc?.kind === "dir" ? doc.tree.metadataChecksum : null, other);
  // A path of the base missing from the layered tree needs a whiteout: no delta, either way.
  next.remove("usr/share/doc/readme");
  assert.equal(next.deltaOver(base.rootTree, tx), null);
  const gone = next.write(tx);
  assert.equal(MutableTree.fromTree(tx, gone.tree, gone.meta).deltaOver(base.rootTree, tx), null);
  // So does a file that became a directory.
  const typed = MutableTree.fromTree(tx, base.rootTree, base.rootMeta);
  typed.remove("usr/bin/sh");
  typed.setFile("usr/bin/sh/inner", tx.writeContentSync(meta, Buffer.from("x\n")));
  assert.equal(typed.deltaOver(base.rootTree, tx), null);
  // An unchanged tree has an empty delta.
  assert.deepEqual(
    paths(MutableTree.fromTree(tx, base.rootTree, base.rootMeta).deltaOver(base.rootTree, tx)!),
    [],
  );
});
