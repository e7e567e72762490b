// `tsostree pull` vs the real `ostree pull` (default settings) over HTTP from a real nginx on
// loopback (test/pull/server.ts), side by side: the minbase commit and the ~3× bigger "large" tree
// (bench/trees.mjs) into empty bare-user repos, then an update between two commits that differ by
// one package's files (coreutils, every file changed) into copies of a repo holding the first,
// without and with a static delta made by `ostree static-delta generate`. Every timed run pulls into
// a fresh directory, after an untimed `sync` (no run pays for the write-back of the one before, as
// in the layer bench), and nothing is deleted until the end. Prints wall time (median of BENCH_RUNS,
// default 3), the ratio (bar ≤ 1.0), bytes on the wire (HTTP bodies, from nginx's access log) and
// requests, and tsostree's peak RSS (/usr/bin/time; bar < 150 MB). Needs `npm run build` first.
import { spawnSync } from "node:child_process";
import {
  appendFileSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { referenceTree, root } from "./trees.mjs";

const runs = Number(process.env.BENCH_RUNS ?? 3);
const trees = (process.env.BENCH_TREES ?? "minbase,large").split(",");
const MODE = "bare-user";
const BAR = 1.0;
const MEM_BAR_MB = 150;
// Never give the real ostree CAP_SYS_ADMIN: it would fsfreeze this machine's root fs.
const TOOLS = {
  ostree: ["setpriv", "--bounding-set=-sys_admin", "--", "ostree"],
  tsostree: [join(root, "bin/tsostree")],
};

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}
const tool = (name, ...args) => sh(TOOLS[name][0], [...TOOLS[name].slice(1), ...args]);

/** nginx's access log since `from` (bytes): requests and HTTP body bytes, per status. */
function served(log, from) {
  const text = readFileSync(log, "utf8").slice(from);
  let requests = 0;
  let bytes = 0;
  let deltaParts = 0;
  for (const line of text.split("\n")) {
    const m = /"(?:GET|HEAD) (\S+) [^"]*" (\d{3}) (\d+)/.exec(line);
    if (!m) continue;
    requests++;
    bytes += Number(m[3]);
    if (m[1].includes("/deltas/")) deltaParts++;
  }
  return { requests, bytes, deltaParts };
}

/** One timed pull; returns {ms, rssKiB, requests, bytes, deltaParts} or null when it failed. */
function timedPull(name, repo, log, extra = []) {
  const rss = `${repo}.rss`;
  const from = lstatSync(log).size;
  const [cmd, ...pre] = TOOLS[name];
  spawnSync("sync");
  const t0 = process.hrtime.bigint();
  const r = spawnSync(
    "/usr/bin/time",
    ["-f", "%M", "-o", rss, cmd, ...pre, `--repo=${repo}`, "pull", ...extra, "origin", "main"],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) {
    console.error(`  ${name} pull failed: ${r.stderr.trim().split("\n").slice(-2).join(" | ")}`);
    return null;
  }
  const rssKiB = Number(readFileSync(rss, "utf8").trim().split("\n").pop());
  return { ms, rssKiB, ...served(log, from) };
}

