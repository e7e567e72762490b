// `compose rootfs`: a root filesystem made by debootstrap, `dnf --installroot` or `rpm --root`
// becomes an ostree-ready base commit. The directory is committed as `ostree commit` would (it is
// only read), device nodes and other special files are left out, the relocation rules make the tree
// one an OSTree deployment can carry (relocate.ts), the native package database's records go into
// our SQLite package database at PKGDB_PATH, and the kernel is looked for where deploy finds it.
import { statSync } from "node:fs";
import { Variant } from "../gvariant/index.js";
import { PackageDb, PKGDB_PATH } from "../packages/pkgdb.js";
import { commitFromDirectory, writeCommitObject } from "../repo/commit.js";
import type { MutableTree } from "../repo/mtree.js";
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from "../repo/objects.js";
import { resolveRev } from "../repo/refs.js";
import type { Repo } from "../repo/repo.js";
import { Transaction } from "../repo/transaction.js";
import { basePackages } from "./base-packages.js";
import { relocateTree, writeRelocation } from "./relocate.js";

export class ComposeRootfsError extends Error {
  override name = "ComposeRootfsError";
}

export interface ComposeRootfsOptions {
  repo: Repo;
  /** The root filesystem; never changed. */
  dir: string;
  branch: string;
  subject?: string;
  body?: string;
  /** The commit's `version` metadata. */
  version?: string;
  /** More string metadata, in order (`--add-metadata-string`). */
  metadata?: [string, string][];
  /** Seconds since the epoch (default: now); a fixed one makes the commit reproducible. */
  timestamp?: number;
  /** A tree without a kernel is an error instead of a warning. */
  requireKernel?: boolean;
  /** One line per step, for a terminal. */
  progress?: (line: string) => void;
}

export interface ComposeRootfsStats {
  /** Regular files and symlinks committed (before relocation). */
  files: number;
  bytes: number;
  /** Device nodes, fifos and sockets left out. */
  dropped: number;
  droppedPaths: string[];
  /** Package downloads and caches left out (PACKAGE_CACHE). */
  cleaned: number;
  packages: number;
  packageKind: "deb" | "rpm" | null;
  kernel: string | null;
  tmpfilesLines: number;
  moved: string[];
  warnings: string[];
}

export interface ComposeRootfsResult {
  commit: string;
  parent: string | null;
  stats: ComposeRootfsStats;
}

/**
 * What `apt-get clean` and `dnf clean all` remove: downloaded packages and caches that are rebuilt on
 * demand. debootstrap leaves every .deb it installed in var/cache/apt/archives; a base commit would
 * carry them in usr/share/factory for no use.
 */
const PACKAGE_CACHE =
  /^var\/cache\/(apt\/archives\/(partial\/)?[^/]+\.deb|apt\/[^/]+\.bin|dnf\/.+|yum\/.+|libdnf5\/.+)$/;

/** Where a base without kernel is told what to do. */
export const NO_KERNEL =
  "no kernel in usr/lib/modules/KVER/vmlinuz or boot/vmlinuz-KVER: the commit cannot be deployed until one is added (install a kernel package into the tree)";

