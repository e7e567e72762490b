// The GVariant codec against bytes the real ostree wrote: every commit, dirtree and dirmeta object
// and the summary file of a repo built by ostree 2022.7 deserializes and re-serializes to the same
// bytes, and so do the object-level parsers. The tree includes directories big enough to need 2-
// and 4-byte framing offsets (a dirtree over 64 KiB).
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { deserialize, isNormalForm, serialize } from "../../src/gvariant/index.js";
import {
  parseCommit,
  parseDirMeta,
  parseDirTree,
  serializeCommit,
  serializeDirMeta,
  serializeDirTree,
  T_COMMIT,
  T_DIRMETA,
  T_DIRTREE,
} from "../../src/repo/objects.js";
import { haveTools, ostree, scratch } from "../helpers.js";

function buildRepo(dir: string): string {
  const tree = join(dir, "tree");
  // 2-byte offsets: a few hundred entries; 4-byte offsets: a dirtree over 64 KiB.
  mkdirSync(join(tree, "medium"), { recursive: true });
  mkdirSync(join(tree, "huge"), { recursive: true });
  mkdirSync(join(tree, "small/sub"), { recursive: true });
  writeFileSync(join(tree, "small/f"), "f\n");
  for (let i = 0; i < 300; i++) writeFileSync(join(tree, "medium", `m${i}`), `${i % 7}`);
  for (let i = 0; i < 1400; i++)
    writeFileSync(join(tree, "huge", `a-rather-long-file-name-number-${String(i).padStart(5, "0")}`), `${i}`);
  for (let i = 0; i < 200; i++) mkdirSync(join(tree, "huge", `subdir-${i}`));
  const repo = join(dir, "repo");
  const run = (args: string[]) => {
    const r = ostree([...args, `--repo=${repo}`]);
    assert.equal(r.status, 0, r.stderr);
  };
  run(["init", "--mode=archive"]);
  run([
    "commit",
    "-b",
    "main",
    "-s",
    "subject",
    "--add-metadata-string=version=1",
    "--add-metadata=n=[1,2]",
    tree,
  ]);
  run(["commit", "-b", "main", "-s", "second", "--timestamp=@5", tree]);
  run(["summary", "-u"]);
  return repo;
}

function objects(repo: string, ext: string): Buffer[] {
  const out: Buffer[] = [];
  for (const d of readdirSync(join(repo, "objects")))
    for (const f of readdirSync(join(repo, "objects", d)))
      if (f.endsWith(`.${ext}`)) out.push(readFileSync(join(repo, "objects", d, f)));
  return out;
}

/** Framing-offset width of a container of `size` bytes. */
const width = (size: number) => (size <= 0xff ? 1 : size <= 0xffff ? 2 : 4);

/** Built once for both tests (~1900 files take a while to commit on a busy machine). */
let shared: string | undefined;
const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});
const sharedRepo = () => {
  shared ??= buildRepo(scratch({ after: (fn: () => void) => cleanups.push(fn) }));
  return shared;
};

test("ostree's own metadata objects round-trip byte for byte (offset widths 1, 2 and 4)", (t) => {
  if (!haveTools(t, "ostree")) return;
  const repo = sharedRepo();
  const widths = new Set<number>();
  const dirtrees = objects(repo, "dirtree");
  for (const b of dirtrees) {
    assert.ok(isNormalForm(T_DIRTREE, b));
    assert.deepEqual(serialize(T_DIRTREE, deserialize(T_DIRTREE, b)), b);
    assert.deepEqual(serializeDirTree(parseDirTree(b)), b);
    widths.add(width(b.length));
  }
  assert.deepEqual([...widths].sort(), [1, 2, 4]);
  for (const b of objects(repo, "dirmeta")) {
    assert.deepEqual(serialize(T_DIRMETA, deserialize(T_DIRMETA, b)), b);
    assert.deepEqual(serializeDirMeta(parseDirMeta(b)), b);
  }
  const commits = objects(repo, "commit");
  assert.equal(commits.length, 2);
  for (const b of commits) {
    assert.deepEqual(serialize(T_COMMIT, deserialize(T_COMMIT, b)), b);
    assert.deepEqual(serializeCommit(parseCommit(b)), b);
  }
  const summary = readFileSync(join(repo, "summary"));
  const T_SUMMARY = "(a(s(taya{sv}))a{sv})";
  assert.ok(isNormalForm(T_SUMMARY, summary));
  assert.deepEqual(serialize(T_SUMMARY, deserialize(T_SUMMARY, summary)), summary);
});

test("non-normal variants of ostree's bytes are rejected", (t) => {
  if (!haveTools(t, "ostree")) return;
  const repo = sharedRepo();
  const big = objects(repo, "dirtree").sort((a, b) => b.length - a.length)[0]!;
  assert.ok(big.length > 0xffff);
  // Re-frame the last offset one byte short: offsets no longer line up.
  const bad = Buffer.from(big);
  bad.writeUInt8(bad[bad.length - 4]! ^ 1, bad.length - 4);
  assert.throws(() => deserialize(T_DIRTREE, bad));
  // Padding the body changes the offset width the size implies.
  assert.throws(() => deserialize(T_DIRTREE, Buffer.concat([big, Buffer.alloc(1)])));
});