/** An empty client repo with the remote, or a hardlink copy of `template` (pulls never modify objects). */
function freshRepo(path, url, template) {
  if (template) sh("cp", ["-al", template, path]);
  else {
    tool("ostree", "init", `--repo=${path}`, `--mode=${MODE}`);
    tool("ostree", `--repo=${path}`, "remote", "add", "--no-gpg-verify", "origin", url);
  }
  return path;
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mb = (b) => (b / 1048576).toFixed(1);

/** Alternating runs of both tools; one result row plus a printed line with bytes and requests. */
function compare(label, dir, nginx, log, opts = {}) {
  mkdirSync(dir, { recursive: true });
  const samples = { ostree: [], tsostree: [] };
  for (let i = 0; i < runs; i++)
    for (const name of i % 2 ? ["tsostree", "ostree"] : ["ostree", "tsostree"]) {
      console.error(`bench pull: ${label} run ${i + 1}/${runs} ${name}`);
      const repo = freshRepo(join(dir, `${name}-${i}`), nginx.url, opts.template);
      samples[name].push(timedPull(name, repo, log, opts.flags?.[name] ?? []));
    }
  const ok = (a) => a.length > 0 && a.every((x) => x);
  const oMs = ok(samples.ostree) ? median(samples.ostree.map((x) => x.ms)) : null;
  const tMs = ok(samples.tsostree) ? median(samples.tsostree.map((x) => x.ms)) : null;
  const last = (a) => a[a.length - 1];
  const o = ok(samples.ostree) ? last(samples.ostree) : null;
  const t = ok(samples.tsostree) ? last(samples.tsostree) : null;
  const peak = ok(samples.tsostree) ? Math.max(...samples.tsostree.map((x) => x.rssKiB)) : 0;
  // Every run in order, as the layer bench prints them: this machine's speed moves between runs.
  const each = (a) => a.map((x) => (x ? Math.round(x.ms) : "failed")).join("/");
  console.error(`  ${label}: runs ostree ${each(samples.ostree)}, tsostree ${each(samples.tsostree)} ms`);
  console.error(
    `  ${label}: ostree ${o ? `${mb(o.bytes)} MB in ${o.requests} requests${o.deltaParts ? ` (${o.deltaParts} delta files)` : ""}, ${Math.round(o.rssKiB / 1024)} MB RSS` : "failed"}; ` +
      `tsostree ${t ? `${mb(t.bytes)} MB in ${t.requests} requests${t.deltaParts ? ` (${t.deltaParts} delta files)` : " (no delta used)"}, ${Math.round(peak / 1024)} MB RSS` : "failed"}`,
  );
  return {
    row: {
      name: label,
      ostreeMs: oMs && Math.round(oMs),
      tsostreeMs: tMs && Math.round(tMs),
      ratio: oMs && tMs ? Number((tMs / oMs).toFixed(2)) : null,
      bar: BAR,
    },
    bytes: o && t ? { name: `${label}: wire MB`, o: o.bytes, t: t.bytes } : null,
    peak,
  };
}

/** The minbase tree's coreutils files with one line appended: an update of one package. */
function coreutilsUpdate(tree, dir) {
  const list = readFileSync(join(tree, "var/lib/dpkg/info/coreutils.list"), "utf8").split("\n");
  const over = join(dir, "coreutils-2");
  const top = realpathSync(tree);
  const seen = new Set();
  for (const p of list) {
    if (!p || p === "/.") continue;
    let real;
    try {
      // usrmerge: listed under /bin, stored under /usr/bin (an overlay must not put a dir at /bin).
      real = relative(top, realpathSync(join(tree, p)));
    } catch {
      continue;
    }
    if (seen.has(real) || !lstatSync(join(top, real)).isFile()) continue;
    seen.add(real);
    mkdirSync(join(over, dirname(real)), { recursive: true });
    copyFileSync(join(top, real), join(over, real));
    appendFileSync(join(over, real), "\n# coreutils 2\n");
  }
  return { over, files: seen.size };
}

export async function run() {
  const { startNginx } = await import(pathToFileURL(join(root, "dist/test/pull/server.js")).href);
  const work = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), "tsostree-bench-pull-"));
  const rows = [];
  const bytesRows = [];
  let peak = 0;
  try {
    for (const name of trees) {
      const tree = referenceTree(name);
      const srv = join(work, `srv-${name}`);
      console.error(`bench pull: committing ${name} into an archive repo with ostree`);
      tool("ostree", "init", `--repo=${srv}`, "--mode=archive");
      const c1 = tool(
        "ostree",
        `--repo=${srv}`,
        "commit",
        "-b",
        "main",
        "-s",
        "1",
        `--tree=dir=${tree}`,
      ).trim();
      tool("ostree", `--repo=${srv}`, "summary", "-u");
      const nginx = await startNginx(srv, join(work, `nginx-${name}`));
      const log = join(work, `nginx-${name}`, "access.log");
      try {
        const full = compare(`${name}: pull into empty ${MODE} repo`, join(work, `${name}-full`), nginx, log);
        rows.push(full.row);
        if (full.bytes) bytesRows.push(full.bytes);
        peak = Math.max(peak, full.peak);
        if (name !== "minbase") continue;

        // The update: C2 = C1 with coreutils' files changed; a client repo holding C1 is the template.
        const template = freshRepo(join(work, "update-template"), nginx.url);
        tool("ostree", `--repo=${template}`, "pull", "origin", "main");
        const { over, files } = coreutilsUpdate(tree, work);
        const c2 = tool(
          "ostree",
          `--repo=${srv}`,
          "commit",
          "-b",
          "main",
          "-s",
          "2",
          "--tree=ref=main",
          `--tree=dir=${over}`,
        ).trim();
        tool("ostree", `--repo=${srv}`, "summary", "-u");
        console.error(`bench pull: update ${c1.slice(0, 8)} -> ${c2.slice(0, 8)} (${files} coreutils files)`);
        const plain = compare(
          "minbase: update, one package (no delta)",
          join(work, "upd-plain"),
          nginx,
          log,
          {
            template,
            flags: { ostree: ["--disable-static-deltas"], tsostree: ["--disable-static-deltas"] },
          },
        );
        tool("ostree", `--repo=${srv}`, "static-delta", "generate", `--from=${c1}`, `--to=${c2}`);
        tool("ostree", `--repo=${srv}`, "summary", "-u");
        const delta = compare(
          "minbase: update, one package (static delta)",
          join(work, "upd-delta"),
          nginx,
          log,
          {
            template,
          },
        );
        for (const r of [plain, delta]) {
          rows.push(r.row);
          if (r.bytes) bytesRows.push(r.bytes);
          peak = Math.max(peak, r.peak);
        }
      } finally {
        await nginx.stop();
      }
    }
  } finally {
    if (!process.env.BENCH_KEEP) rmSync(work, { recursive: true, force: true });
  }
  for (const b of bytesRows)
    rows.push({
      name: b.name,
      ostreeMs: mb(b.o),
      tsostreeMs: mb(b.t),
      ratio: Number((b.t / b.o).toFixed(2)),
      bar: 1.0,
    });
  rows.push({
    name: "tsostree peak RSS of any pull, MB",
    ostreeMs: null,
    tsostreeMs: Math.round(peak / 1024),
    ratio: null,
    bar: MEM_BAR_MB,
    pass: peak / 1024 < MEM_BAR_MB,
  });
  return rows;
}
