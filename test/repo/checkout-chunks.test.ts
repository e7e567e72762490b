// A hardlink checkout whose plan runs to many chunks that all report something (empty files are
// created by TypeScript, not linked): the native run's chunk queue grows while its thread writes the
// reports of earlier chunks, which once wrote into freed memory and crashed the process.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { checkout } from "../../src/repo/checkout.js";
import { Repo } from "../../src/repo/repo.js";
import { scratch, tsostree } from "../helpers.js";

const DIRS = 80;
const PER_DIR = 250; // 20k link ops: about 80 chunks of 256, past the queue's first growth at 64

test("checkout: a plan of ~80 reporting chunks checks out completely, three times", async (t) => {
  const dir = scratch(t);
  const tree = join(dir, "tree");
  for (let d = 0; d < DIRS; d++) {
    mkdirSync(join(tree, `d${d}`), { recursive: true });
    for (let f = 0; f < PER_DIR; f++) writeFileSync(join(tree, `d${d}`, `e${f}`), "");
  }
  const mode = process.getuid?.() === 0 ? "bare" : "bare-user";
  const path = join(dir, "repo");
  assert.equal(tsostree(["init", `--repo=${path}`, `--mode=${mode}`]).status, 0);
  const c = tsostree(["commit", `--repo=${path}`, "-b", "many-empty", tree]);
  assert.equal(c.status, 0, c.stderr);
  const repo = Repo.open(path);
  for (let i = 0; i < 3; i++) {
    const dest = join(dir, `co${i}`);
    await checkout(repo, "many-empty", dest, { userMode: mode === "bare-user" });
    let n = 0;
    for (const d of readdirSync(dest)) n += readdirSync(join(dest, d)).length;
    assert.equal(n, DIRS * PER_DIR);
  }
});
