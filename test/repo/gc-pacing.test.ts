// src/repo/gc-pacing.ts: a thread that turned collections on gets a young-generation collection
// every few MiB counted, in the main thread and in a worker, and V8's flags are as they were after
// (a flag left set makes V8 refuse every code cache made under the defaults).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { nodeOutput, projectRoot, scratch } from "../helpers.js";

test("collections every few MiB, in the main thread and a worker, with V8's flags untouched", (t) => {
  const pacing = join(projectRoot, "dist", "src", "repo", "gc-pacing.js");
  const script = join(scratch(t), "pacing.mjs");
  writeFileSync(
    script,
    `import { cachedDataVersionTag } from "node:v8";
    import { PerformanceObserver, constants } from "node:perf_hooks";
    import { Worker, isMainThread, parentPort } from "node:worker_threads";
    import { collectEvery, enableCollection } from ${JSON.stringify(pacing)};
    // minor collections while counting 64 MiB in 1 MiB steps, with collections on or off
    async function minors(on) {
      if (on) enableCollection();
      let n = 0;
      const o = new PerformanceObserver((l) => {
        for (const e of l.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) n++;
      });
      o.observe({ entryTypes: ["gc"] });
      for (let i = 0; i < 64; i++) collectEvery(1 << 20);
      await new Promise((r) => setTimeout(r, 50));
      o.disconnect();
      return n;
    }
    if (isMainThread) {
      const tag = cachedDataVersionTag();
      const off = await minors(false);
      const main = await minors(true);
      const sameTag = tag === cachedDataVersionTag();
      const worker = await new Promise((ok, fail) => {
        const w = new Worker(new URL(import.meta.url));
        w.once("message", ok);
        w.once("error", fail);
      });
      console.log(JSON.stringify({ off, main, worker, sameTag, sameTagAfterWorker: tag === cachedDataVersionTag() }));
    } else parentPort.postMessage(await minors(true));\n`,
  );
  const got = JSON.parse(nodeOutput([script])) as Record<string, number | boolean>;
  assert.equal(got.off, 0, "nothing is collected before enableCollection()");
  assert.ok((got.main as number) >= 16, `the main thread collects every 2 MiB (${got.main})`);
  assert.ok((got.worker as number) >= 16, `so does a worker that turned it on (${got.worker})`);
  assert.equal(got.sameTag, true);
  assert.equal(got.sameTagAfterWorker, true);
});
