// The dedicated dirtree reader accepts and rejects exactly what the generic normal-form codec
// (plus ostree's naming rules) does: every single-byte flip and truncation of real dirtrees.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { deserialize } from "../../src/gvariant/index.js";
import { readDirTree } from "../../src/repo/dirtree-reader.js";
import { compareNames, serializeDirTree, T_DIRTREE, validateName } from "../../src/repo/objects.js";
import { Repo } from "../../src/repo/repo.js";
import { CO_BARE_USER, CO_CODE_TREE_CORRUPT, CO_USER_MODE, checkoutTree } from "../../src/util/native.js";
import { haveTools, scratch } from "../helpers.js";
import { buildRepo } from "./fixture.js";

/** The reference: generic deserialize + the rules parseDirTree applied before the fast reader. */
function reference(b: Buffer): string {
  try {
    const [files, dirs] = deserialize(T_DIRTREE, b) as [[string, Buffer][], [string, Buffer, Buffer][]];
    const names = (l: [string, ...unknown[]][]) => l.map(([n]) => n);
    for (const list of [names(files), names(dirs)])
      list.forEach((n, i) => {
        validateName(n);
        if (i > 0 && compareNames(list[i - 1]!, n) >= 0) throw new Error("unsorted");
      });
    if (names(dirs).some((n) => names(files).includes(n))) throw new Error("both");
    if ([...files.map((f) => f[1]), ...dirs.flatMap((d) => [d[1], d[2]])].some((c) => c.length !== 32))
      throw new Error("csum");
    return JSON.stringify([
      files.map(([n, c]) => [n, c.toString("hex")]),
      dirs.map(([n, t, m]) => [n, t.toString("hex"), m.toString("hex")]),
    ]);
  } catch {
    return "ERR";
  }
}

function fast(b: Buffer): string {
  try {
    const t = readDirTree(b);
    return JSON.stringify([t.files, t.dirs]);
  } catch {
    return "ERR";
  }
}

test("readDirTree agrees with the generic codec on mutated and truncated dirtrees", (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const { repo } = buildRepo(scratch(t), "archive");
  const trees: Buffer[] = [serializeDirTree({ files: [], dirs: [] })];
  for (const p of readdirSync(join(repo, "objects")))
    for (const f of readdirSync(join(repo, "objects", p)))
      if (f.endsWith(".dirtree")) trees.push(readFileSync(join(repo, "objects", p, f)));
  assert.ok(trees.length > 10);
  let checked = 0;
  for (const tree of trees) {
    assert.notEqual(fast(tree), "ERR");
    assert.equal(fast(tree), reference(tree));
    for (let i = 0; i < tree.length; i++) {
      for (const x of [0x01, 0x80, 0xff]) {
        const m = Buffer.from(tree);
        m[i]! ^= x;
        assert.equal(fast(m), reference(m), `flip ${x} at ${i}`);
        checked++;
      }
      assert.equal(fast(tree.subarray(0, i)), reference(tree.subarray(0, i)), `truncated to ${i}`);
    }
  }
  assert.ok(checked > 1000);
});

test("the native tree checkout (checkout_tree.c) rejects exactly the dirtrees the reference rejects", async (t) => {
  if (!haveTools(t, "ostree", "setfattr")) return;
  const dir = scratch(t);
  const { repo: path, first } = buildRepo(dir, "bare-user");
  const repo = Repo.open(path);
  const objects = join(path, "objects");
  const rootMeta = repo.loadCommit(first).rootMeta;
  const trees: Buffer[] = [serializeDirTree({ files: [], dirs: [] })];
  for (const p of readdirSync(objects))
    for (const f of readdirSync(join(objects, p)))
      if (f.endsWith(".dirtree")) trees.push(readFileSync(join(objects, p, f)));
  /** Whether the native walk refuses `b` itself as a root dirtree (not its children or files). */
  const nativeRejects = async (b: Buffer): Promise<boolean> => {
    const csum = createHash("sha256").update(b).digest("hex");
    mkdirSync(join(objects, csum.slice(0, 2)), { recursive: true });
    writeFileSync(join(objects, csum.slice(0, 2), `${csum.slice(2)}.dirtree`), b);
    const dest = join(dir, "co");
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dest);
    const r = await checkoutTree(objects, csum, rootMeta, dest, CO_BARE_USER | CO_USER_MODE);
    // The root's own verdict is reported with the destination itself as the path.
    let at = 0;
    for (let k = 1; k < r.codes.length; k += 2) {
      const len = r.info.readUInt16LE(at + 32);
      const p = r.info.toString("utf8", at + 34, at + 34 + len);
      at += 34 + len;
      if (r.codes[k] === CO_CODE_TREE_CORRUPT && p === dest) return true;
    }
    return false;
  };
  let checked = 0;
  for (const tree of trees.filter((x) => x.length <= 400)) {
    assert.equal(await nativeRejects(tree), false);
    for (let i = 0; i < tree.length; i++) {
      for (const x of [0x01, 0xff]) {
        const m = Buffer.from(tree);
        m[i]! ^= x;
        assert.equal(await nativeRejects(m), reference(m) === "ERR", `flip ${x} at ${i}`);
        checked++;
      }
      const cut = tree.subarray(0, i);
      assert.equal(await nativeRejects(cut), reference(cut) === "ERR", `truncated to ${i}`);
    }
  }
  assert.ok(checked > 500, `${checked}`);
});
