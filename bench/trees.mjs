// Reference trees for the repo benchmark, built once under bench/out/trees and reused:
//   minbase — Debian bookworm `debootstrap --variant=minbase` (fixtures/minbase.sh) without /dev nodes
//   large   — minbase plus two variants of it whose every regular file has one extra line, so that
//             nothing deduplicates (~17k files, ~620 MB): the size of a small real OS tree.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  renameSync,
  symlinkSync,
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
