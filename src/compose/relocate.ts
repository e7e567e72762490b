// The paths an OSTree commit may carry, applied to a tree on dirtree level (the layering spec's
// relocation rules): /etc becomes usr/etc, what is under /var (and /run) becomes tmpfiles.d lines
// with files kept in usr/share/factory, the package databases move under /usr, /opt/X goes to
// usr/lib/opt/X, /usr/local and the top-level home-like directories become var/ state, kernels in
// /boot move to usr/lib/modules/KVER, and a base gets /sysroot and /ostree -> sysroot/ostree. Subtrees
// move by checksum where they still are dirtrees; the only file content read is what a tmpfiles line
// needs (symlink targets, passwd and group names).
import { posix } from "node:path";
import type { MutableTree, TreeSource } from "../repo/mtree.js";
import type { DirMeta, FileMeta } from "../repo/objects.js";
import { S_IFDIR, S_IFLNK, S_IFMT } from "../repo/objects.js";
import { copyLine, dirLine, FACTORY_DIR, linkLine, TMPFILES_DIR, writeTmpfiles } from "./tmpfiles.js";

export class RelocateError extends Error {
  override name = "RelocateError";
}

/** What relocation reads (dirmeta, symlink targets, passwd) and writes (symlinks): a Transaction. */
export interface RelocateStore extends TreeSource {
  loadDirMeta(csum: string): DirMeta;
  loadFile(csum: string): { meta: FileMeta; read(): Buffer };
  writeContentSync(meta: FileMeta, data: Buffer): string;
}

export interface RelocateOptions {
  /** The package (or "base"): names the tmpfiles.d file and the package in errors. */
  name: string;
  /**
   * "base": a whole root filesystem; top-level paths outside the rules are kept, and the top-level
   * state directories become ostree's symlinks into /var. "package" (default): a package's payload;
   * a path outside the rules is an error naming the package.
   */
  kind?: "base" | "package";
}

/** A tmpfiles.d file to write into the tree. */
export interface TmpfilesFile {
  path: string;
  lines: string[];
}

export interface RelocateResult {
  /** Lines for `tmpfilesPath` (what /var, /run, /opt and the state directories need at boot). */
  tmpfiles: string[];
  tmpfilesPath: string;
  /** The package databases' links (`tsostree-dpkg.conf`, `tsostree-rpm.conf`), one file each. */
  dbLinks: TmpfilesFile[];
  /** What moved where, one line each, for messages. */
  moved: string[];
}

/** Where the package databases go (the layering spec): old path → new path, and the link's file. */
const DATABASES: { from: string; to: string; conf: string }[] = [
  { from: "var/lib/dpkg", to: "usr/share/dpkg/database", conf: "tsostree-dpkg.conf" },
  { from: "var/lib/rpm", to: "usr/lib/sysimage/rpm", conf: "tsostree-rpm.conf" },
];

/** ostree's layout for the top-level state directories (ostree's "adapting existing" chapter). */
const STATE_DIRS: { name: string; to: string; mode: number }[] = [
  { name: "home", to: "var/home", mode: 0o755 },
  { name: "root", to: "var/roothome", mode: 0o700 },
  { name: "srv", to: "var/srv", mode: 0o755 },
  { name: "mnt", to: "var/mnt", mode: 0o755 },
  { name: "opt", to: "var/opt", mode: 0o755 },
  { name: "media", to: "run/media", mode: 0o755 },
];

/** Top-level names a package may ship as they are (merged /usr aliases are the union's business). */
const PACKAGE_PASSTHROUGH = new Set(["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"]);

/** Kernel files in /boot and their names in usr/lib/modules/KVER (Fedora's and Debian's names). */
const BOOT_FILES: { re: RegExp; as: string }[] = [
  { re: /^vmlinuz-(.+)$/, as: "vmlinuz" },
  { re: /^initrd\.img-(.+)$/, as: "initramfs.img" },
  { re: /^initramfs-(.+)\.img$/, as: "initramfs.img" },
  { re: /^config-(.+)$/, as: "config" },
  { re: /^System\.map-(.+)$/, as: "System.map" },
];

