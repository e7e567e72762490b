// The object store, tsostree vs the real ostree 2022.7 side by side, on the minbase tree and on a
// larger one (bench/trees.mjs): cold commit into a fresh bare repo, re-commit of the unchanged
// tree, hardlink checkout, re-commit of that checkout plus one new file with
// --link-checkout-speedup, copy checkout, fsck, and a commit into a fresh archive repo. Each tool
// works on its own repos; the tools alternate, every run uses fresh directories and nothing is
// deleted until the end (this file system slows file creation for minutes after mass deletions).
// Reports the median of BENCH_RUNS runs (default 3), the ratio tsostree/ostree (bar: ≤ 1.5) and
// the peak RSS of any tsostree run (bar: < 150 MB).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { referenceTree, root } from "./trees.mjs";

const runs = Number(process.env.BENCH_RUNS ?? 3);
const trees = (process.env.BENCH_TREES ?? "minbase,large").split(",");
// Never give the real ostree CAP_SYS_ADMIN: it would fsfreeze this machine's root fs.
const TOOLS = {
  ostree: ["setpriv", "--bounding-set=-sys_admin", "--", "ostree"],
  // The installed command (bin/launch), as users start it.
  tsostree: [join(root, "bin/tsostree")],
};
const BAR = 1.5;
const MEM_BAR_MB = 150;

/** Runs one tool command; returns wall ms and peak RSS (KiB), or null when the command fails. */
function timed(tool, args, work) {
  const rss = join(work, ".rss");
  const [cmd, ...pre] = TOOLS[tool];
  const t0 = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", "-o", rss, cmd, ...pre, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) {
    console.error(`  ${tool} ${args.join(" ")} failed: ${r.stderr.trim().split("\n").slice(-2).join(" | ")}`);
    return null;
  }
  return { ms, rssKiB: Number(readFileSync(rss, "utf8").trim().split("\n").pop()) };
}

