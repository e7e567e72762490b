#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.mjs (each exports run(), returning one result row or a
// list of them: {name, ostreeMs, tsostreeMs, ratio, bar}) one after another, then prints one table.
// Usage: node bench/run.mjs [NAME-SUBSTRING…] — e.g. `node bench/run.mjs repo`.
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith(".bench.mjs"))
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error("no bench/*.bench.mjs matched");
  process.exit(1);
}
const rows = [];
for (const f of files) {
  console.error(`== ${f}`);
  const mod = await import(pathToFileURL(join(here, f)).href);
  const r = await mod.run();
  rows.push(...(Array.isArray(r) ? r : [r]));
}
const w = Math.max(9, ...rows.map((r) => r.name.length));
const cell = (v) => (v === null || v === undefined ? "n/a" : String(v)).padStart(9);
console.log(`\n${"benchmark".padEnd(w)}  ${"ostree".padStart(9)}  ${"tsostree".padStart(9)}  ratio  bar`);
let ok = true;
for (const r of rows) {
  const pass = r.ratio === null || r.ratio === undefined ? r.pass !== false : r.ratio <= r.bar;
  ok &&= pass;
  console.log(
    `${r.name.padEnd(w)}  ${cell(r.ostreeMs)}  ${cell(r.tsostreeMs)}  ${String(r.ratio ?? "-").padStart(5)}  ${r.bar}${pass ? "" : "  ✗"}`,
  );
}
process.exitCode = ok ? 0 : 1;