/**
 * Where relocation puts what was at `rel` in the original tree (for looking up paths a native
 * package database recorded); paths no rule touches come back unchanged. Under var/ and run/ only
 * regular files still exist afterwards (in usr/share/factory).
 */
export function relocatedPath(rel: string): string {
  const p = rel.replace(/^\/+/, "");
  const under = (prefix: string) => p === prefix || p.startsWith(`${prefix}/`);
  for (const db of DATABASES) if (under(db.from)) return db.to + p.slice(db.from.length);
  if (under("etc")) return `usr/${p}`;
  if (under("usr/local")) return relocatedPath(`var/usrlocal${p.slice("usr/local".length)}`);
  if (p.startsWith("opt/")) return `usr/lib/${p}`;
  for (const s of STATE_DIRS)
    if (s.name !== "opt" && under(s.name)) return relocatedPath(s.to + p.slice(s.name.length));
  if (p.startsWith("var/") || p.startsWith("run/")) return `${FACTORY_DIR}/${p}`;
  const boot = /^boot\/([^/]+)$/.exec(p);
  if (boot)
    for (const { re, as } of BOOT_FILES) {
      const kver = re.exec(boot[1]!)?.[1];
      if (kver !== undefined) return `usr/lib/modules/${kver}/${as}`;
    }
  return p;
}

/** Applies the relocation rules to `tree` in place; the caller writes the tmpfiles (writeRelocation). */
export function relocateTree(tree: MutableTree, store: RelocateStore, opts: RelocateOptions): RelocateResult {
  return new Relocation(tree, store, opts).run();
}

/** Writes the result's tmpfiles.d files into the tree (nothing when there are no lines). */
export function writeRelocation(
  tx: { writeContentSync(meta: FileMeta, data: Buffer): string },
  tree: MutableTree,
  r: RelocateResult,
): void {
  if (r.tmpfiles.length) writeTmpfiles(tx, tree, r.tmpfilesPath, r.tmpfiles);
  for (const f of r.dbLinks) writeTmpfiles(tx, tree, f.path, f.lines);
}

class Relocation {
  private lines: string[] = [];
  private dbLinks: TmpfilesFile[] = [];
  private moved: string[] = [];
  private readonly base: boolean;
  private names: { users: Map<number, string>; groups: Map<number, string> } | null = null;

  constructor(
    private tree: MutableTree,
    private store: RelocateStore,
    private opts: RelocateOptions,
  ) {
    this.base = opts.kind === "base";
  }

  run(): RelocateResult {
    const top = this.tree.entries();
    const topNames = new Set([...top.files.map(([n]) => n), ...top.dirs.map(([n]) => n)]);
    const stateLinks: { name: string; to: string }[] = [];
    for (const s of STATE_DIRS) {
      const here = this.tree.child(s.name);
      if (here?.kind === "file" && this.base) continue; // already a symlink (a Fedora-style tree)
      if (here?.kind === "file") this.refuse(s.name, "is a file where a directory is expected");
      if (s.name === "opt" && here?.kind === "dir") this.optToUsrLib(here.tree);
      if (here?.kind === "dir") this.move(s.name, s.to);
      else if (this.base) this.ensureStateDirLine(s);
      if (this.base) stateLinks.push(s);
    }
    this.usrLocal();
    this.etc();
    if (topNames.has("boot")) this.boot();
    for (const db of DATABASES) this.database(db);
    for (const prefix of ["var", "run"]) this.toTmpfiles(prefix);
    if (!this.base) this.checkUnknown();
    // Last, so nothing above mistakes them for directories: ostree's symlinks into /var and /run.
    for (const s of stateLinks) if (this.tree.child(s.name) === null) this.symlink(s.name, s.to);
    if (this.base) this.sysrootMountPoint();
    return {
      tmpfiles: this.lines,
      tmpfilesPath: `${TMPFILES_DIR}/${this.base ? `tsostree-${this.opts.name}` : `tsostree-pkg-${this.opts.name}`}.conf`,
      dbLinks: this.dbLinks,
      moved: this.moved,
    };
  }

