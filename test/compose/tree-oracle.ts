// Oracles over a tree on disk for the layering end-to-end tests: what is in it (a manifest to prove
// "byte for byte unchanged"), does a binary of it run, and what do dpkg and rpm themselves say.
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunResult, run } from "../helpers.js";
import { RPM_DBPATH } from "./rpm-fixture.js";

/** The dpkg database of an ostree-ready tree (var/lib/dpkg moved under /usr). */
export const DPKG_ADMINDIR = "usr/share/dpkg/database";

export interface ManifestEntry {
  /** Relative to the tree, no leading slash: "usr/bin/strace". */
  path: string;
  type: "file" | "dir" | "symlink" | "char" | "block" | "fifo" | "socket";
  /** Permission bits, setuid/setgid/sticky included, octal: "755". */
  mode: string;
  uid: number;
  gid: number;
  /** Regular files: sha256 of the content. */
  sha256?: string;
  /** Symlinks: the target as stored. */
  target?: string;
  /** Device nodes: st_rdev. */
  rdev?: number;
}

/**
 * Every path under `root` with its type, mode, owner and content digest (or link target), sorted by
 * path. `skip(rel)` leaves out a path and, for a directory, everything below it.
 */
export function manifest(root: string, skip: (rel: string) => boolean = () => false): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(rel ? join(root, rel) : root).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      if (skip(path)) continue;
      const abs = join(root, path);
      const st = lstatSync(abs);
      const e: ManifestEntry = {
        path,
        type: "file",
        mode: (st.mode & 0o7777).toString(8),
        uid: st.uid,
        gid: st.gid,
      };
      if (st.isFile()) e.sha256 = createHash("sha256").update(readFileSync(abs)).digest("hex");
      else if (st.isSymbolicLink()) Object.assign(e, { type: "symlink", target: readlinkSync(abs) });
      else if (st.isDirectory()) e.type = "dir";
      else if (st.isCharacterDevice() || st.isBlockDevice())
        Object.assign(e, { type: st.isCharacterDevice() ? "char" : "block", rdev: st.rdev });
      else e.type = st.isFIFO() ? "fifo" : "socket";
      out.push(e);
      if (e.type === "dir") walk(path);
    }
  };
  walk("");
  return out;
}

/** One entry as one line: "usr/bin/x file 755 0:0 sha256:…" — readable in an assertion's diff. */
export function manifestLine(e: ManifestEntry): string {
  const what = e.sha256
    ? `sha256:${e.sha256}`
    : e.target !== undefined
      ? `-> ${e.target}`
      : `${e.rdev ?? ""}`;
  return `${e.path} ${e.type} ${e.mode} ${e.uid}:${e.gid} ${what}`.trimEnd();
}

/** What differs between two manifests, by path, as manifest lines (small enough to assert on). */
export function diffManifests(
  from: ManifestEntry[],
  to: ManifestEntry[],
): { added: string[]; removed: string[]; changed: string[] } {
  const a = new Map(from.map((e) => [e.path, manifestLine(e)]));
  const b = new Map(to.map((e) => [e.path, manifestLine(e)]));
  const added = [...b].filter(([p]) => !a.has(p)).map(([, l]) => l);
  const removed = [...a].filter(([p]) => !b.has(p)).map(([, l]) => l);
  const changed = [...b]
    .filter(([p, l]) => a.has(p) && a.get(p) !== l)
    .map(([p, l]) => `${a.get(p)}  =>  ${l}`);
  return { added, removed, changed };
}

/**
 * Runs `argv` (a path inside the tree first, e.g. ["/usr/bin/strace", "-V"]) with `root` as `/`:
 * bubblewrap, a fresh /dev and /proc, no network, a clean environment. The tree is bound read-only
 * unless `writable`: a deployment's files are hardlinks into the repo and must never be written.
 * /dev, /proc and /tmp are mounted only where the tree has the directory (a read-only root cannot
 * grow a mount point).
 */
export function runInTree(
  root: string,
  argv: string[],
  opts: { writable?: boolean; input?: string; env?: Record<string, string> } = {},
): RunResult {
  const mounts = [
    ...(existsSync(join(root, "dev")) ? ["--dev", "/dev"] : []),
    ...(existsSync(join(root, "proc")) ? ["--proc", "/proc"] : []),
    ...(existsSync(join(root, "tmp")) ? ["--tmpfs", "/tmp"] : []),
  ];
  const env = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: "/",
    ...opts.env,
  };
  return run(
    "bwrap",
    [
      opts.writable ? "--bind" : "--ro-bind",
      root,
      "/",
      ...mounts,
      "--unshare-net",
      "--die-with-parent",
      "--clearenv",
      ...Object.entries(env).flatMap(([k, v]) => ["--setenv", k, v]),
      "--chdir",
      "/",
      "--",
      ...argv,
    ],
    { input: opts.input },
  );
}

/**
 * `dpkg-query --admindir=ADMINDIR ARGS`, ADMINDIR being the tree's usr/share/dpkg/database, or its
 * var/lib/dpkg for a tree not yet made ostree-ready (a debootstrap output).
 */
export function dpkgQuery(root: string, args: string[]): RunResult {
  const ready = join(root, DPKG_ADMINDIR);
  const admindir =
    existsSync(ready) || !existsSync(join(root, "var/lib/dpkg/status")) ? ready : join(root, "var/lib/dpkg");
  return run("dpkg-query", [`--admindir=${admindir}`, ...args]);
}

/**
 * `rpm --root=ROOT --dbpath=/usr/lib/sysimage/rpm ARGS` for queries. Even `rpm -qa` opens the
 * sqlite db for writing (it leaves -shm and -wal files, and fails in a read-only directory), so by
 * default rpm reads a scratch copy of the tree's db; `inPlace` runs it on the tree itself (for
 * queries that look at files, such as -V).
 */
export function rpmQuery(root: string, args: string[], opts: { inPlace?: boolean } = {}): RunResult {
  if (opts.inPlace) return run("rpm", [`--root=${root}`, `--dbpath=${RPM_DBPATH}`, ...args]);
  if (!existsSync(join(root, RPM_DBPATH, "rpmdb.sqlite")))
    throw new Error(
      `rpmQuery: ${root} has no ${RPM_DBPATH}/rpmdb.sqlite (not an rpm tree, or not made ostree-ready?)`,
    );
  const scratch = mkdtempSync(join(process.env.TSOSTREE_TEST_TMP ?? tmpdir(), "tsostree-rpmq-"));
  try {
    const db = join(scratch, RPM_DBPATH);
    mkdirSync(db, { recursive: true });
    for (const f of readdirSync(join(root, RPM_DBPATH)))
      if (f.startsWith("rpmdb.sqlite")) copyFileSync(join(root, RPM_DBPATH, f), join(db, f));
    return run("rpm", [`--root=${scratch}`, `--dbpath=${RPM_DBPATH}`, ...args]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
