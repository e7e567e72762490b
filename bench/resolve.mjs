#!/usr/bin/env node
// Load + resolve `strace jq htop` against the full bookworm index (what `apt-get update` left in
// /var/lib/apt/lists) with the installed set of a minbase tree, side by side with `apt-get -s install`
// on the same inputs. Cold: no cache on either side. Warm: our verified metadata cache vs apt's
// pkgcache.bin. Prints times (median of N runs) and the ratio ours/apt; the bar is ≤ 1.0 warm.
// Usage: npm run build && node bench/resolve.mjs [--runs N] [PKG…]
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const runsIdx = args.indexOf("--runs");
const runs = runsIdx >= 0 ? Number(args.splice(runsIdx, 2)[1]) : 5;
const pkgs = args.length ? args : ["strace", "jq", "htop"];
const lists = "/var/lib/apt/lists";
const minbase = join(root, "fixtures/out/minbase/var/lib/dpkg/status");
const tmp = mkdtempSync(join(tmpdir(), "tsostree-bench-"));
const status = existsSync(minbase) ? minbase : join(tmp, "empty-status");
if (!existsSync(minbase)) writeFileSync(status, "");
// This host's own apt sources: the lists in /var/lib/apt/lists were fetched for exactly these.
const sourceParts = existsSync("/etc/apt/sources.list.d")
  ? readdirSync("/etc/apt/sources.list.d")
      .filter((n) => n.endsWith(".list") || n.endsWith(".sources"))
      .map((n) => join("/etc/apt/sources.list.d", n))
  : [];
const hostSources = ["/etc/apt/sources.list", ...sourceParts].filter((p) => existsSync(p));

function time(cmd, argv, prep) {
  const out = [];
  for (let i = 0; i < runs; i++) {
    prep?.();
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, argv, { encoding: "utf8", maxBuffer: 64 << 20 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
    out.push(ms);
  }
  out.sort((a, b) => a - b);
  return out[Math.floor(out.length / 2)];
}

const aptCache = join(tmp, "apt-cache");
const apt = (cache) => [
  "-s",
  "-o",
  `Dir::State::status=${status}`,
  "-o",
  `Dir::Cache=${aptCache}`,
  // Docker images disable apt's binary caches; name them explicitly so that "warm" means warm.
  "-o",
  `Dir::Cache::pkgcache=${cache ? join(aptCache, "pkgcache.bin") : ""}`,
  "-o",
  `Dir::Cache::srcpkgcache=${cache ? join(aptCache, "srcpkgcache.bin") : ""}`,
  "install",
  ...pkgs,
];
const ourCache = join(tmp, "md");
const ours = [
  "resolve",
  "--json",
  "--cache-dir",
  ourCache,
  ...hostSources.flatMap((f) => ["--sources-list", f]),
  "--apt-lists",
  lists,
  "--dpkg-status",
  status,
  ...pkgs,
];
const wipe = (d) => () => {
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true }); // apt writes no pkgcache.bin into a missing directory
};

const aptCold = time("apt-get", apt(false), wipe(aptCache));
const oursCold = time(join(root, "bin/tsostree-pkg"), ours, wipe(ourCache));
time("apt-get", apt(true)); // populate pkgcache.bin
const aptWarm = time("apt-get", apt(true));
time(join(root, "bin/tsostree-pkg"), ours);
const oursWarm = time(join(root, "bin/tsostree-pkg"), ours);
rmSync(tmp, { recursive: true, force: true });

const f = (ms) => `${ms.toFixed(0).padStart(6)} ms`;
console.log(
  `resolve ${pkgs.join(" ")} against bookworm (${status === minbase ? "minbase" : "empty"} status), median of ${runs}`,
);
console.log(
  `cold: tsostree ${f(oursCold)}   apt-get -s ${f(aptCold)}   ratio ${(oursCold / aptCold).toFixed(2)}`,
);
console.log(
  `warm: tsostree ${f(oursWarm)}   apt-get -s ${f(aptWarm)}   ratio ${(oursWarm / aptWarm).toFixed(2)}`,
);