  // ---- the rules ----

  /** etc/ is merged into usr/etc/, etc/ winning where both have a file. */
  private etc(): void {
    const etc = this.tree.child("etc");
    if (etc === null) return;
    if (etc.kind !== "dir") this.refuse("etc", "is not a directory");
    graft(this.tree.ensureDir("usr").ensureChild("etc", etc.tree.metadataChecksum), etc.tree, "usr/etc");
    this.tree.removeChild("etc");
    this.moved.push("etc → usr/etc");
  }

  /** opt/X → usr/lib/opt/X with a link at /opt/X; opt itself stays (base: it becomes var/opt). */
  private optToUsrLib(opt: MutableTree): void {
    const { files, dirs } = opt.entries();
    for (const [name] of [...files, ...dirs]) {
      this.moveNode(`opt/${name}`, `usr/lib/opt/${name}`);
      // Absolute, unlike the database links: /opt is var/opt in ostree's layout, and a relative
      // target would then resolve from /var/opt.
      this.lines.push(linkLine(`/opt/${name}`, `/usr/lib/opt/${name}`));
    }
  }

  /** usr/local is machine state in ostree's layout (/usr/local → ../var/usrlocal): its content too. */
  private usrLocal(): void {
    const local = this.tree.lookup("usr/local");
    if (local?.kind !== "dir") return;
    this.move("usr/local", "var/usrlocal");
    if (this.base) this.symlink("usr/local", "../var/usrlocal");
  }

  /** Kernel files of boot/ go to usr/lib/modules/KVER; a package's other boot files to usr/lib/ostree-boot. */
  private boot(): void {
    const boot = this.tree.child("boot");
    if (boot?.kind !== "dir") {
      if (!this.base) this.refuse("boot", "is not a directory");
      return;
    }
    for (const [name, csum] of boot.tree.entries().files) {
      for (const { re, as } of BOOT_FILES) {
        const kver = re.exec(name)?.[1];
        if (kver === undefined) continue;
        const to = `usr/lib/modules/${kver}/${as}`;
        // A kernel package that ships both keeps the one in usr/lib/modules (kernel-install's copy is the other).
        if (this.tree.lookup(to) === null) this.tree.setFile(to, csum);
        boot.tree.removeChild(name);
        this.moved.push(`boot/${name} → ${to}`);
        break;
      }
    }
    if (this.base) return;
    const rest = boot.tree.entries();
    if (rest.files.length + rest.dirs.length > 0) this.move("boot", "usr/lib/ostree-boot");
    else this.tree.removeChild("boot");
  }

  /** var/lib/dpkg and var/lib/rpm move under /usr as a whole, with a link from the old path. */
  private database(db: { from: string; to: string; conf: string }): void {
    if (this.tree.lookup(db.from)?.kind !== "dir") return;
    this.move(db.from, db.to);
    const target = posix.relative(posix.dirname(`/${db.from}`), `/${db.to}`);
    this.dbLinks.push({ path: `${TMPFILES_DIR}/${db.conf}`, lines: [linkLine(`/${db.from}`, target)] });
  }

