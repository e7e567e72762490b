// Layering, `tsostree-pkg install strace --sysroot=S`, end to end (resolve against the base's package
// set, fetch and import strace and what it needs from a local signed apt repository, union onto the
// base, scripts, package db, commit, deploy), measured against:
//  - itself on two bases: the minbase tree (fixtures/out/minbase) and a real Debian tree about 3× its
//    size (bench/trees.mjs debootstrapTree(): debootstrap --include=python3,perl,systemd,…). Layering
//    never walks the base, so the time must not grow with it: big/minbase ≤ 1.2.
//  - ostree's own checkout-add-commit pattern on the same two bases (real `ostree checkout -H` of the
//    base commit, the same packages' files copied in, `ostree commit --link-checkout-speedup`), whose
//    growth is printed beside ours.
//  - `apt-get install -y strace` in a chroot of a copy of the minbase tree, the same repository copied
//    into the tree as a file: source, `apt-get update` run untimed first: ours/apt ≤ 1.5 (aim 1.0),
//    although we also commit and deploy.
// Then the re-install after a rollback (every package already imported: no download, no unpack) and
// the peak RSS of the install on the big base (bar < 150 MB).
//
// Every timed run works on its own fresh state made untimed beforehand (a sysroot is a hardlink copy
// of a template made once per base; an apt tree is a full copy); one untimed warm-up of each first;
// an untimed `sync` before each timed run; the order alternates; nothing is deleted until the end.
// A tsostree run that fails (a crash) is printed and counted, and fails the benchmark; the others
// still give their medians. Needs root (the trees keep real owners; chroot). BENCH_RUNS (default 5), BENCH_KEEP=1 keeps the
// work directory, BENCH_BIG=large uses bench/trees.mjs's synthetic large tree instead of debootstrap.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { debootstrapTree, referenceTree, root } from "./trees.mjs";

const runs = Number(process.env.BENCH_RUNS ?? 5);
const OS = "debian";
const REF = "debian/bookworm";
const GROWTH_BAR = 1.2;
const APT_BAR = 1.5;
const MEM_BAR_MB = 150;
const MINBASE = process.env.MINBASE ?? join(root, "fixtures/out/minbase");
const DEBS = join(root, "fixtures/out/debs");
const TS = join(root, "bin/tsostree");
const PKG = join(root, "bin/tsostree-pkg");
// Never give the real ostree CAP_SYS_ADMIN: it would fsfreeze this machine's root fs.
const OSTREE = ["setpriv", "--bounding-set=-sys_admin", "--", "ostree"];
/** Where the apt tree keeps its copy of the repository (a file: source, as the brief of issue 10 says). */
const APT_IN_TREE = "/srv/tsostree-apt";

export function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 28, ...opts });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} (exit ${r.status}): ${r.stderr}${r.stdout}`.slice(0, 4000));
  return r.stdout;
}
export const q = (s) => `'${s.replace(/'/g, "'\\''")}'`;
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Wall time (ms), CPU time (ms, user + system of the whole process tree: far less noisy than wall
 * time on a shared machine), peak RSS (KiB: GNU time's %M, the largest single process of the
 * tree) and output of one shell command line, after an untimed `sync` so that no run pays for the
 * write-back of the one before.
 */
export function timed(script, work) {
  sh("sync", []);
  const rss = join(work, ".rss");
  const t0 = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%M %U %S", "-o", rss, "sh", "-c", script], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const out = r.stdout + r.stderr;
  // The last line (a signal death adds one before it): peak RSS, user and system CPU seconds.
  const [kib, user, sys] = readFileSync(rss, "utf8").trim().split("\n").pop().split(" ").map(Number);
  // sh reports a signal death ("Segmentation fault") on stderr; keep the last lines as the reason.
  const failed = r.status === 0 ? null : `exit ${r.status}: ${out.trim().split("\n").slice(-3).join(" | ")}`;
  return { ms, cpuMs: (user + sys) * 1000, rssKiB: kib, out, failed };
}

/** A timed run that must succeed (the reference tools: a failure is the benchmark's own bug). */
function mustTime(script, work) {
  const r = timed(script, work);
  if (r.failed) throw new Error(`bench layer: ${script}\nfailed, ${r.failed}`.slice(0, 4000));
  return r;
}