function untimed(tool, args) {
  const [cmd, ...pre] = TOOLS[tool];
  const r = spawnSync(cmd, [...pre, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${tool} ${args.join(" ")}: ${r.stderr}`);
}

const hasCommand = (name) => spawnSync(TOOLS.tsostree[0], [TOOLS.tsostree[1], name, "--help"]).status === 0;

/** One full pass of every operation for one tool in fresh directories; returns {op: result}. */
function pass(tool, tree, dir, ops) {
  mkdirSync(dir, { recursive: true });
  const repo = join(dir, "repo");
  const out = {};
  const commit = (r, src, ...extra) => [
    "commit",
    `--repo=${r}`,
    "-b",
    "main",
    "-s",
    "bench",
    "--timestamp=@0",
    ...extra,
    src,
  ];
  untimed(tool, ["init", `--repo=${repo}`, "--mode=bare"]);
  out["cold commit (bare)"] = timed(tool, commit(repo, tree), dir);
  out["re-commit unchanged"] = timed(tool, commit(repo, tree), dir);
  const co = join(dir, "co-hardlink");
  if (ops.checkout)
    out["hardlink checkout"] = timed(tool, ["checkout", `--repo=${repo}`, "-H", "main", co], dir);
  // Without a checkout of our own (or if it failed) the next step still needs one: ostree's.
  if (!existsSync(co)) untimed("ostree", ["checkout", `--repo=${repo}`, "-H", "main", co]);
  writeFileSync(join(co, "bench-added-file"), "one new file\n");
  out["re-commit checkout +1 file (--link-checkout-speedup)"] = timed(
    tool,
    commit(repo, co, "--link-checkout-speedup"),
    dir,
  );
  if (ops.checkout)
    out["copy checkout"] = timed(
      tool,
      ["checkout", `--repo=${repo}`, "-C", "main", join(dir, "co-copy")],
      dir,
    );
  if (ops.fsck) out.fsck = timed(tool, ["fsck", `--repo=${repo}`], dir);
  const arepo = join(dir, "repo-archive");
  untimed(tool, ["init", `--repo=${arepo}`, "--mode=archive"]);
  out["archive commit"] = timed(tool, commit(arepo, tree), dir);
  return out;
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function run() {
  const ops = { checkout: hasCommand("checkout"), fsck: hasCommand("fsck") };
  const work = join(root, "bench/out", `repo-${Date.now()}`);
  const rows = [];
  let peakKiB = 0;
  let ostreePeakKiB = 0;
  try {
    for (const name of trees) {
      const tree = referenceTree(name);
      const samples = { ostree: {}, tsostree: {} };
      for (let i = 0; i < runs; i++) {
        for (const tool of i % 2 ? ["tsostree", "ostree"] : ["ostree", "tsostree"]) {
          console.error(`bench repo: ${name} run ${i + 1}/${runs} ${tool}`);
          const res = pass(tool, tree, join(work, name, `${tool}-${i}`), ops);
          for (const [op, r] of Object.entries(res)) {
            samples[tool][op] ??= [];
            samples[tool][op].push(r);
            if (r && tool === "tsostree") peakKiB = Math.max(peakKiB, r.rssKiB);
            if (r && tool === "ostree") ostreePeakKiB = Math.max(ostreePeakKiB, r.rssKiB);
          }
        }
      }
      for (const op of Object.keys(samples.ostree)) {
        const o = samples.ostree[op];
        const t = samples.tsostree[op] ?? [];
        const ok = (a) => a.length && a.every((x) => x);
        const oMs = ok(o) ? median(o.map((x) => x.ms)) : null;
        const tMs = ok(t) ? median(t.map((x) => x.ms)) : null;
        const mb = (a) => (ok(a) ? Math.round(Math.max(...a.map((x) => x.rssKiB)) / 1024) : null);
        rows.push({
          name: `${name}: ${op}`,
          ostreeMs: oMs && Math.round(oMs),
          tsostreeMs: tMs && Math.round(tMs),
          ratio: oMs && tMs ? Number((tMs / oMs).toFixed(2)) : null,
          bar: BAR,
          ostreeMB: mb(o),
          tsostreeMB: mb(t),
        });
      }
    }
  } finally {
    if (!process.env.BENCH_KEEP) rmSync(work, { recursive: true, force: true });
  }
  rows.push({
    name: "peak memory (max RSS of any run), MB",
    ostreeMs: Math.round(ostreePeakKiB / 1024),
    tsostreeMs: Math.round(peakKiB / 1024),
    ratio: null,
    bar: MEM_BAR_MB,
    pass: peakKiB / 1024 < MEM_BAR_MB,
  });
  printTable(rows);
  return rows;
}

function printTable(rows) {
  const w = Math.max(...rows.map((r) => r.name.length));
  const head = `${"operation".padEnd(w)}  ${"ostree".padStart(9)}  ${"tsostree".padStart(9)}  ratio`;
  console.log(`${head}  ${"RSS MB ostree/ts".padStart(16)}`);
  for (const r of rows) {
    const f = (v) => (v === null || v === undefined ? "n/a" : String(v)).padStart(9);
    let verdict = "";
    if (r.ratio !== null) verdict = r.ratio <= r.bar ? "  ok" : "  SLOW";
    else if (r.pass !== undefined) verdict = r.pass ? "  ok" : "  OVER";
    const mem = r.ostreeMB === undefined ? "" : `${r.ostreeMB}/${r.tsostreeMB}`;
    console.log(
      `${r.name.padEnd(w)}  ${f(r.ostreeMs)}  ${f(r.tsostreeMs)}  ${String(r.ratio ?? "-").padStart(5)}  ${mem.padStart(16)}${verdict}`,
    );
  }
  console.log(
    `(ms, median of ${runs}; ratio = tsostree/ostree, bar ≤ ${BAR}; memory bar < ${MEM_BAR_MB} MB)`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (!existsSync("/usr/bin/time")) throw new Error("bench needs /usr/bin/time (apt-get install time)");
  const rows = await run();
  process.exitCode = rows.every((r) => (r.ratio === null ? r.pass !== false : r.ratio <= r.bar)) ? 0 : 1;
}
