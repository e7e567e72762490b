// The Transaction API other modules build on: content from memory, from a path and from a stream
// give the same object in every mode; staging follows ostree's naming and locking; abort leaves
// nothing behind.
import assert from "node:assert/strict";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { test } from "node:test";
import { contentChecksum, type FileMeta, S_IFLNK, S_IFREG } from "../../src/repo/objects.js";
import { Repo, type RepoMode } from "../../src/repo/repo.js";
import { Transaction } from "../../src/repo/transaction.js";
import { haveTools, scratch } from "../helpers.js";
import { objectNames, ostreeFsck } from "./commit-fixture.js";

const reg = (mode = 0o644): FileMeta => ({
  uid: 0,
  gid: 0,
  mode: S_IFREG | mode,
  symlinkTarget: "",
  xattrs: [],
});

for (const mode of ["bare", "bare-user", "archive"] as RepoMode[]) {
  test(`writeContent from a buffer, a path and a stream agree (${mode})`, async (t) => {
    if (!haveTools(t, "ostree")) return;
    const dir = scratch(t);
    const repo = Repo.init(join(dir, "repo"), mode);
    const data = Buffer.alloc(3 << 20, 0);
    data.write("not all zero", 1 << 20);
    const src = join(dir, "src");
    writeFileSync(src, data);
    const expected = contentChecksum(reg(0o755), data);
    const tx = await Transaction.begin(repo);
    // Staged under tmp/staging-<bootid>-XXXXXX with a sibling lock file, like ostree.
    const names = readdirSync(join(repo.path, "tmp"));
    assert.ok(names.some((n) => /^staging-[0-9a-f-]{36}-\w{6}$/.test(n)));
    assert.ok(names.some((n) => /^staging-[0-9a-f-]{36}-\w{6}-lock$/.test(n)));
    assert.equal(await tx.writeContent(reg(0o755), data), expected);
    assert.equal(await tx.writeContent(reg(0o755), src), expected);
    const chunks = async function* () {
      for (let i = 0; i < data.length; i += 65536) yield data.subarray(i, i + 65536);
    };
    assert.equal(await tx.writeContent(reg(0o755), chunks()), expected);
    assert.equal(await tx.writeContent(reg(0o755), Readable.from(chunks()), data.length), expected);
    await assert.rejects(tx.writeContent(reg(0o755), chunks(), data.length + 1), /announced/);
    const link: FileMeta = { uid: 0, gid: 0, mode: S_IFLNK | 0o777, symlinkTarget: "target", xattrs: [] };
    const linkCsum = await tx.writeContent(link, Buffer.alloc(0));
    assert.equal(linkCsum, contentChecksum(link));
    assert.equal(tx.stats.contentWritten, 2);
    await tx.commit();
    assert.deepEqual(repo.loadFile(expected).read(), data);
    assert.equal(repo.loadFile(linkCsum).meta.symlinkTarget, "target");
    assert.equal(readdirSync(join(repo.path, "tmp")).filter((n) => n.startsWith("staging")).length, 0);
    const fsck = ostreeFsck(repo.path);
    assert.equal(fsck.status, 0, fsck.stderr);
  });
}

test("abort drops staged objects and releases the repo lock", async (t) => {
  const dir = scratch(t);
  const repo = Repo.init(join(dir, "repo"), "bare");
  const tx = await Transaction.begin(repo);
  await tx.writeContent(reg(), Buffer.from("x"));
  tx.writeMetadata("dirtree", Buffer.from([0]));
  tx.abort();
  assert.deepEqual(objectNames(repo.path), []);
  assert.equal(readdirSync(join(repo.path, "tmp")).length, 0);
  // The lock is free again: an exclusive taker gets it at once.
  const lock = await repo.lock("exclusive");
  lock.release();
  await assert.rejects(tx.writeContent(reg(), Buffer.from("y")), /already aborted/);
});

test("objects already in the repo are not written again", async (t) => {
  const dir = scratch(t);
  const repo = Repo.init(join(dir, "repo"), "bare");
  let tx = await Transaction.begin(repo);
  const c = await tx.writeContent(reg(), Buffer.from("same"));
  await tx.commit();
  tx = await Transaction.begin(repo);
  assert.equal(await tx.writeContent(reg(), Buffer.from("same")), c);
  assert.equal(tx.stats.contentWritten, 0);
  await tx.commit();
  assert.ok(existsSync(repo.objectPath(c, "file")));
});

test("scopes: a discarded unit takes back only what no other unit uses", async (t) => {
  const dir = scratch(t);
  const repo = Repo.init(join(dir, "repo"), "bare");
  const tx = await Transaction.begin(repo);
  const a = tx.scope();
  const b = tx.scope();
  // Interleaved, as concurrent package imports do: A stages "shared" first, B finds it staged.
  const shared = a.writeContentSync(reg(), Buffer.from("shared"));
  const onlyA = await a.writeContent(reg(), Buffer.from("only a"));
  const tree = a.writeMetadata("dirtree", Buffer.from([1]));
  assert.equal(b.writeContentSync(reg(), Buffer.from("shared")), shared);
  const onlyB = b.writeContentSync(reg(), Buffer.from("only b"));
  assert.deepEqual(b.staged, [[onlyB, "file"]]);
  a.discard();
  b.end();
  // A later unit that needs what A took back stages it again.
  const c = tx.scope();
  assert.equal(c.writeContentSync(reg(), Buffer.from("only a")), onlyA);
  c.discard();
  await tx.commit();
  const have = (csum: string, type: "file" | "dirtree") => existsSync(repo.objectPath(csum, type));
  assert.ok(have(shared, "file"), "the object B also uses stays");
  assert.ok(have(onlyB, "file"));
  assert.ok(!have(onlyA, "file"), "what only discarded units used is gone");
  assert.ok(!have(tree, "dirtree"));
});