export async function composeRootfs(o: ComposeRootfsOptions): Promise<ComposeRootfsResult> {
  const say = o.progress ?? (() => {});
  checkRootfs(o.dir);
  const parent = resolveRev(o.repo, o.branch, true);
  const stats: ComposeRootfsStats = {
    files: 0,
    bytes: 0,
    dropped: 0,
    droppedPaths: [],
    cleaned: 0,
    packages: 0,
    packageKind: null,
    kernel: null,
    tmpfilesLines: 0,
    moved: [],
    warnings: [],
  };
  // Not root: the files are ours, and a base owned by us would be wrong everywhere else
  // (ostree commit --owner-uid=0 --owner-gid=0).
  const owner = process.getuid?.() === 0 ? {} : { ownerUid: 0, ownerGid: 0 };
  const tx = await Transaction.begin(o.repo);
  try {
    say(`Committing ${o.dir}`);
    const tree = await commitFromDirectory(tx, o.dir, {
      ...owner,
      filter: (rel, mode) => {
        const t = mode & S_IFMT;
        if (t !== S_IFREG && t !== S_IFLNK && t !== S_IFDIR) {
          stats.dropped++;
          if (stats.droppedPaths.length < 20) stats.droppedPaths.push(rel);
          return false;
        }
        if (!PACKAGE_CACHE.test(rel)) return true;
        stats.cleaned++;
        return false;
      },
      onProgress: (p) => {
        stats.files = p.files;
        stats.bytes = p.bytes;
      },
    });
    if (stats.dropped) say(`Left out ${stats.dropped} device nodes, fifos and sockets`);
    if (stats.cleaned)
      say(`Left out ${stats.cleaned} downloaded packages and caches (apt-get clean, dnf clean all)`);

    const reloc = relocateTree(tree, tx, { name: "base", kind: "base" });
    writeRelocation(tx, tree, reloc);
    stats.moved = reloc.moved;
    stats.tmpfilesLines = reloc.tmpfiles.length + reloc.dbLinks.reduce((n, f) => n + f.lines.length, 0);
    for (const m of reloc.moved) say(`Moved ${m}`);

    const db = basePackages(tree, tx);
    if (db) {
      stats.packages = db.packages.length;
      stats.packageKind = db.kind;
      writePackageDb(tx, tree, db.packages);
      say(`Package database: ${db.packages.length} ${db.kind} packages from ${db.source}`);
    } else stats.warnings.push("no dpkg or rpm database found: the package database is empty");

    stats.kernel = kernelVersion(tree);
    if (stats.kernel) say(`Kernel ${stats.kernel}`);
    else if (o.requireKernel) throw new ComposeRootfsError(`compose rootfs: ${NO_KERNEL}`);
    else stats.warnings.push(NO_KERNEL);

    const root = tree.write(tx);
    const commit = writeCommitObject(tx, {
      parent,
      subject: o.subject,
      body: o.body,
      timestamp: o.timestamp,
      metadata: commitMetadata(o, stats),
      rootTree: root.tree,
      rootMeta: root.meta,
    });
    tx.setRef(o.branch, commit);
    await tx.commit();
    return { commit, parent, stats };
  } catch (e) {
    tx.abort();
    throw e;
  }
}

function checkRootfs(dir: string): void {
  let usr: ReturnType<typeof statSync> | undefined;
  try {
    if (!statSync(dir).isDirectory())
      throw new ComposeRootfsError(`compose rootfs: ${dir} is not a directory`);
    usr = statSync(`${dir}/usr`, { throwIfNoEntry: false });
  } catch (e) {
    if (e instanceof ComposeRootfsError) throw e;
    throw new ComposeRootfsError(`compose rootfs: cannot read ${dir}: ${(e as Error).message}`);
  }
  if (!usr?.isDirectory())
    throw new ComposeRootfsError(
      `compose rootfs: ${dir} has no usr/ directory; give the root of a tree made by debootstrap, dnf --installroot or rpm --root`,
    );
}

/** The first KVER (in name order) with usr/lib/modules/KVER/vmlinuz, as deploy's findKernel looks. */
export function kernelVersion(tree: MutableTree): string | null {
  const modules = tree.lookup("usr/lib/modules");
  if (modules?.kind !== "dir") return null;
  const kvers = modules.tree
    .entries()
    .dirs.map(([n]) => n)
    .sort();
  for (const kver of kvers) if (tree.lookup(`usr/lib/modules/${kver}/vmlinuz`)?.kind === "file") return kver;
  return null;
}

function writePackageDb(
  tx: Transaction,
  tree: MutableTree,
  packages: Parameters<PackageDb["add"]>[0][],
): void {
  const db = PackageDb.create();
  try {
    for (const p of packages) db.add(p);
    const csum = tx.writeContentSync(
      { uid: 0, gid: 0, mode: S_IFREG | 0o644, symlinkTarget: "", xattrs: [] },
      db.serialize(),
    );
    tree.setFile(PKGDB_PATH, csum);
  } finally {
    db.close();
  }
}

function commitMetadata(o: ComposeRootfsOptions, s: ComposeRootfsStats): [string, Variant][] {
  const md: [string, Variant][] = (o.metadata ?? []).map(([k, v]) => [k, Variant.of("s", v)]);
  if (o.version !== undefined) md.push(["version", Variant.of("s", o.version)]);
  md.push(["tsostree.base", Variant.of("b", true)]);
  md.push(["tsostree.packages", Variant.of("u", s.packages)]);
  if (s.kernel) md.push(["tsostree.kernel", Variant.of("s", s.kernel)]);
  return md;
}
