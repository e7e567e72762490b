// Reference trees for the repo benchmark, built once under bench/out/trees and reused:
//   minbase — Debian bookworm `debootstrap --variant=minbase` (fixtures/minbase.sh) without /dev nodes
//   large   — minbase plus two variants of it whose every regular file has one extra line, so that
//             nothing deduplicates (~17k files, ~620 MB): the size of a small real OS tree.
//   debootstrapTree() — a real Debian tree about 3× minbase: `debootstrap --variant=minbase
//             --include=python3,perl,systemd,…` from this host's Debian mirror, with a real dpkg
//             database and a placeholder kernel (so it can be composed and deployed); for the
//             layering benchmark, which needs a base whose package set is real.
import { spawnSync } from "node:child_process";
import {
  appendFileSync,
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "bench/out/trees");

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

function minbaseSource() {
  const src = process.env.MINBASE ?? join(root, "fixtures/out/minbase");
  if (!existsSync(join(src, "usr"))) {
    console.error("bench: building fixtures/out/minbase with debootstrap (needs the Debian mirror)…");
    sh("bash", [join(root, "fixtures/minbase.sh")]);
  }
  return src;
}

/** Copies a tree; device nodes, fifos and sockets (which OSTree cannot store) are left out. */
function copyTree(src, dst, variant) {
  mkdirSync(dst);
  for (const name of readdirSync(src)) {
    const s = join(src, name);
    const d = join(dst, name);
    const st = lstatSync(s);
    if (st.isDirectory()) copyTree(s, d, variant);
    else if (st.isSymbolicLink()) symlinkSync(readlinkSync(s), d);
    else if (st.isFile()) {
      copyFileSync(s, d);
      if (variant) {
        const fd = openSync(d, "a");
        writeSync(fd, `\n# variant ${variant}\n`);
        closeSync(fd);
      }
    } else continue;
    lchownSync(d, st.uid, st.gid);
    if (!st.isSymbolicLink()) chmodSync(d, st.mode & 0o7777);
  }
}

/** The path of a ready reference tree ("minbase" or "large"), building it on first use. */
export function referenceTree(name) {
  const dir = join(out, name);
  if (existsSync(join(dir, ".complete"))) return join(dir, "tree");
  const tmp = `${dir}.tmp-${process.pid}`;
  mkdirSync(tmp, { recursive: true });
  const src = minbaseSource();
  if (name === "minbase") copyTree(src, join(tmp, "tree"));
  else {
    const tree = join(tmp, "tree");
    mkdirSync(tree);
    copyTree(src, join(tree, "base"));
    copyTree(src, join(tree, "variant1"), 1);
    copyTree(src, join(tree, "variant2"), 2);
  }
  sh("sync", []);
  closeSync(openSync(join(tmp, ".complete"), "w"));
  mkdirSync(dirname(dir), { recursive: true });
  renameSync(tmp, dir);
  return join(dir, "tree");
}

/** The packages debootstrapTree() adds to minbase, with what they depend on: ~17k files, ~600 MB. */
export const BIG_INCLUDE = [
  "python3",
  "python3-pip",
  "perl",
  "systemd",
  "systemd-sysv",
  "git",
  "gcc",
  "libc6-dev",
  "make",
  "vim",
  "curl",
  "openssh-client",
  "iproute2",
  "less",
  "man-db",
  "locales",
];

/** The Debian mirror this host's apt uses (as fixtures/minbase.sh finds it), or DEBIAN_MIRROR. */
function hostMirror() {
  if (process.env.DEBIAN_MIRROR) return process.env.DEBIAN_MIRROR;
  const files = ["/etc/apt/sources.list"];
  const d = "/etc/apt/sources.list.d";
  if (existsSync(d)) files.push(...readdirSync(d).map((f) => join(d, f)));
  for (const f of files) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, "utf8").split("\n")) {
      if (!/^(URIs:|deb )/.test(line)) continue;
      const url = line.split(/\s+/).find((w) => /^[a-z]+:\/\/.*\/debian\/?$/.test(w));
      if (url) return url;
    }
  }
  throw new Error(
    "bench: no Debian mirror in this host's apt sources: set DEBIAN_MIRROR=http://deb.debian.org/debian",
  );
}

/** Lazily unmounts whatever debootstrap left mounted under DIR (it may leave /proc behind). */
function unmountUnder(dir) {
  const mounts = readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m) => m && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync("umount", ["-l", m]);
}

/**
 * The path of the big Debian tree (see BIG_INCLUDE), built with debootstrap on first use (needs
 * root and the Debian mirror; a few minutes) and cached under bench/out/trees/debootstrap-big,
 * keyed by the package list. Downloads are kept in bench/out/debootstrap-cache for rebuilds.
 */
export function debootstrapTree() {
  const dir = join(out, "debootstrap-big");
  const key = `bookworm minbase ${BIG_INCLUDE.join(",")}\n`;
  const stamp = join(dir, ".complete");
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === key) return join(dir, "tree");
  if (process.getuid?.() !== 0) throw new Error("bench: building the debootstrap tree needs root");
  const tmp = `${dir}.tmp-${process.pid}`;
  const tree = join(tmp, "tree");
  const cache = join(root, "bench/out/debootstrap-cache");
  mkdirSync(tmp, { recursive: true });
  mkdirSync(cache, { recursive: true });
  const mirror = hostMirror();
  console.error(
    `bench: debootstrap --variant=minbase --include=${BIG_INCLUDE.join(",")} from ${mirror} (minutes)…`,
  );
  const log = join(tmp, "debootstrap.log");
  const args = [
    "--variant=minbase",
    "--arch=amd64",
    `--cache-dir=${cache}`,
    `--include=${BIG_INCLUDE.join(",")}`,
    "bookworm",
    tree,
    mirror,
  ];
  const r = spawnSync("debootstrap", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  unmountUnder(tmp);
  writeFileSync(log, `${r.stdout}${r.stderr}`);
  if (r.status !== 0) throw new Error(`bench: debootstrap failed (exit ${r.status}); its log: ${log}`);
  // As fixtures/minbase.sh does: a placeholder kernel, so that the composed tree can be deployed.
  const kver = "6.1.0-0-tsostree-placeholder";
  mkdirSync(join(tree, "usr/lib/modules", kver), { recursive: true });
  writeFileSync(join(tree, "usr/lib/modules", kver, "vmlinuz"), `placeholder kernel ${kver}\n`);
  writeFileSync(join(tree, "usr/lib/modules", kver, "initramfs.img"), `placeholder initramfs ${kver}\n`);
  sh("sync", []);
  appendFileSync(join(tmp, ".complete"), key);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  renameSync(tmp, dir);
  return join(dir, "tree");
}
