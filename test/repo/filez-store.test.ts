// Storing pulled `.filez` objects (Transaction.writeFilez → storeFilez in pooled-store.ts: inflated,
// hashed and written on the native helper's threads): every object of an archive repo the real ostree
// wrote is stored exactly as `ostree pull-local` stores it (mode, owner, size, bytes, xattrs, mtime)
// in every repo mode; anything that is not the object it is named as is refused and leaves nothing.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  chownSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { deflateRawSync } from "node:zlib";
import { CorruptObjectError } from "../../src/repo/archive-object.js";
import { archiveFileHeader, contentChecksum, type FileMeta, S_IFREG } from "../../src/repo/objects.js";
import { Repo, type RepoMode } from "../../src/repo/repo.js";
import { Transaction } from "../../src/repo/transaction.js";
import { getXattr, listXattrs } from "../../src/util/native.js";
import { IH_EXISTS, IH_MISMATCH, inflateHash } from "../../src/util/object-job.js";
import { haveTools, ostree, scratch } from "../helpers.js";
import { buildTree, ostreeCommit, ostreeInit } from "./fixture.js";

/** checksum → path of every content object under `repo`/objects. */
function contentObjects(repo: string, ext: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const xx of readdirSync(join(repo, "objects")))
    for (const f of readdirSync(join(repo, "objects", xx)))
      if (f.endsWith(`.${ext}`)) out.set(xx + f.slice(0, -(ext.length + 1)), join(repo, "objects", xx, f));
  return out;
}

/** What an object file is; its mtime is 0 unless it is an archive object or a symlink (their write time). */
function describe(path: string, archive: boolean) {
  const st = lstatSync(path);
  const xattrs = listXattrs(path)
    .filter((n) => !n.startsWith("security.selinux"))
    .sort()
    .map((n) => `${n}=${getXattr(path, n)?.toString("hex")}`);
  return {
    mode: st.mode.toString(8),
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    mtime: archive || st.isSymbolicLink() ? undefined : st.mtimeMs,
    bytes: st.isSymbolicLink() ? `-> ${readlinkSync(path)}` : readFileSync(path).toString("hex"),
    xattrs,
  };
}

test("pulled .filez objects are stored as ostree pull-local stores them, in every mode", async (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const dir = scratch(t);
  const tree = join(dir, "tree");
  buildTree(tree);
  writeFileSync(join(tree, "big"), randomBytes(600_000)); // past the writeback threshold
  writeFileSync(join(tree, "zeros"), Buffer.alloc(70_000));
  const root = process.getuid?.() === 0;
  if (root) {
    writeFileSync(join(tree, "owned"), "someone else's\n");
    chownSync(join(tree, "owned"), 1234, 5678);
  }
  const src = join(dir, "src");
  ostreeInit(src, "archive");
  ostreeCommit(src, "main", tree);
  const filez = contentObjects(src, "filez");
  assert.ok(filez.size >= 14, `${filez.size} objects`);
  const modes: RepoMode[] = root ? ["bare", "bare-user", "archive"] : ["bare-user", "archive"];
  for (const mode of modes) {
    const oracle = join(dir, `oracle-${mode}`);
    ostreeInit(oracle, mode);
    const pulled = ostree(["pull-local", `--repo=${oracle}`, src, "main"]);
    assert.equal(pulled.status, 0, pulled.stderr);
    const repo = Repo.init(join(dir, `ours-${mode}`), mode);
    const tx = await Transaction.begin(repo);
    // All at once, as a pull hands them over: they are stored concurrently.
    const done = await Promise.all([...filez].map(([csum, p]) => tx.writeFilez(readFileSync(p), csum)));
    assert.deepEqual(done, [...filez.keys()]);
    // A second copy of one is found staged, not written twice.
    const [first, firstPath] = [...filez][0]!;
    assert.equal(await tx.writeFilez(readFileSync(firstPath), first), first);
    await tx.commit();
    const ext = mode === "archive" ? "filez" : "file";
    const ours = contentObjects(repo.path, ext);
    const theirs = contentObjects(oracle, ext);
    assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort(), mode);
    const archive = mode === "archive";
    for (const [csum, p] of ours)
      assert.deepEqual(describe(p, archive), describe(theirs.get(csum)!, archive), `${mode} ${csum}`);
  }
});