/** Files and bytes of a tree (regular files, one file system). */
function treeSize(dir) {
  const files = Number(sh("sh", ["-c", `find ${q(dir)} -xdev -type f | wc -l`]).trim());
  const kib = Number(sh("du", ["-sxk", dir]).split("\t")[0]);
  return { files, mb: Math.round(kib / 1024) };
}

/** Why this machine cannot run the benchmark, or null. */
export function missing() {
  if (process.getuid?.() !== 0)
    return "needs root (the trees keep real owners; apt runs in a chroot): run it as root, e.g. `sudo node bench/run.mjs layer`";
  for (const tool of ["ostree", "apt-get", "apt-ftparchive", "dpkg-deb", "gpg", "chroot", "setpriv"])
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) return `needs ${tool} on PATH`;
  if (!existsSync("/usr/bin/time")) return "needs /usr/bin/time (apt-get install time)";
  if (!existsSync(join(root, "dist/test/compose/apt-fixture.js")))
    return "needs the built tests (dist/test/compose/apt-fixture.js): run `npm run build`";
  return null;
}

/** The minbase tree and the Debian packages, made by their (cached) fixture scripts when missing. */
export function fixtures() {
  if (!existsSync(join(MINBASE, ".complete"))) sh("bash", [join(root, "fixtures/minbase.sh")]);
  if (!existsSync(DEBS) || !readdirSync(DEBS).some((f) => f.startsWith("strace_")))
    sh("bash", [join(root, "fixtures/fetch-debian-packages.sh")]);
  return readdirSync(DEBS)
    .filter((f) => f.endsWith(".deb"))
    .map((f) => join(DEBS, f));
}

/**
 * The big base: a real debootstrap tree (a real dpkg database), or, with BENCH_BIG=large or when
 * debootstrap cannot run, minbase plus bench/trees.mjs's large tree under usr/share (the same
 * package set as minbase, three times the files).
 */
export function bigBase() {
  if (process.env.BENCH_BIG !== "large") {
    try {
      return { tree: debootstrapTree(), kind: "debootstrap minbase + python3, perl, systemd, …" };
    } catch (e) {
      console.error(`bench layer: no debootstrap tree (${e.message.split("\n")[0]}); using the large tree`);
    }
  }
  const dir = join(root, "bench/out/trees/large-rootfs");
  if (!existsSync(join(dir, ".complete"))) {
    const large = referenceTree("large");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    sh("cp", ["-a", MINBASE, join(dir, "tree")]);
    for (const v of ["variant1", "variant2"])
      sh("cp", ["-a", join(large, v), join(dir, "tree/usr/share", `bench-${v}`)]);
    writeFileSync(join(dir, ".complete"), "");
  }
  return { tree: join(dir, "tree"), kind: "synthetic: minbase + 2 modified copies of it (trees.mjs large)" };
}

export function deploymentDir(sysroot) {
  const st = JSON.parse(sh(PKG, ["status", "--json", `--sysroot=${sysroot}`]));
  const d = st.deployments[0];
  return join(sysroot, "ostree/deploy", OS, "deploy", `${d.checksum}.${d.serial}`);
}

/**
 * A template sysroot for one base, as test/compose/layer-deb.test.ts makes it: the tree composed
 * into a base commit, deployed, the deployment's apt pointed at the local repository; then a dry
 * run, which fetches and caches the repository's indexes (warm caches, as apt's untimed update).
 * Returns the packages the install adds (for ostree's side) and the deployed base's size.
 */
export function templateSysroot(tree, dir, aptRepo, fixture) {
  const s = join(dir, "sysroot");
  const t0 = Date.now();
  sh(TS, ["admin", "init-fs", s]);
  sh(TS, ["admin", "os-init", OS, `--sysroot=${s}`]);
  sh(PKG, ["compose", "rootfs", tree, `--repo=${join(s, "ostree/repo")}`, `--branch=${REF}`]);
  sh(TS, ["admin", "deploy", `--sysroot=${s}`, `--os=${OS}`, REF]);
  const composeMs = Date.now() - t0;
  const deployed = deploymentDir(s);
  const etc = join(deployed, "etc");
  rmSync(join(etc, "apt/sources.list"), { force: true });
  fixture.installAptSource(etc, aptRepo);
  const dry = sh(PKG, ["install", "--dry-run", "strace", `--sysroot=${s}`]);
  const adds = [...dry.matchAll(/^\s+(\S+) (\S+) \((\S+)\)$/gm)].map((m) => m[1]);
  if (!adds.includes("strace")) throw new Error(`install --dry-run strace does not add strace:\n${dry}`);
  return { sysroot: s, adds, composeMs, size: treeSize(deployed) };
}