  /**
   * Everything under PREFIX/ becomes tmpfiles lines: directories `d`, symlinks `L`, regular files
   * `C` from usr/share/factory/PREFIX/… where the file now lives. PREFIX itself stays, empty.
   */
  private toTmpfiles(prefix: string): void {
    const top = this.tree.child(prefix);
    if (top === null) return;
    if (top.kind !== "dir") {
      if (this.base) return;
      this.refuse(prefix, "is not a directory");
    }
    const counts = { dirs: 0, links: 0, files: 0 };
    const visit = (node: MutableTree, rel: string): void => {
      const { files, dirs } = node.entries();
      const entries: [string, string | MutableTree][] = [...files, ...dirs];
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      for (const [name, e] of entries) {
        const path = `${rel}/${name}`;
        if (typeof e !== "string") {
          const m = this.store.loadDirMeta(requireMeta(e, path));
          const n = this.idNames();
          this.lines.push(dirLine(`/${path}`, m.mode, n.user(m.uid), n.group(m.gid)));
          counts.dirs++;
          visit(e, path);
          continue;
        }
        const f = this.store.loadFile(e).meta;
        if ((f.mode & S_IFMT) === S_IFLNK) {
          this.lines.push(linkLine(`/${path}`, f.symlinkTarget));
          counts.links++;
        } else {
          this.factoryFile(path, e);
          this.lines.push(copyLine(`/${path}`, `/${FACTORY_DIR}/${path}`));
          counts.files++;
        }
      }
    };
    visit(top.tree, prefix);
    const { files, dirs } = top.tree.entries();
    for (const [name] of [...files, ...dirs]) top.tree.removeChild(name);
    if (counts.dirs + counts.links + counts.files > 0)
      this.moved.push(
        `${prefix}: ${counts.dirs} directories, ${counts.links} symlinks, ${counts.files} files → tmpfiles.d` +
          (counts.files ? ` (files in ${FACTORY_DIR}/${prefix})` : ""),
      );
  }

  /** A package's top-level paths outside the rules are refused: the commit could not carry them. */
  private checkUnknown(): void {
    const { files, dirs } = this.tree.entries();
    for (const [name] of [...files, ...dirs]) {
      if (PACKAGE_PASSTHROUGH.has(name) || name === "var" || name === "run") continue;
      this.refuse(name, "is outside the paths an OSTree commit can carry (/usr, /etc, /var, /opt, /boot …)");
    }
  }

  // ---- helpers ----

  /** The file at var/… (or run/…) goes to usr/share/factory/var/…, directories keeping their metadata. */
  private factoryFile(path: string, csum: string): void {
    const names = path.split("/");
    const file = names.pop()!;
    let into = this.tree.ensureDir(FACTORY_DIR);
    let from = this.tree;
    for (const n of names) {
      const sub = from.child(n);
      if (sub?.kind !== "dir") throw new RelocateError(`${path}: parent vanished during relocation`);
      from = sub.tree;
      into = into.ensureChild(n, from.metadataChecksum);
    }
    if (into.child(file)?.kind === "dir")
      throw new RelocateError(`${FACTORY_DIR}/${path}: a directory is in the way of the file; remove it`);
    into.replaceFile(file, csum);
  }

  /** A state directory a base lacks still gets its directory under /var at boot. */
  private ensureStateDirLine(s: { to: string; mode: number }): void {
    if (this.tree.lookup(s.to) !== null) return;
    this.lines.push(dirLine(`/${s.to}`, s.mode, "root", "root"));
  }

  /** Moves the file or subtree at `from` to `to` (merging into what is there, `from` winning). */
  private move(from: string, to: string): void {
    this.moveNode(from, to);
    this.moved.push(`${from} → ${to}`);
  }

  private moveNode(from: string, to: string): void {
    const src = this.tree.lookup(from);
    if (src === null) return;
    const parent = posix.dirname(to);
    const name = posix.basename(to);
    const into = parent === "." ? this.tree : this.tree.ensureDir(parent);
    const there = into.child(name);
    if (src.kind === "file") {
      if (there?.kind === "dir") this.refuse(from, `is a file but ${to} is a directory`);
      into.replaceFile(name, src.checksum);
    } else {
      if (there?.kind === "file") this.refuse(from, `is a directory but ${to} is a file`);
      graft(into.ensureChild(name, src.tree.metadataChecksum), src.tree, to);
    }
    this.tree.remove(from);
  }

