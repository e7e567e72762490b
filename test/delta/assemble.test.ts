// Objects a delta part rebuilds from read sources and bsdiff patches are assembled, hashed and
// written on the thread pool (native/assemble.c): the right bytes land in the repo, in every mode,
// and a part that lies — a write beyond its source's end, a cut patch, a source the repo lacks, a
// symlink made from a source, a source that is not a regular file, bytes that hash to another
// name — fails with the object named and stages nothing.
import assert from "node:assert/strict";
import { createHash, randomBytes, randomInt } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { transactionTarget } from "../../src/delta/apply.js";
import { bsdiff } from "../../src/delta/bsdiff.js";
import { DeltaVerifyError, executePart } from "../../src/delta/execute.js";
import { OP, OpWriter } from "../../src/delta/ops.js";
import type { PartPayload } from "../../src/delta/part.js";
import { DeltaFormatError } from "../../src/delta/superblock.js";
import { contentChecksum, type FileMeta, S_IFLNK, S_IFREG } from "../../src/repo/objects.js";
import { Repo, type RepoMode } from "../../src/repo/repo.js";
import { Transaction } from "../../src/repo/transaction.js";
import { AS_PIECES, AS_SOURCE_EOF, type AssemblyPiece, assembleHash } from "../../src/util/object-job.js";
import { needRoot, scratch } from "../helpers.js";

const FILE: FileMeta = { uid: 0, gid: 0, mode: S_IFREG | 0o644, symlinkTarget: "", xattrs: [] };

/** A part: `blob` pieces appended by `put`, operations by `op`. */
class Part {
  private blob: Buffer[] = [];
  private length = 0;
  readonly ops = new OpWriter();
  put(b: Buffer): number {
    this.blob.push(b);
    this.length += b.length;
    return this.length - b.length;
  }
  payload(modes: FileMeta[]): PartPayload {
    return { modes, xattrs: [[]], blob: Buffer.concat(this.blob), ops: this.ops.toBuffer() };
  }
}

/** A repo of `mode` holding `source` as a committed content object; its checksum. */
async function repoWith(dir: string, mode: RepoMode, source: Buffer): Promise<[Repo, string]> {
  const repo = Repo.init(join(dir, mode), mode);
  const tx = await Transaction.begin(repo);
  const csum = await tx.writeContent(FILE, source);
  await tx.commit();
  return [repo, csum];
}

/** Every object file of the repo, and anything left in its tmp/. */
const contents = (repo: Repo) => [
  ...readdirSync(join(repo.path, "objects"), { recursive: true }),
  ...readdirSync(join(repo.path, "tmp")),
];

/** Runs `part` producing one object `expected` in a transaction; aborts it on failure. */
async function run(repo: Repo, expected: string, part: Part, modes = [FILE]): Promise<Buffer> {
  const tx = await Transaction.begin(repo);
  try {
    const produced = await executePart(
      [{ type: "file", checksum: expected }],
      part.payload(modes),
      transactionTarget(tx),
    );
    assert.deepEqual(produced, [{ type: "file", checksum: expected }]);
    const bytes = tx.loadFile(expected).read();
    await tx.commit();
    return bytes;
  } catch (e) {
    tx.abort();
    throw e;
  }
}

for (const mode of ["bare-user", "archive"] as RepoMode[]) {
  test(`objects assembled from blob, source and bsdiff pieces are stored right (${mode})`, async (t) => {
    const dir = scratch(t);
    const old = randomBytes(50_000);
    const [repo, src] = await repoWith(dir, mode, old);
    // Copied: 1000 bytes of the source, then 20 of the blob.
    const copied = Buffer.concat([old.subarray(4000, 5000), Buffer.from("twenty bytes of blob")]);
    const p = new Part();
    const at = p.put(Buffer.from(src, "hex"));
    const tail = p.put(Buffer.from("twenty bytes of blob"));
    p.ops.op(OP.setReadSource, at);
    p.ops.op(OP.open, 0, 0, copied.length);
    p.ops.op(OP.write, 1000, 4000);
    p.ops.op(OP.unsetReadSource);
    p.ops.op(OP.write, 20, tail);
    p.ops.op(OP.close);
    assert.ok((await run(repo, contentChecksum(FILE, copied), p)).equals(copied));
    // Patched: a bsdiff of the source.
    const edited = Buffer.concat([old.subarray(0, 20_000), randomBytes(300), old.subarray(20_000)]);
    const patch = bsdiff(old, edited);
    const q = new Part();
    q.ops.op(OP.setReadSource, q.put(Buffer.from(src, "hex")));
    q.ops.op(OP.open, 0, 0, edited.length);
    q.ops.op(OP.bspatch, q.put(patch), patch.length);
    q.ops.op(OP.close);
    q.ops.op(OP.unsetReadSource);
    assert.ok((await run(repo, contentChecksum(FILE, edited), q)).equals(edited));
  });
}

