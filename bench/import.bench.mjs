// Package import, tsostree vs the native extractors side by side: `tsostree-pkg import` of strace
// and its dependencies (fixtures/fetch-debian-packages.sh) against `dpkg-deb -x` of each, and one
// large package (a .deb and an .rpm built here, > 50 MB installed) against `dpkg-deb -x` and
// `rpm2cpio | cpio -idm`. We hash every file, write objects and make them durable (syncfs); they
// only extract. Fresh directories every run, each started with nothing left to write back
// (untimed `sync`), nothing deleted until the end. Bar: ratio <= 1.5; peak RSS reported.
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const runs = Number(process.env.BENCH_RUNS ?? 3);
const BAR = 1.5;

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 28, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Wall time (ms) and peak RSS (KiB) of one command line run through sh -c. */
function timed(script, work) {
  const rss = join(work, `.rss-${Math.random().toString(36).slice(2)}`);
  const t0 = process.hrtime.bigint();
  sh("/usr/bin/time", ["-f", "%M", "-o", rss, "sh", "-c", script]);
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, rssKiB: Number(readFileSync(rss, "utf8").trim()) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const q = (s) => `'${s.replace(/'/g, "'\\''")}'`;

/** A tree of real shared libraries and binaries, about 64 MB, for the large packages. */
function largeTree(dir) {
  const tree = join(dir, "large");
  const files = join(tree, "usr/lib/bench-large");
  mkdirSync(files, { recursive: true });
  let total = 0;
  let i = 0;
  for (const src of ["/usr/lib/x86_64-linux-gnu", "/usr/bin", "/usr/lib/jvm", "/usr/lib/gcc"]) {
    if (!existsSync(src)) continue;
    for (const f of sh("find", [src, "-type", "f", "-size", "+16k"]).trim().split("\n")) {
      if (total > 64 << 20) break;
      try {
        const data = readFileSync(f);
        writeFileSync(join(files, `f${i++}`), data);
        total += data.length;
      } catch {}
    }
  }
  return { tree, total };
}

function buildLargeDeb(dir, tree, total) {
  const pkg = join(dir, "debroot");
  sh("cp", ["-a", tree, pkg]);
  mkdirSync(join(pkg, "DEBIAN"));
  writeFileSync(
    join(pkg, "DEBIAN/control"),
    `Package: bench-large\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: bench <b@x>\nInstalled-Size: ${Math.ceil(total / 1024)}\nDescription: large benchmark package\n`,
  );
  const out = join(dir, "bench-large.deb");
  sh("dpkg-deb", ["--root-owner-group", "-Zxz", "-z6", "--build", pkg, out]);
  return out;
}

function buildLargeRpm(dir, tree) {
  const top = join(dir, "rpmtop");
  const spec = join(dir, "large.spec");
  writeFileSync(
    spec,
    `Name: bench-large\nVersion: 1.0\nRelease: 1\nSummary: large\nLicense: MIT\nBuildArch: noarch\n%description\nlarge\n%install\nmkdir -p %{buildroot}/usr/lib\ncp -a ${tree}/usr/lib/bench-large %{buildroot}/usr/lib/\n%files\n/usr/lib/bench-large\n`,
  );
  sh("rpmbuild", [
    "-bb",
    "--quiet",
    "--define",
    `_topdir ${top}`,
    "--define",
    "_binary_payload w19.zstdio",
    "--define",
    "__os_install_post %{nil}",
    "--define",
    "_build_id_links none",
    spec,
  ]);
  const d = join(top, "RPMS/noarch");
  return join(d, readdirSync(d)[0]);
}

function compare(name, work, files, native) {
  const pkg = join(root, "bin/tsostree-pkg");
  const ours = [];
  const theirs = [];
  let rss = 0;
  // One untimed run of each first, as on any machine after the first use: the page cache holds the
  // packages, and our bundle's code cache (bin/run-bundle.cjs) exists.
  mkdirSync(join(work, `${name}-warm`));
  sh("sh", ["-c", native(files, join(work, `${name}-warm`))]);
  sh("ostree", ["init", `--repo=${join(work, `${name}-warm-repo`)}`, "--mode=bare"]);
  sh(pkg, ["import", `--repo=${join(work, `${name}-warm-repo`)}`, ...files]);
  for (let r = 0; r < runs; r++) {
    const out = join(work, `${name}-native-${r}`);
    mkdirSync(out);
    const repo = join(work, `${name}-repo-${r}`);
    sh("ostree", ["init", `--repo=${repo}`, "--mode=bare"]);
    // Each timed run starts with nothing dirty in the page cache (an untimed sync): our import
    // ends with syncfs, which would otherwise also write back what the extractor just left
    // unwritten. The order alternates, so neither tool always runs first.
    const runNative = () => {
      sh("sync", []);
      theirs.push(timed(native(files, out), work).ms);
    };
    const runOurs = () => {
      sh("sync", []);
      const t = timed(`${q(pkg)} import --repo=${q(repo)} ${files.map(q).join(" ")} >/dev/null`, work);
      ours.push(t.ms);
      rss = Math.max(rss, t.rssKiB);
    };
    if (r % 2) {
      runOurs();
      runNative();
    } else {
      runNative();
      runOurs();
    }
  }
  const o = median(theirs);
  const t = median(ours);
  const runsOf = (xs) => xs.map((x) => x.toFixed(0)).join("/");
  console.error(
    `  ${name}: native ${o.toFixed(0)} ms (${runsOf(theirs)}), tsostree ${t.toFixed(0)} ms (${runsOf(ours)}), peak RSS ${(rss / 1024).toFixed(0)} MB`,
  );
  return {
    name,
    ostreeMs: Math.round(o),
    tsostreeMs: Math.round(t),
    ratio: Number((t / o).toFixed(2)),
    bar: BAR,
    rssMB: Math.round(rss / 1024),
  };
}

const dpkgX = (files, out) => files.map((f) => `dpkg-deb -x ${q(f)} ${q(out)}`).join(" && ");
const rpmX = (files, out) =>
  `cd ${q(out)} && ${files.map((f) => `rpm2cpio ${q(f)} | cpio -idm --quiet`).join(" && ")}`;

export async function run() {
  const debDir = join(root, "fixtures/out/debs");
  if (!existsSync(debDir)) sh("bash", [join(root, "fixtures/fetch-debian-packages.sh")]);
  const work = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), "tsostree-bench-import-"));
  try {
    const straceSet = readdirSync(debDir)
      .filter((f) => f.endsWith(".deb") && !/^(cron|logrotate)_/.test(f))
      .map((f) => join(debDir, f));
    const { tree, total } = largeTree(work);
    console.error(`  large package payload: ${(total / 1e6).toFixed(0)} MB`);
    const deb = buildLargeDeb(work, tree, total);
    const rpm = buildLargeRpm(work, tree);
    return [
      compare(`strace+deps (${straceSet.length} debs) vs dpkg-deb -x`, work, straceSet, dpkgX),
      compare("large .deb (xz) vs dpkg-deb -x", work, [deb], dpkgX),
      compare("large .rpm (zstd) vs rpm2cpio|cpio", work, [rpm], rpmX),
    ];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