/** A `.filez` for `data` with `meta`, whose header may lie about the size. */
function filezOf(data: Buffer, meta: FileMeta, announced = data.length): Buffer {
  return Buffer.concat([archiveFileHeader(meta, announced), deflateRawSync(data)]);
}

test("a .filez that is not the object it is named as is refused and leaves nothing staged", async (t) => {
  const dir = scratch(t);
  const repo = Repo.init(join(dir, "repo"), "bare-user");
  const meta: FileMeta = { uid: 0, gid: 0, mode: S_IFREG | 0o644, symlinkTarget: "", xattrs: [] };
  const data = randomBytes(50_000);
  const good = filezOf(data, meta);
  const name = contentChecksum(meta, data);
  const tx = await Transaction.begin(repo);
  await assert.rejects(
    tx.writeFilez(Buffer.from(good), "0".repeat(64)),
    /has checksum [0-9a-f]{64}: corrupt/,
  );
  const flipped = Buffer.from(good);
  flipped[flipped.length - 100]! ^= 0x55;
  const cases: [string, Buffer, RegExp][] = [
    ["a flipped payload byte", flipped, /does not inflate|checksum/],
    ["a truncated payload", good.subarray(0, good.length - 10), /does not inflate|fewer bytes/],
    ["a header announcing less", filezOf(data, meta, data.length - 1), /more bytes than its header says/],
    ["a header announcing more", filezOf(data, meta, data.length + 1), /fewer bytes than its header says/],
    [
      "garbage after the header",
      Buffer.concat([archiveFileHeader(meta, 10), Buffer.from("garbage!!")]),
      /does not inflate/,
    ],
  ];
  for (const [what, bytes, re] of cases)
    await assert.rejects(
      tx.writeFilez(bytes, name),
      (e: Error) => e instanceof CorruptObjectError && re.test(e.message),
      what,
    );
  assert.deepEqual(readdirSync(tx.store.target.stagingDir), [], "nothing staged");
  assert.equal(await tx.writeFilez(good, name), name);
  await tx.commit();
  assert.ok(existsSync(join(repo.path, "objects", name.slice(0, 2), `${name.slice(2)}.file`)));
});

test("inflateHash agrees with zlib and SHA-256, writes only the expected object, never over a file", async (t) => {
  const dir = scratch(t);
  const { createHash } = await import("node:crypto");
  for (const size of [1, 1000, 65_536, 3 << 20]) {
    const data = randomBytes(size);
    const prefix = Buffer.from("prefix");
    const digest = Buffer.alloc(32);
    const out = Buffer.alloc(size);
    const expected = createHash("sha256").update(prefix).update(data).digest();
    const path = join(dir, `obj-${size}`);
    const write = (exp: Buffer) => ({
      expected: exp,
      path,
      source: null,
      mode: 0o640,
      owner: null,
      chmod: true,
      xattrs: [["user.test", Buffer.from("v")]] as [string, Buffer][],
      mtimeZero: true,
      writeback: true,
    });
    assert.equal(
      await inflateHash(deflateRawSync(data), out, prefix, digest, write(Buffer.alloc(32))),
      IH_MISMATCH,
    );
    assert.ok(digest.equals(expected) && out.equals(data), `size ${size}`);
    assert.equal(existsSync(path), false, "a mismatch writes nothing");
    assert.equal(await inflateHash(deflateRawSync(data), out, prefix, digest, write(expected)), 0);
    const st = lstatSync(path);
    assert.equal(st.mode & 0o7777, 0o640);
    assert.equal(st.mtimeMs, 0);
    assert.ok(readFileSync(path).equals(data));
    assert.equal(getXattr(path, "user.test")?.toString(), "v");
    assert.equal(await inflateHash(deflateRawSync(data), out, prefix, digest, write(expected)), IH_EXISTS);
  }
});