  /**
   * What ostree-prepare-root needs in a deployment: an empty /sysroot to move the physical root to,
   * and /ostree pointing into it (ostree's "adapting existing" chapter). debootstrap makes neither.
   */
  private sysrootMountPoint(): void {
    if (this.tree.child("sysroot") === null) {
      this.tree.ensureChild("sysroot");
      this.moved.push("sysroot: the physical root's mount point (new, empty)");
    }
    if (this.tree.child("ostree") === null) this.symlink("ostree", "sysroot/ostree");
  }

  private symlink(path: string, target: string): void {
    const meta: FileMeta = { uid: 0, gid: 0, mode: S_IFLNK | 0o777, symlinkTarget: target, xattrs: [] };
    this.tree.setFile(path, this.store.writeContentSync(meta, Buffer.alloc(0)));
    this.moved.push(`${path} → symlink to ${target}`);
  }

  /** uid/gid → name from the tree's own passwd and group (numbers where the tree has none). */
  private idNames(): { user(uid: number): string; group(gid: number): string } {
    this.names ??= {
      users: parseIdFile(this.readTreeFile(["usr/etc/passwd", "etc/passwd", "usr/lib/passwd"])),
      groups: parseIdFile(this.readTreeFile(["usr/etc/group", "etc/group", "usr/lib/group"])),
    };
    const { users, groups } = this.names;
    return {
      user: (uid) => users.get(uid) ?? (uid === 0 ? "root" : String(uid)),
      group: (gid) => groups.get(gid) ?? (gid === 0 ? "root" : String(gid)),
    };
  }

  private readTreeFile(paths: string[]): string {
    for (const p of paths) {
      const f = this.tree.lookup(p);
      if (f?.kind !== "file") continue;
      const obj = this.store.loadFile(f.checksum);
      if ((obj.meta.mode & S_IFMT) !== S_IFLNK) return obj.read().toString("utf8");
    }
    return "";
  }

  private refuse(path: string, why: string): never {
    const who = this.base ? "the base tree" : `package ${this.opts.name}`;
    throw new RelocateError(`${who}: /${path} ${why}; it cannot be part of an OSTree commit`);
  }
}

/**
 * Unions `from` into `into`, `from` winning: its files replace files, its directory metadata
 * replaces `into`'s, and subtrees it still has as dirtrees attach by checksum without being read.
 */
export function graft(into: MutableTree, from: MutableTree, where: string): void {
  const meta = requireMeta(from, where);
  const csum = from.contentsChecksum;
  if (csum !== null) {
    into.overlay(csum, meta);
    return;
  }
  into.setMetadata(meta);
  const { files, dirs } = from.entries();
  for (const [name, c] of files) {
    if (into.child(name)?.kind === "dir")
      throw new RelocateError(`${where}/${name}: a file would replace a directory; remove one of them`);
    into.replaceFile(name, c);
  }
  for (const [name, sub] of dirs) {
    if (into.child(name)?.kind === "file")
      throw new RelocateError(`${where}/${name}: a directory would replace a file; remove one of them`);
    graft(into.ensureChild(name, sub.metadataChecksum), sub, `${where}/${name}`);
  }
}

function requireMeta(t: MutableTree, where: string): string {
  const m = t.metadataChecksum;
  if (m === null) throw new RelocateError(`${where}: directory without metadata`);
  return m;
}

/** name:…:id lines of passwd(5) or group(5) → id → first name. */
export function parseIdFile(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 3 || !f[0] || line.startsWith("#")) continue;
    const id = Number(f[2]);
    if (Number.isInteger(id) && id >= 0 && !out.has(id)) out.set(id, f[0]);
  }
  return out;
}

/** For a tree without any dirmeta yet: a root-owned directory (used by tests and composers). */
export function rootDirMeta(mode = 0o755): DirMeta {
  return { uid: 0, gid: 0, mode: S_IFDIR | mode, xattrs: [] };
}
