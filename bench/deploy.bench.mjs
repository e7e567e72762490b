// `admin deploy` of the reference minbase commit: tsostree vs the real ostree 2022.7, side by side.
// The minbase tree (fixtures/out/minbase, from fixtures/minbase.sh) plus a fake kernel is committed
// once with ostree; every timed run deploys that commit into a fresh sysroot whose repo is a
// hardlink copy of the template (so both tools start from identical state, nothing is deleted
// between runs). Prints the median of each and the ratio (bar: <= 1.5).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const minbase = process.env.MINBASE ?? join(root, "fixtures/out/minbase");
const runs = Number(process.env.BENCH_RUNS ?? 3);
// Never give the real ostree CAP_SYS_ADMIN: it would fsfreeze this machine's root fs.
const OSTREE = ["setpriv", "--bounding-set=-sys_admin", "--", "ostree"];

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 28, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}
const ostree = (...a) => sh(OSTREE[0], [...OSTREE.slice(1), ...a]);

export async function run() {
  if (!existsSync(join(minbase, "usr")))
    throw new Error(`no minbase tree at ${minbase}; run fixtures/minbase.sh`);
  const work = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), "tsostree-bench-deploy-"));
  try {
    // ostree commits only regular files, symlinks and dirs: drop /dev nodes from a hardlink copy.
    const tree = join(work, "tree");
    sh("cp", ["-al", minbase, tree]);
    sh("find", [
      tree,
      "(",
      "-type",
      "c",
      "-o",
      "-type",
      "b",
      "-o",
      "-type",
      "p",
      "-o",
      "-type",
      "s",
      ")",
      "-delete",
    ]);
    // A bootable commit keeps its config defaults in /usr/etc (ostree 2022.7 cannot deploy /etc-only trees).
    sh("mv", [join(tree, "etc"), join(tree, "usr/etc")]);
    const mod = join(tree, "usr/lib/modules/6.1.0-bench");
    mkdirSync(mod, { recursive: true });
    writeFileSync(join(mod, "vmlinuz"), Buffer.alloc(8 << 20, 1));
    writeFileSync(join(mod, "initramfs.img"), Buffer.alloc(16 << 20, 2));
    const template = join(work, "template");
    mkdirSync(template);
    ostree("admin", "init-fs", template);
    ostree("admin", `--sysroot=${template}`, "os-init", "minbase");
    ostree(
      `--repo=${template}/ostree/repo`,
      "commit",
      "-b",
      "minbase/stable",
      `--tree=dir=${tree}`,
      "-s",
      "minbase",
    );
    const times = { ostree: [], tsostree: [] };
    const cpu = { ostree: [], tsostree: [] };
    const tsBin = join(root, "bin/tsostree");
    for (let i = 0; i < runs; i++) {
      for (const tool of i % 2 ? ["tsostree", "ostree"] : ["ostree", "tsostree"]) {
        const s = join(work, `${tool}-${i}`);
        sh("cp", ["-al", template, s]);
        const args = ["admin", `--sysroot=${s}`, "deploy", "--os=minbase", "minbase/stable"];
        const [cmd, ...pre] = tool === "ostree" ? OSTREE : [tsBin];
        // bash's `time` also gives the child's CPU time, which is far less noisy than wall time
        // on a shared machine.
        const quoted = [cmd, ...pre, ...args].map((a) => `'${a}'`).join(" ");
        const out = spawnSync("bash", ["-c", `TIMEFORMAT='%R %U %S'; time ${quoted} >/dev/null 2>&1`], {
          encoding: "utf8",
          env: { ...process.env, TSOSTREE_QUIET: "1" },
        });
        const [real, user, sys] = out.stderr.trim().split("\n").pop().split(" ").map(Number);
        if (out.status !== 0 || Number.isNaN(real)) throw new Error(`${tool} deploy failed: ${out.stderr}`);
        times[tool].push(real * 1000);
        cpu[tool].push((user + sys) * 1000);
      }
    }
    const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const o = median(times.ostree);
    const t = median(times.tsostree);
    const result = {
      name: "admin deploy (minbase)",
      ostreeMs: Math.round(o),
      tsostreeMs: Math.round(t),
      ratio: Number((t / o).toFixed(2)),
      bar: 1.5,
      cpuOstreeMs: Math.round(median(cpu.ostree)),
      cpuTsostreeMs: Math.round(median(cpu.tsostree)),
      runs: times,
    };
    console.log(
      `admin deploy minbase: ostree ${result.ostreeMs} ms, tsostree ${result.tsostreeMs} ms, ratio ${result.ratio} (bar <= ${result.bar}); CPU ostree ${result.cpuOstreeMs} ms, tsostree ${result.cpuTsostreeMs} ms`,
    );
    return result;
  } finally {
    spawnSync("chattr", ["-R", "-i", work], { stdio: "ignore" });
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await run();
  process.exitCode = r.ratio <= r.bar ? 0 : 1;
}