/** Makes the script sandbox's cached checkout of the deployed base (src/compose/lower.ts). */
export async function warmSandboxBase(sysroot) {
  const { Repo } = await import(pathToFileURL(join(root, "dist/src/repo/repo.js")).href);
  const { resolveRev } = await import(pathToFileURL(join(root, "dist/src/repo/refs.js")).href);
  const { baseLower } = await import(pathToFileURL(join(root, "dist/src/compose/lower.js")).href);
  const repo = Repo.open(join(sysroot, "ostree/repo"));
  await baseLower(repo, resolveRev(repo, REF), repo.mode === "bare-user");
}

/** The files of the given packages as they land in a composed tree (/etc under /usr/etc). */
function stagedFiles(debs, names, dir) {
  const stage = join(dir, "stage");
  mkdirSync(stage, { recursive: true });
  for (const n of names) {
    const deb = debs.find((f) => f.split("/").pop().startsWith(`${n}_`));
    if (!deb) throw new Error(`no .deb for ${n} in ${DEBS}`);
    sh("dpkg-deb", ["-x", deb, stage]);
  }
  // A merged-/usr base has /lib etc. as symlinks into /usr; a composed one keeps /etc in /usr/etc.
  const moves = { etc: "usr/etc", bin: "usr/bin", sbin: "usr/sbin", lib: "usr/lib", lib64: "usr/lib64" };
  for (const [from, to] of Object.entries(moves)) {
    if (!existsSync(join(stage, from))) continue;
    const [src, dst] = [q(join(stage, from)), q(join(stage, to))];
    sh("sh", ["-c", `mkdir -p ${dst} && cp -a ${src}/. ${dst}/ && rm -r ${src}`]);
  }
  return stage;
}

