// Runs every compiled test file with Node's test runner, after the fixture set-up (test/setup.mjs:
// cached, a no-op when nothing changed). Node 20 expands no globs, so the files are listed here; a run
// that finds no test file fails instead of passing vacuously. The boot proof (dist/test/boot) is not
// part of it: `npm run test:boot` runs it (test/boot/run.mjs).
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { setupFixtures } from "./setup.mjs";

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (p !== join("dist/test", "boot")) out.push(...collect(p));
    } else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = collect("dist/test");
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error("no test files found under dist/test (did the build run?)");
  process.exit(1);
}
setupFixtures();
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=2", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
