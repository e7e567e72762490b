// The pull's chain of transactions (src/pull/writer.ts): while a batch commits in the background,
// writes go on into the next one, and every object written so far is found (has) and readable
// (readMetadata) wherever it is at that moment — its batch's staging dir or objects/ — and what was
// never written is not.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BatchWriter } from "../../src/pull/writer.js";
import { serializeDirTree } from "../../src/repo/objects.js";
import { Repo } from "../../src/repo/repo.js";
import { scratch } from "../helpers.js";

const stagingDirs = (repo: Repo) =>
  readdirSync(join(repo.path, "tmp")).filter((n) => /^staging-.*-\w{6}$/.test(n));

test("objects stay visible while their batch commits in the background; finish commits every batch", async (t) => {
  const repo = Repo.init(join(scratch(t), "repo"), "bare-user");
  const w = await BatchWriter.open(repo, { objects: 7, ms: 60_000 });
  const written = new Map<string, Buffer>();
  const files: string[] = [];
  const missing = randomBytes(32).toString("hex");
  let sawTwoBatches = false;
  let committedEarly = false;
  for (let i = 0; i < 120; i++) {
    const bytes = serializeDirTree({ files: [[`f${i}`, randomBytes(32).toString("hex")]], dirs: [] });
    // Some writes overlap, as a pull's do.
    const csums = await Promise.all([
      w.use((tx) => tx.writeMetadata("dirtree", bytes)),
      i % 3 === 0 ? w.use((tx) => tx.writeMetadata("dirtree", bytes)) : undefined,
    ]);
    written.set(csums[0]!, bytes);
    // And a content object now and then, looked up the same way (its own staged extension).
    if (i % 4 === 0) {
      const meta = { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: "", xattrs: [] };
      files.push(await w.use(async (tx) => tx.writeContentSync(meta, randomBytes(64))));
    }
    // A pull waits for the network between objects: the background commit's pool work completes.
    await new Promise((r) => setTimeout(r, 2));
    sawTwoBatches ||= stagingDirs(repo).length > 1;
    committedEarly ||= [...written.keys()].some((c) => repo.hasObject(c, "dirtree"));
    for (const [csum, b] of written) {
      assert.ok(w.has(csum, "dirtree"), `${csum} is found after write ${i}`);
      assert.ok(w.readMetadata(csum, "dirtree").equals(b), `${csum} reads back after write ${i}`);
    }
    for (const csum of files) assert.ok(w.has(csum, "file"), `content ${csum} is found after write ${i}`);
    assert.equal(w.has(missing, "dirtree"), false);
    assert.equal(w.has(missing, "file"), false);
  }
  assert.ok(committedEarly, "batches were committed before finish()");
  assert.ok(sawTwoBatches, "a batch committed while the next one was being written");
  await w.finish();
  for (const csum of written.keys()) assert.ok(repo.hasObject(csum, "dirtree"), csum);
  for (const csum of files) assert.ok(repo.hasObject(csum, "file"), csum);
  assert.deepEqual(stagingDirs(repo), [], "no staging dir left");
});