test("a part whose pieces lie fails naming the object and stages nothing", async (t) => {
  const dir = scratch(t);
  const old = randomBytes(2000);
  const [repo, src] = await repoWith(dir, "bare-user", old);
  const name = contentChecksum(FILE, Buffer.from("whatever"));
  const fails = async (part: Part, pattern: RegExp, modes?: FileMeta[], cls: unknown = DeltaFormatError) => {
    const before = contents(repo);
    await assert.rejects(
      run(repo, name, part, modes),
      (e: Error) => e instanceof (cls as typeof Error) && pattern.test(e.message),
    );
    assert.deepEqual(contents(repo), before);
  };
  const fromSource = (source: string, ops: (p: Part) => void, size: number) => {
    const p = new Part();
    p.ops.op(OP.setReadSource, p.put(Buffer.from(source, "hex")));
    p.ops.op(OP.open, 0, 0, size);
    ops(p);
    p.ops.op(OP.close);
    return p;
  };
  // A write beyond the source's end.
  await fails(
    fromSource(src, (p) => p.ops.op(OP.write, 500, 1800), 500),
    /Unexpected EOF reading the read source.*for object/,
  );
  // A patch cut short.
  const patch = bsdiff(old, Buffer.concat([old, old]));
  await fails(
    fromSource(src, (p) => p.ops.op(OP.bspatch, p.put(patch.subarray(0, 40)), 40), 4000),
    new RegExp(`bsdiff patch failed: the patch ends early for object ${name}`),
  );
  // A source the repo does not have.
  const absent = contentChecksum(FILE, Buffer.from("absent"));
  await fails(
    fromSource(absent, (p) => p.ops.op(OP.write, 10, 0), 10),
    new RegExp(`reads object ${absent}, which is not in the repository`),
  );
  // A symlink whose target would come from a source.
  const link: FileMeta = { ...FILE, mode: S_IFLNK | 0o777 };
  await fails(
    fromSource(src, (p) => p.ops.op(OP.write, 10, 0), 10),
    /symlink object .* is made from a read source/,
    [link],
  );
  // Right pieces, wrong name: nothing is written under it.
  await fails(
    fromSource(src, (p) => p.ops.op(OP.write, 8, 0), 8),
    new RegExp(`Corrupted object ${name}\\.file`),
    undefined,
    DeltaVerifyError,
  );
});

test("a read source that is a symlink object is not followed (bare)", async (t) => {
  if (!needRoot(t, "a bare repo")) return;
  const dir = scratch(t);
  const repo = Repo.init(join(dir, "bare"), "bare");
  const tx = await Transaction.begin(repo);
  const link = await tx.writeContent(
    { ...FILE, mode: S_IFLNK | 0o777, symlinkTarget: "/etc/passwd" },
    Buffer.alloc(0),
  );
  await tx.commit();
  const p = new Part();
  p.ops.op(OP.setReadSource, p.put(Buffer.from(link, "hex")));
  p.ops.op(OP.open, 0, 0, 10);
  p.ops.op(OP.write, 10, 0);
  p.ops.op(OP.close);
  const name = contentChecksum(FILE, Buffer.from("root:x:0:0"));
  const before = contents(repo);
  await assert.rejects(run(repo, name, p), /its read source is not a regular file for object/);
  assert.deepEqual(contents(repo), before);
});

test("assembleHash puts random pieces of the blob and of in-memory sources together as concatenation does", async () => {
  const blob = randomBytes(4096);
  const sources = [randomBytes(3000), randomBytes(10), Buffer.alloc(0)];
  const prefix = randomBytes(37);
  for (let round = 0; round < 200; round++) {
    const pieces: AssemblyPiece[] = [];
    const want: Buffer[] = [];
    for (let n = randomInt(0, 6); n > 0; n--) {
      const fromBlob = randomInt(2) === 0;
      const src = fromBlob ? blob : sources[randomInt(sources.length)]!;
      const offset = randomInt(src.length + 1);
      const length = randomInt(src.length - offset + 1);
      want.push(src.subarray(offset, offset + length));
      pieces.push(
        fromBlob
          ? { kind: "blob", offset, length }
          : { kind: "source", source: sources.indexOf(src), offset, length },
      );
    }
    const expected = Buffer.concat(want);
    const out = Buffer.alloc(expected.length);
    const digest = Buffer.alloc(32);
    assert.equal(await assembleHash(blob, pieces, sources, out, prefix, digest), 0, `round ${round}`);
    assert.ok(out.equals(expected), `round ${round}`);
    assert.equal(digest.toString("hex"), createHash("sha256").update(prefix).update(expected).digest("hex"));
  }
  // Beyond a source's end; pieces that overfill or underfill the output.
  const out = Buffer.alloc(8);
  const d = Buffer.alloc(32);
  const src = (offset: number, length: number): AssemblyPiece[] => [
    { kind: "source", source: 1, offset, length },
  ];
  assert.equal(await assembleHash(blob, src(5, 8), sources, out, prefix, d), AS_SOURCE_EOF);
  assert.equal(
    await assembleHash(blob, [{ kind: "blob", offset: 0, length: 9 }], sources, out, prefix, d),
    AS_PIECES,
  );
  assert.equal(
    await assembleHash(blob, [{ kind: "blob", offset: 0, length: 7 }], sources, out, prefix, d),
    AS_PIECES,
  );
  assert.equal(
    await assembleHash(blob, [{ kind: "blob", offset: 4090, length: 8 }], sources, out, prefix, d),
    AS_PIECES,
  );
  assert.equal(
    await assembleHash(
      blob,
      src(0, 8).map((p) => ({ ...p, source: 7 })),
      sources,
      out,
      prefix,
      d,
    ),
    AS_PIECES,
  );
});
