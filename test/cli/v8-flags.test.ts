// bin/run-bundle.cjs leaves V8's flags as it found them (V8 refuses every code cache, Node's own for
// its built-in modules too, made under other flags), yet compiles WebAssembly with the baseline
// compiler only and keeps the small young generation bin/launch gives pulls. The same scripts run
// without run-bundle.cjs first, to show that what they look for does happen there.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { nodeOutput as node, projectRoot, scratch } from "../helpers.js";

const RUN_BUNDLE = join(projectRoot, "bin", "run-bundle.cjs");

// (func (export "f") (param i32) (result i32) (local i32)
//   loop: local1 += local0; local0 -= 1; br_if loop (local0) — end; local1): a hot loop.
const WASM = [
  0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 27, 1, 25,
  1, 1, 127, 3, 64, 32, 1, 32, 0, 106, 33, 1, 32, 0, 65, 1, 107, 34, 0, 13, 0, 11, 32, 1, 11,
];

test("WebAssembly compiles with Liftoff alone, and V8's flags stay as they were", (t) => {
  const script = join(scratch(t), "wasm.cjs");
  writeFileSync(
    script,
    `const v8 = require("node:v8");
    if (process.argv[2] === "launcher") require(${JSON.stringify(RUN_BUNDLE)}).baselineWasmOnly();
    const tag = v8.cachedDataVersionTag();
    const m = new WebAssembly.Module(new Uint8Array(${JSON.stringify(WASM)}));
    const f = new WebAssembly.Instance(m).exports.f;
    let sum = 0;
    for (let i = 0; i < 20000; i++) sum += f(1000);
    // time for a background tier-up to finish and report itself
    setTimeout(() => console.log(JSON.stringify({ sum, sameTag: tag === v8.cachedDataVersionTag(),
      module: m instanceof WebAssembly.Module })), 500);\n`,
  );
  const run = (how: string) => {
    const out = node(["--trace-wasm-compilation-times", script, how]);
    return {
      compiled: [...(out.match(/using \w+/g) ?? [])] as string[],
      result: JSON.parse(out.trim().split("\n").pop()!),
    };
  };
  const plain = run("plain");
  assert.ok(plain.compiled.includes("using TurboFan"), `V8 tiers a hot function up: ${plain.compiled}`);
  const ours = run("launcher");
  assert.deepEqual(ours.compiled, ["using Liftoff"]);
  assert.deepEqual(ours.result, { sum: 20000 * 500500, sameTag: true, module: true });
});

test("a pull's small young generation outlives its flag", (t) => {
  const script = join(scratch(t), "heap.cjs");
  writeFileSync(
    script,
    `const v8 = require("node:v8");
    if (process.argv[2] === "launcher") require(${JSON.stringify(RUN_BUNDLE)});
    let keep = [];
    for (let i = 0; i < 3e6; i++) { keep.push({ i, s: "x" + i }); if (keep.length > 200000) keep = []; }
    const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size;
    console.log(JSON.stringify({ tag: v8.cachedDataVersionTag(), youngMB: young / 2 ** 20 }));\n`,
  );
  const run = (args: string[]) => JSON.parse(node(args)) as { tag: number; youngMB: number };
  const plain = run([script, "plain"]);
  assert.ok(plain.youngMB > 8, `the young generation grows by default (${plain.youngMB} MB)`);
  const flagged = run(["--max-semi-space-size=1", script, "plain"]);
  assert.notEqual(flagged.tag, plain.tag, "the flag alone changes what code caches V8 accepts");
  const ours = run(["--max-semi-space-size=1", script, "launcher"]);
  assert.equal(ours.tag, plain.tag);
  assert.ok(ours.youngMB <= 2, `the young generation stays small (${ours.youngMB} MB)`);
});
