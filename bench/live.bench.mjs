// Live-apply, `tsostree-pkg apply-live --sysroot=S` on a booted (simulated) sandbox sysroot, right
// after `tsostree-pkg install strace` made the pending deployment: the time of apply-live alone on
// the minbase base and on the big base (bench/trees.mjs debootstrapTree(), about 3× minbase). The
// diff booted → pending stops at equal dirtree checksums and only the added files are checked out,
// so the time must follow strace's files, not the base: big/minbase ≤ 1.2. The install itself
// (without --apply-live) is timed on the same states and printed beside it.
//
// Set-up as bench/layer.bench.mjs (whose helpers it uses): one template sysroot per base (compose
// rootfs, deploy, the deployment's apt pointed at a local signed repository, a dry run for warm
// caches, the script sandbox's base checkout), then `admin boot`; per run a hardlink copy of the
// template. Each round: sync, install (timed), sync, apply-live (timed); the base order alternates;
// one untimed warm-up round first. Needs root. BENCH_RUNS (default 5), BENCH_KEEP=1 keeps the work
// directory.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { median, q, sh, templateSysroot, timed, warmSandboxBase, withBenchWork } from "./layer.bench.mjs";
import { root } from "./trees.mjs";

const runs = Number(process.env.BENCH_RUNS ?? 5);
const GROWTH_BAR = 1.2;
const MINBASE = process.env.MINBASE ?? join(root, "fixtures/out/minbase");
const TS = join(root, "bin/tsostree");
const PKG = join(root, "bin/tsostree-pkg");

function printRun(i, what, r) {
  const failed = r.failed ? `  FAILED (${r.failed})` : "";
  console.error(
    `  run ${i}/${runs} ${what.padEnd(20)} ${r.ms.toFixed(0).padStart(6)} ms  CPU ${r.cpuMs.toFixed(0).padStart(6)} ms${failed}`,
  );
}

export async function run() {
  return withBenchWork("live", async ({ fixture, big, work, aptRepo }) => {
    console.error("bench live: set-up (untimed): booted template sysroots, copies");
    const bases = {};
    for (const [name, tree] of [
      ["minbase", MINBASE],
      ["big", big.tree],
    ]) {
      const dir = join(work, `tpl-${name}`);
      mkdirSync(dir);
      const tpl = templateSysroot(tree, dir, aptRepo, fixture);
      await warmSandboxBase(tpl.sysroot);
      sh(TS, ["admin", "boot", `--sysroot=${tpl.sysroot}`]);
      bases[name] = tpl;
      console.error(
        `  ${name}: ${tpl.size.files} files deployed; install strace adds ${tpl.adds.join(", ")}`,
      );
    }
    const states = {};
    for (const name of Object.keys(bases)) {
      states[name] = [];
      for (let i = 0; i <= runs; i++) {
        const s = join(work, `ts-${name}-${i}`);
        sh("cp", ["-al", bases[name].sysroot, s]);
        states[name].push(s);
      }
    }
    const res = { install: { minbase: [], big: [] }, live: { minbase: [], big: [] } };
    for (let i = 0; i <= runs; i++) {
      for (const name of i % 2 ? ["minbase", "big"] : ["big", "minbase"]) {
        const s = states[name][i];
        const inst = timed(`${q(PKG)} install strace --sysroot=${q(s)}`, work);
        const live = inst.failed
          ? { ...inst, failed: "install failed" }
          : timed(`${q(PKG)} apply-live --sysroot=${q(s)}`, work);
        if (!live.failed && !/Applied [0-9a-f]{64} live/.test(live.out))
          live.failed = `apply-live did not apply: ${live.out.trim().split("\n")[0]}`;
        if (!live.failed && !existsSync(join(s, "run/root/usr/bin/strace")))
          live.failed = "no usr/bin/strace in the running root";
        res.install[name][i] = inst;
        res.live[name][i] = live;
        if (i > 0) {
          printRun(i, `install ${name}`, inst);
          printRun(i, `apply-live ${name}`, live);
        }
      }
    }
    return report(res, bases, big);
  });
}

function report(res, bases, big) {
  const good = (xs) => xs.slice(1).filter((r) => !r.failed);
  const ms = (xs, key = "ms") => (good(xs).length ? median(good(xs).map((r) => r[key])) : null);
  const round = (x) => (x === null ? null : Math.round(x));
  const r2 = (a, b) => (a === null || b === null ? null : Number((a / b).toFixed(2)));
  const lMin = ms(res.live.minbase);
  const lBig = ms(res.live.big);
  const iMin = ms(res.install.minbase);
  const iBig = ms(res.install.big);
  const failures = [...Object.values(res.live), ...Object.values(res.install)].flat().filter((r) => r.failed);
  const files = (n) => `${(bases[n].size.files / 1000).toFixed(1)}k files`;
  console.log(`live bench: ${runs} timed runs each after one untimed warm-up (ms, median; CPU median)`);
  const each = (xs) => xs.slice(1).map((r) => (r.failed ? "FAIL" : r.ms.toFixed(0)));
  for (const kind of ["install", "live"])
    for (const n of ["minbase", "big"]) {
      const xs = res[kind][n];
      const what = `${kind === "live" ? "apply-live" : "install"} ${n}`.padEnd(20);
      const med = String(round(ms(xs))).padStart(6);
      const cpu = String(round(ms(xs, "cpuMs"))).padStart(6);
      console.log(`  ${what} ${med}  CPU ${cpu}  runs ${each(xs).join("/")}`);
    }
  console.log(`  big base: ${big.kind}`);
  for (const f of failures) console.log(`  failed: ${f.failed}`);
  return [
    {
      name: `live: apply-live strace, minbase (${files("minbase")}); ostree col = install without --apply-live`,
      ostreeMs: round(iMin),
      tsostreeMs: round(lMin),
      ratio: null,
      bar: "-",
    },
    {
      name: `live: apply-live strace, big base (${files("big")}); ostree col = install without --apply-live`,
      ostreeMs: round(iBig),
      tsostreeMs: round(lBig),
      ratio: null,
      bar: "-",
    },
    {
      name: "live: apply-live growth big/minbase (install's growth in the ostree col)",
      ostreeMs: `${r2(iBig, iMin)}x`,
      tsostreeMs: `${r2(lBig, lMin)}x`,
      ratio: r2(lBig, lMin),
      bar: GROWTH_BAR,
      pass: r2(lBig, lMin) !== null,
    },
    {
      name: "live: runs that failed (install or apply-live)",
      ostreeMs: null,
      tsostreeMs: failures.length,
      ratio: null,
      bar: 0,
      pass: failures.length === 0,
    },
  ];
}