/** A copy of the minbase tree with apt pointed at a copy of the repository inside it, updated. */
function aptTemplate(aptRepo, fixture, dir) {
  const t = join(dir, "apt-template");
  sh("cp", ["-a", MINBASE, t]);
  sh("cp", ["-a", aptRepo.root, join(t, APT_IN_TREE)]);
  const etc = join(t, "etc");
  rmSync(join(etc, "apt/sources.list"), { force: true });
  mkdirSync(join(etc, "apt/keyrings"), { recursive: true });
  sh("cp", [aptRepo.keyring, join(etc, "apt/keyrings/tsostree-test.gpg")]);
  writeFileSync(
    join(etc, "apt/sources.list.d/tsostree-test.sources"),
    fixture.aptSourcesEntry({ uri: `file://${APT_IN_TREE}` }, "/etc/apt/keyrings/tsostree-test.gpg"),
  );
  sh("chroot", [t, "apt-get", "update", "-q"], {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  return t;
}

/**
 * The set-up the layering benches share: the fixtures, the big base, a work directory holding a
 * local signed apt repository. `body({fixture, debs, big, work, aptRepo})` returns the rows; the work
 * directory is removed afterwards (BENCH_KEEP=1 keeps it). No rows when this machine cannot run it.
 */
export async function withBenchWork(name, body) {
  const why = missing();
  if (why) {
    console.error(`bench ${name}: skipped: ${why}`);
    return [];
  }
  const fixture = await import(pathToFileURL(join(root, "dist/test/compose/apt-fixture.js")).href);
  const debs = fixtures();
  const big = bigBase();
  const work = join(root, "bench/out", `${name}-${Date.now()}`);
  mkdirSync(work, { recursive: true });
  let aptRepo;
  try {
    aptRepo = fixture.makeAptRepo(work, debs);
    return await body({ fixture, debs, big, work, aptRepo });
  } finally {
    if (aptRepo) spawnSync("gpgconf", ["--kill", "all"], { env: aptRepo.gpgEnv, stdio: "ignore" });
    if (!process.env.BENCH_KEEP) {
      spawnSync("chattr", ["-R", "-i", work], { stdio: "ignore" });
      rmSync(work, { recursive: true, force: true });
    } else console.error(`bench ${name}: kept ${work}`);
  }
}

export async function run() {
  return withBenchWork("layer", async ({ fixture, debs, big, work, aptRepo }) => {
    console.error("bench layer: set-up (untimed): template sysroots, apt tree");
    const bases = {};
    for (const [name, tree] of [
      ["minbase", MINBASE],
      ["big", big.tree],
    ]) {
      const dir = join(work, `tpl-${name}`);
      mkdirSync(dir);
      const tpl = templateSysroot(tree, dir, aptRepo, fixture);
      // Steady state: the script sandbox's checkout of the base (made by the first transaction on a
      // base, then reused) is in place, as after any earlier install on this base.
      const t0 = Date.now();
      await warmSandboxBase(tpl.sysroot);
      console.error(`  ${name}: the sandbox's base checkout made once: ${Date.now() - t0} ms (untimed)`);
      tpl.stage = stagedFiles(debs, tpl.adds, dir);
      bases[name] = tpl;
      console.error(
        `  ${name}: ${tpl.size.files} files, ${tpl.size.mb} MB deployed (compose rootfs + deploy ${tpl.composeMs} ms); install strace adds ${tpl.adds.join(", ")}`,
      );
    }
    const state = makeStates(bases, aptTemplate(aptRepo, fixture, work), work);
    const res = installRuns(state, bases, work);
    verify(state, res);
    const again = reinstallRuns(state, res, work);
    return report(res, again, bases, big);
  });
}

/**
 * Every state the timed runs need, made now, so that nothing is created or deleted between them:
 * per base and run (index 0: the warm-up) a hardlink copy of the template sysroot and one of its
 * repo for ostree; per run a full copy of the apt tree (dpkg writes its files in place).
 */
function makeStates(bases, aptTpl, work) {
  const state = { ts: {}, ostree: {}, apt: [] };
  for (const name of Object.keys(bases)) {
    state.ts[name] = [];
    state.ostree[name] = [];
    for (let i = 0; i <= runs; i++) {
      const s = join(work, `ts-${name}-${i}`);
      sh("cp", ["-al", bases[name].sysroot, s]);
      state.ts[name].push(s);
      const o = join(work, `ostree-${name}-${i}`);
      mkdirSync(o);
      sh("cp", ["-al", join(bases[name].sysroot, "ostree/repo"), join(o, "repo")]);
      state.ostree[name].push(o);
    }
  }
  for (let i = 0; i <= runs; i++) {
    const a = join(work, `apt-${i}`);
    sh("cp", ["-a", aptTpl, a]);
    state.apt.push(a);
  }
  return state;
}

function printRun(i, what, r) {
  const mb = (r.rssKiB / 1024).toFixed(0).padStart(4);
  const failed = r.failed ? `  FAILED (${r.failed})` : "";
  const cpu = r.cpuMs.toFixed(0).padStart(6);
  console.error(
    `  run ${i}/${runs} ${what.padEnd(19)} ${r.ms.toFixed(0).padStart(6)} ms  CPU ${cpu} ms  ${mb} MB${failed}`,
  );
}

const installCmd = (sysroot) => `${q(PKG)} install strace --sysroot=${q(sysroot)}`;

/**
 * The five jobs, one untimed warm-up each, then BENCH_RUNS rounds in alternating order; returns
 * {job: [result per run index, 0 = warm-up]}.
 */
function installRuns(state, bases, work) {
  const jobs = {
    "tsostree minbase": (i) => timed(installCmd(state.ts.minbase[i]), work),
    "tsostree big": (i) => timed(installCmd(state.ts.big[i]), work),
    "ostree minbase": (i) => ostreePattern(state.ostree.minbase[i], bases.minbase.stage, work),
    "ostree big": (i) => ostreePattern(state.ostree.big[i], bases.big.stage, work),
    "apt-get minbase": (i) => mustTime(`chroot ${q(state.apt[i])} apt-get install -y -q strace`, work),
  };
  const res = Object.fromEntries(Object.keys(jobs).map((k) => [k, []]));
  console.error("bench layer: warm-up (untimed)");
  for (const [name, job] of Object.entries(jobs)) {
    res[name][0] = job(0);
    if (res[name][0].failed) printRun(0, name, res[name][0]);
  }
  for (let i = 1; i <= runs; i++) {
    const order = Object.keys(jobs);
    if (i % 2 === 0) order.reverse();
    for (const name of order) {
      res[name][i] = jobs[name](i);
      printRun(i, name, res[name][i]);
    }
  }
  return res;
}

/**
 * Re-install after rollback, on every timed run's sysroot whose install succeeded: the layered
 * deployment is rolled back (untimed), then strace is asked for again, with every package in the
 * repo already: no download, no import (checked on the output).
 */
function reinstallRuns(state, res, work) {
  const layered = (name, i) => !res[`tsostree ${name}`][i].failed;
  for (const name of ["minbase", "big"])
    for (let i = 1; i <= runs; i++)
      if (layered(name, i)) sh(PKG, ["rollback", `--sysroot=${state.ts[name][i]}`]);
  const again = { minbase: [], big: [] };
  for (let i = 1; i <= runs; i++) {
    for (const name of i % 2 ? ["minbase", "big"] : ["big", "minbase"]) {
      if (!layered(name, i)) continue;
      const r = timed(installCmd(state.ts[name][i]), work);
      if (!r.failed && /Downloading|Importing/.test(r.out))
        throw new Error(`bench layer: the re-install after rollback downloaded or imported again:\n${r.out}`);
      again[name].push(r);
      printRun(i, `re-install ${name}`, r);
    }
  }
  return again;
}

/**
 * ostree's layering pattern, as rpm-ostree once did it: a hardlink checkout of the whole base, the
 * packages' files added, the checkout committed again (unchanged files found by inode).
 */
function ostreePattern(dir, stage, work) {
  const o = OSTREE.map(q).join(" ");
  const repo = q(join(dir, "repo"));
  const co = q(join(dir, "co"));
  return mustTime(
    `${o} checkout --repo=${repo} -H ${REF} ${co} && cp -a ${q(stage)}/. ${co}/ && ${o} commit --repo=${repo} -b layered -s layered --link-checkout-speedup --tree=dir=${co} >/dev/null`,
    work,
  );
}

/** Each tool really did the job (checked after the timed runs, on every state that succeeded). */
function verify(state, res) {
  for (const name of ["minbase", "big"]) {
    state.ts[name].forEach((s, i) => {
      if (res[`tsostree ${name}`][i].failed) return;
      if (!existsSync(join(deploymentDir(s), "usr/bin/strace")))
        throw new Error(`bench layer: ${s}: no usr/bin/strace deployed`);
    });
    for (const o of state.ostree[name])
      sh(OSTREE[0], [...OSTREE.slice(1), "ls", `--repo=${join(o, "repo")}`, "layered", "/usr/bin/strace"]);
  }
  for (const a of state.apt)
    if (!existsSync(join(a, "usr/bin/strace")))
      throw new Error(`bench layer: ${a}: apt-get did not install strace`);
}

function report(res, again, bases, big) {
  const timedRuns = (k) => res[k].slice(1);
  const good = (xs) => xs.filter((r) => !r.failed);
  const ms = (xs, key = "ms") => (good(xs).length ? median(good(xs).map((r) => r[key])) : null);
  const mb = (xs) => (good(xs).length ? Math.round(Math.max(...good(xs).map((r) => r.rssKiB)) / 1024) : null);
  const round = (x) => (x === null ? null : Math.round(x));
  const r2 = (a, b) => (a === null || b === null ? null : Number((a / b).toFixed(2)));
  const tsMin = ms(timedRuns("tsostree minbase"));
  const tsBig = ms(timedRuns("tsostree big"));
  const oMin = ms(timedRuns("ostree minbase"));
  const oBig = ms(timedRuns("ostree big"));
  const apt = ms(timedRuns("apt-get minbase"));
  const bigMB = mb(timedRuns("tsostree big"));
  // The layered commit alone: the time our progress line stamps when deploying starts.
  const toDeploy = (xs) => {
    const t = good(xs)
      .map((r) => /\[\s*([\d.]+)s\] Deploying/.exec(r.out)?.[1])
      .filter(Boolean)
      .map((x) => Number(x) * 1000);
    return t.length ? median(t) : null;
  };
  const cMin = toDeploy(timedRuns("tsostree minbase"));
  const cBig = toDeploy(timedRuns("tsostree big"));
  const sz = (n) => `${(bases[n].size.files / 1000).toFixed(1)}k files, ${bases[n].size.mb} MB`;
  const failures = [...Object.values(res).flat(), ...Object.values(again).flat()].filter((r) => r.failed);
  const rows = [
    {
      name: `layer: install strace, minbase (${sz("minbase")}); ostree col = checkout+add+commit`,
      ostreeMs: round(oMin),
      tsostreeMs: round(tsMin),
      ratio: null,
      bar: "-",
    },
    {
      name: `layer: install strace, big base (${sz("big")}); ostree col = checkout+add+commit`,
      ostreeMs: round(oBig),
      tsostreeMs: round(tsBig),
      ratio: null,
      bar: "-",
    },
    {
      name: "layer: install strace, growth big/minbase (ostree's pattern beside ours)",
      ostreeMs: `${r2(oBig, oMin)}x`,
      tsostreeMs: `${r2(tsBig, tsMin)}x`,
      ratio: r2(tsBig, tsMin),
      bar: GROWTH_BAR,
      pass: r2(tsBig, tsMin) !== null,
    },
    {
      name: "layer: the layered commit alone (until deploying starts), minbase / big / growth",
      ostreeMs: null,
      tsostreeMs: `${round(cMin)} / ${round(cBig)} / ${r2(cBig, cMin)}x`,
      ratio: r2(cBig, cMin),
      bar: GROWTH_BAR,
      pass: r2(cBig, cMin) !== null,
    },
    {
      name: "layer: install strace vs chroot apt-get install -y strace, minbase; ostree col = apt",
      ostreeMs: round(apt),
      tsostreeMs: round(tsMin),
      ratio: r2(tsMin, apt),
      bar: APT_BAR,
      pass: r2(tsMin, apt) !== null,
    },
    {
      name: "layer: re-install after rollback, minbase (all imported)",
      ostreeMs: null,
      tsostreeMs: round(ms(again.minbase)),
      ratio: null,
      bar: "-",
    },
    {
      name: "layer: re-install after rollback, big base (all imported)",
      ostreeMs: null,
      tsostreeMs: round(ms(again.big)),
      ratio: null,
      bar: "-",
    },
    {
      name: "layer: peak RSS of install strace, big base, MB; ostree col = ostree's",
      ostreeMs: mb(timedRuns("ostree big")),
      tsostreeMs: bigMB,
      ratio: null,
      bar: MEM_BAR_MB,
      pass: bigMB !== null && bigMB < MEM_BAR_MB,
    },
    {
      name: "layer: tsostree runs that failed (warm-up, timed and re-install)",
      ostreeMs: null,
      tsostreeMs: failures.length,
      ratio: null,
      bar: 0,
      pass: failures.length === 0,
    },
  ];
  const cpu = (k) => ms(timedRuns(k), "cpuMs");
  const each = (xs) => xs.map((r) => (r.failed ? "FAIL" : r.ms.toFixed(0))).join("/");
  const fmt = (x) => (x === null ? "n/a" : x.toFixed(0)).padStart(6);
  console.log(`layer bench: ${runs} timed runs each after one untimed warm-up (ms, every run in order)`);
  const detail = (k, xs) =>
    console.log(
      `  ${k.padEnd(19)} median ${fmt(ms(xs))}  CPU ${fmt(ms(xs, "cpuMs"))}  runs ${each(xs)}  max RSS ${mb(xs)} MB`,
    );
  for (const k of Object.keys(res)) detail(k, timedRuns(k));
  for (const k of Object.keys(again)) detail(`re-install ${k}`, again[k]);
  console.log(`  big base: ${big.kind}`);
  for (const n of ["minbase", "big"]) {
    const ok = timedRuns(`tsostree ${n}`).find((r) => !r.failed);
    const ran = ok ? [...ok.out.matchAll(/^(?:\[ *[\d.]+s\] )?Ran (.+)$/gm)].map((m) => m[1]) : [];
    console.log(`  scripts run on ${n}: ${ran.length ? ran.join(", ") : "none"}`);
  }
  for (const f of failures) console.log(`  failed: ${f.failed}`);
  console.log(
    `  growth big/minbase: tsostree ${r2(tsBig, tsMin)}x (bar <= ${GROWTH_BAR}; CPU ${r2(cpu("tsostree big"), cpu("tsostree minbase"))}x), ostree checkout+add+commit ${r2(oBig, oMin)}x (CPU ${r2(cpu("ostree big"), cpu("ostree minbase"))}x); tsostree/apt ${r2(tsMin, apt)} (bar <= ${APT_BAR}; CPU ${r2(cpu("tsostree minbase"), cpu("apt-get minbase"))}); peak RSS big ${bigMB} MB (bar < ${MEM_BAR_MB})`,
  );
  return rows;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rows = await run();
  process.exitCode = rows.every((r) => (r.ratio === null ? r.pass !== false : r.ratio <= r.bar)) ? 0 : 1;
}
