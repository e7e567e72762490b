// The packages a composed base already has, read from the native database that relocation moved
// under /usr (dpkg's admin directory, or the rpmdb), as package database records. Reads go to the
// relocated tree's objects; a path dpkg or rpm recorded is looked up where relocation put it.
import { dpkgRecords, type TreeStat } from "../../backends/deb/dpkg-records.js";
import { rpmdbRecords } from "../../backends/rpm/rpmdb-records.js";
import type { DbPackage } from "../packages/pkgdb.js";
import type { MutableTree } from "../repo/mtree.js";
import { S_IFLNK, S_IFMT } from "../repo/objects.js";
import { type RelocateStore, relocatedPath } from "./relocate.js";

export class BasePackagesError extends Error {
  override name = "BasePackagesError";
}

export interface BasePackages {
  kind: "deb" | "rpm";
  /** Where the native database is in the tree. */
  source: string;
  packages: DbPackage[];
}

const DPKG_ADMINDIR = "usr/share/dpkg/database";
const RPMDB = "usr/lib/sysimage/rpm/rpmdb.sqlite";

/** The base's packages, or null when the tree has neither a dpkg nor an rpm database. */
export function basePackages(tree: MutableTree, store: RelocateStore): BasePackages | null {
  const files = new TreeFiles(tree, store);
  if (files.read(`${DPKG_ADMINDIR}/status`)) {
    const packages = dpkgRecords(
      (rel) => files.read(rel),
      DPKG_ADMINDIR,
      (rel) => files.stat(relocatedPath(rel)),
    );
    return { kind: "deb", source: DPKG_ADMINDIR, packages };
  }
  const rpmdb = files.read(RPMDB);
  if (rpmdb) {
    const wal = files.read(`${RPMDB}-wal`);
    if (wal?.length)
      throw new BasePackagesError(
        `${RPMDB}-wal is not empty: rpm did not close the database (killed?), and the image lacks what the log holds; run \`rpm --root=DIR --dbpath=/usr/lib/sysimage/rpm -qa\` once (or --rebuilddb) and compose again`,
      );
    return { kind: "rpm", source: RPMDB, packages: rpmdbRecords(rpmdb) };
  }
  return null;
}

const MAX_LINKS = 40;

/** Paths of a MutableTree read like a file system: symlinks in the middle of a path are followed. */
class TreeFiles {
  constructor(
    private tree: MutableTree,
    private store: RelocateStore,
  ) {}

  read(rel: string): Buffer | null {
    const f = this.resolve(rel, true);
    if (f?.kind !== "file") return null;
    const obj = this.store.loadFile(f.checksum);
    return (obj.meta.mode & S_IFMT) === S_IFLNK ? null : obj.read();
  }

  /** lstat: the final component is not followed. */
  stat(rel: string): TreeStat | null {
    const f = this.resolve(rel, false);
    if (f === null) return null;
    if (f.kind === "dir") {
      const m = this.store.loadDirMeta(f.meta);
      return { type: "dir", mode: m.mode & 0o7777, uid: m.uid, gid: m.gid };
    }
    const m = this.store.loadFile(f.checksum).meta;
    if ((m.mode & S_IFMT) === S_IFLNK)
      return { type: "symlink", mode: 0o777, uid: m.uid, gid: m.gid, target: m.symlinkTarget };
    return { type: "file", mode: m.mode & 0o7777, uid: m.uid, gid: m.gid };
  }

  private resolve(
    rel: string,
    followLast: boolean,
  ): { kind: "file"; checksum: string } | { kind: "dir"; meta: string } | null {
    const todo = rel.split("/").filter((n) => n && n !== ".");
    const at: string[] = [];
    let links = 0;
    while (todo.length) {
      const name = todo.shift()!;
      if (name === "..") {
        at.pop();
        continue;
      }
      const here = this.tree.lookup(at.join("/"));
      if (here?.kind !== "dir") return null;
      const c = here.tree.child(name);
      if (c === null) return null;
      if (c.kind === "dir") {
        at.push(name);
        continue;
      }
      const m = todo.length || followLast ? this.store.loadFile(c.checksum).meta : null;
      if (m === null || (m.mode & S_IFMT) !== S_IFLNK) {
        if (todo.length) return null; // a file in the middle of a path
        return c;
      }
      if (++links > MAX_LINKS) return null;
      if (m.symlinkTarget.startsWith("/")) at.length = 0;
      todo.unshift(...m.symlinkTarget.split("/").filter((n) => n && n !== "."));
    }
    const end = this.tree.lookup(at.join("/"));
    if (end?.kind !== "dir") return null;
    const meta = end.tree.metadataChecksum;
    return meta === null ? null : { kind: "dir", meta };
  }
}
