// native/checkout_ops.c co_pool_thread: a thread of libuv's pool that ran one of the native
// helper's jobs is in SCHED_BATCH (it no longer preempts the JavaScript thread when woken); the
// JavaScript thread itself stays SCHED_OTHER. Read from /proc (field 41 of a task's stat: its policy).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { nodeOutput, projectRoot, scratch } from "../helpers.js";

test("the native helper's pool jobs run in SCHED_BATCH threads, the JavaScript thread stays as it is", (t) => {
  const jobs = join(projectRoot, "dist", "src", "util", "object-job.js");
  const script = join(scratch(t), "policy.mjs");
  writeFileSync(
    script,
    `import { readdirSync, readFileSync } from "node:fs";
    import { deflateRawSync } from "node:zlib";
    // (stat's comm field may hold spaces: count from its closing parenthesis)
    const policies = () => Object.fromEntries(readdirSync("/proc/self/task").map((tid) => {
      const stat = readFileSync(\`/proc/self/task/\${tid}/stat\`, "utf8");
      return [tid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[38])];
    }));
    const before = policies();
    if (process.argv[2] === "jobs") {
      const { inflateHash } = await import(${JSON.stringify(jobs)});
      const data = Buffer.alloc(1 << 16, 7);
      await Promise.all(Array.from({ length: 8 }, () =>
        inflateHash(deflateRawSync(data), Buffer.alloc(data.length), Buffer.alloc(0), Buffer.alloc(32))));
    }
    console.log(JSON.stringify({ main: policies()[String(process.pid)], before, after: policies() }));\n`,
  );
  const run = (how: string) => {
    return JSON.parse(nodeOutput([script, how])) as {
      main: number;
      before: Record<string, number>;
      after: Record<string, number>;
    };
  };
  const SCHED_OTHER = 0;
  const SCHED_BATCH = 3;
  const idle = run("none");
  assert.ok(
    Object.values(idle.after).every((p) => p === SCHED_OTHER),
    "no thread starts in SCHED_BATCH",
  );
  const busy = run("jobs");
  assert.equal(busy.main, SCHED_OTHER);
  const batch = Object.entries(busy.after).filter(([, p]) => p === SCHED_BATCH);
  assert.ok(
    batch.length >= 1,
    `a pool thread that ran a job is in SCHED_BATCH: ${JSON.stringify(busy.after)}`,
  );
});
