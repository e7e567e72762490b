// The dedicated dirtree reader accepts and rejects exactly what the generic normal-form codec
// (plus ostree's naming rules) does: every single-byte flip and truncation of real dirtrees.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { deserialize } from "../../src/gvariant/index.js";
import { readDirTree } from "../../src/repo/dirtree-reader.js";
import { compareNames, serializeDirTree, T_DIRTREE, validateName } from "../../src/repo/objects.js";
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
