// Checking out a commit (or a subpath of it) into the filesystem, as `ostree checkout` does:
// hardlinks into the object store where the repo mode allows it, copies otherwise. A checkout into
// a new destination is built in a temporary sibling and renamed into place at the end, so a
// failure never leaves a half-written destination. A hardlink checkout into a new destination is
// one plan of mkdirs and links run by the native helper (checkout-plan.ts): through Node, even
// synchronously, each syscall cost several times its own time. The other modes are synchronous JS:
// link/mkdir/symlink through libuv's thread pool cost more than the syscalls themselves. Existing
// files are replaced (union modes) by unlink + create, never written in place: they may share an
// inode with the object store.
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  fchmodSync,
  fchownSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { errnoError, errnoName } from "../util/errno.js";
import {
  CO_BARE,
  CO_BARE_USER,
  CO_CODE_COPY,
  CO_CODE_META_CORRUPT,
  CO_CODE_META_MISSING,
  CO_CODE_MISSING,
  CO_CODE_NOMETA,
  CO_CODE_TREE_CORRUPT,
  CO_CODE_TREE_MISSING,
  CO_CODE_XATTRS,
  CO_COPY_OK,
  CO_USER_MODE,
  hasCheckoutTree,
  setXattr,
} from "../util/native.js";
import { Linker } from "./checkout-linker.js";
import {
  CheckoutError,
  type CheckoutOptions,
  type CheckoutSource,
  CorruptObjectError,
  hardlinkPolicy,
} from "./checkout-options.js";
import { applyDirMetaPlan, CheckoutPlan, splitTreeCheckout, type Undone } from "./checkout-plan.js";
import { visitDirTree } from "./dirtree-reader.js";
import {
  type DirMeta,
  type DirTree,
  parseDirMeta,
  parseDirTree,
  S_IFLNK,
  S_IFMT,
  type Xattrs,
} from "./objects.js";
import { resolveRev } from "./refs.js";
import { type FileObject, ObjectMissingError, type Repo } from "./repo.js";
import { lookupPath, PathNotFoundError, rootEntry, type TreeEntry } from "./walk.js";

export {
  CheckoutError,
  type CheckoutOptions,
  type CheckoutSource,
  CorruptObjectError,
} from "./checkout-options.js";

const EUID = process.geteuid?.() ?? -1;
const EGID = process.getegid?.() ?? -1;

/** One checkout's state; checkout-diff.ts drives it entry by entry. */
export class Checkout {
  private readonly objects: string;
  private readonly ext: string;
  readonly hardlink: boolean;
  private readonly merge: boolean;
  /** Hardlink checkout into a new directory: every mkdir, link and chmod goes through the plan. */
  private readonly plan: CheckoutPlan | null;
  /** The same, for a committed tree: the whole walk in C (see tree()). */
  readonly native: boolean;
  /** Directory xattrs of a plan checkout, set from here (rare: SELinux labels and the like). */
  private readonly planXattrs: [string, Xattrs][] = [];
  /** Content objects staged by the tree's transaction, not in objects/ (see CheckoutSource). */
  private readonly staged: ReadonlySet<string>;
  /** Plan checkout: staged files, placed once the plan ran (the native run stops at a missing object). */
  private readonly deferred: [string, string][] = [];
  private readonly linker: Linker;
  /** Directories whose metadata is applied once their contents exist (children before parents). */
  private readonly pendingDirs: [string, DirMeta][] = [];
  private readonly dirMetas = new Map<string, DirMeta>();
  private scratch = Buffer.allocUnsafe(64 * 1024);

  constructor(
    private readonly repo: Repo,
    private readonly opts: CheckoutOptions,
    private readonly source: CheckoutSource | null = null,
  ) {
    this.objects = join(repo.path, "objects");
    this.ext = repo.isArchive ? ".filez" : ".file";
    this.hardlink = hardlinkPolicy(repo, opts);
    this.merge = opts.union === true || opts.unionAdd === true;
    this.linker = new Linker({ objects: this.objects, mode: repo.mode, userMode: opts.userMode === true });
    const planned = this.hardlink && (!this.merge || opts.intoEmpty === true);
    // A committed tree goes to C whole (checkout_tree.c); one with staged parts is planned here.
    this.native = planned && source === null && hasCheckoutTree();
    this.plan = planned && !this.native ? new CheckoutPlan(this.objects, this.linkFlags()) : null;
    this.staged = source?.stagedFiles() ?? new Set();
  }

  private objectPath(csum: string): string {
    return `${this.objects}/${csum.slice(0, 2)}/${csum.slice(2)}${this.ext}`;
  }

  /** Metadata objects are small; verifying their checksum catches corruption before it spreads. */
  loadDirTree(csum: string): DirTree {
    return parseDirTree(this.verified(csum, "dirtree"));
  }

  /** A tree has few distinct dirmetas (mostly "root, 0755"); read each once. */
  loadDirMeta(csum: string): DirMeta {
    let m = this.dirMetas.get(csum);
    if (!m) {
      m = parseDirMeta(Buffer.from(this.verified(csum, "dirmeta")));
      this.dirMetas.set(csum, m);
    }
    return m;
  }

  /**
   * The object's bytes, checked against its name, in a scratch buffer that the next call reuses:
   * parsers copy out what they keep, and one allocation per directory only fed the GC.
   */
  private verified(csum: string, type: "dirtree" | "dirmeta"): Buffer {
    let fd: number;
    try {
      fd = openSync(`${this.objects}/${csum.slice(0, 2)}/${csum.slice(2)}.${type}`, "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      const held = this.source?.readMetadata(csum, type);
      if (!held) throw new ObjectMissingError(csum, type);
      return this.checked(held, csum, type);
    }
    let len = 0;
    try {
      for (;;) {
        if (len === this.scratch.length) {
          const bigger = Buffer.allocUnsafe(this.scratch.length * 2);
          this.scratch.copy(bigger, 0, 0, len);
          this.scratch = bigger;
        }
        const n = readSync(fd, this.scratch, len, this.scratch.length - len, null);
        if (n === 0) break;
        len += n;
      }
    } finally {
      closeSync(fd);
    }
    return this.checked(this.scratch.subarray(0, len), csum, type);
  }

  private checked(b: Buffer, csum: string, type: string): Buffer {
    if (createHash("sha256").update(b).digest("hex") !== csum)
      throw new CorruptObjectError(`Corrupted ${type} object ${csum}; run fsck`);
    return b;
  }

  dir(entry: Extract<TreeEntry, { kind: "dir" }>, path: string, isRoot: boolean): void {
    const meta = this.loadDirMeta(entry.meta);
    const plan = this.plan;
    let created = true;
    // A plan checkout never writes into an existing directory: the destination is new, or its root
    // was made empty for it (intoEmpty).
    if (plan) {
      if (isRoot && this.merge) plan.cd(path);
      else plan.mkdir(path);
    } else {
      try {
        mkdirSync(path, 0o700);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST" || !(this.merge || isRoot)) throw e;
        if (!lstatSync(path).isDirectory()) throw new CheckoutError(`${path} exists and is not a directory`);
        created = false;
      }
    }
    let dirs: DirTree["dirs"];
    if (plan) dirs = this.planFiles(plan, entry.tree, path);
    else {
      const tree = this.loadDirTree(entry.tree);
      for (const [name, csum] of tree.files) this.file(csum, `${path}/${name}`);
      dirs = tree.dirs;
    }
    for (const [name, t, m] of dirs)
      this.dir({ kind: "dir", name, path: "", tree: t, meta: m }, `${path}/${name}`, false);
    if (!created && !isRoot) return;
    if (!plan) this.pendingDirs.push([path, meta]);
    else {
      const chown = !this.opts.userMode && this.mustChown(meta);
      plan.dirMeta(path, meta.mode, chown ? meta.uid : -1, chown ? meta.gid : -1);
      if (!this.opts.userMode && meta.xattrs.length) this.planXattrs.push([path, meta.xattrs]);
    }
  }

  /**
   * Plans the links of a dirtree's files into the directory just planned, taking names and
   * checksums straight from the dirtree's bytes (no string per file); returns its directories.
   */
  private planFiles(plan: CheckoutPlan, csum: string, path: string): DirTree["dirs"] {
    const dirs: DirTree["dirs"] = [];
    const staged = this.staged;
    visitDirTree(this.verified(csum, "dirtree"), {
      file: (b, name, nameEnd, obj) => {
        if (staged.size === 0) return plan.linkRaw(b, name, nameEnd, obj);
        const hex = b.toString("hex", obj, obj + 32);
        if (staged.has(hex)) this.deferred.push([hex, `${path}/${b.toString("utf8", name, nameEnd)}`]);
        else plan.linkRaw(b, name, nameEnd, obj);
      },
      dir: (b, name, nameEnd, tree, meta) =>
        dirs.push([
          b.toString("utf8", name, nameEnd),
          b.toString("hex", tree, tree + 32),
          b.toString("hex", meta, meta + 32),
        ]),
    });
    return dirs;
  }

  /** Runs the plan (or not), creates what ostree does not link, then directory metadata bottom-up. */
  async finish(): Promise<void> {
    if (this.plan) return this.finishPlan(this.plan);
    for (const [path, meta] of this.pendingDirs) this.applyDirMeta(path, meta);
  }

  /** Stops a plan still running before the caller removes what it wrote. */
  abort(): void {
    this.plan?.cancel();
  }

  /** ostree's link rules for this repo and checkout mode, for the native side. */
  private linkFlags(): number {
    const mode = this.repo.mode;
    return (
      (mode === "bare-user" ? CO_BARE_USER : 0) |
      (mode === "bare" ? CO_BARE : 0) |
      (this.opts.userMode ? CO_USER_MODE : 0) |
      (this.opts.requireHardlinks ? 0 : CO_COPY_OK)
    );
  }

  private finishPlan(plan: CheckoutPlan): void {
    this.createUndone(plan.finishLinks());
    for (const [csum, path] of this.deferred) this.placeStaged(csum, path);
    for (const [path, xattrs] of this.planXattrs) this.applyXattrs(path, xattrs);
    plan.runDirMetas();
  }

  /** A directory checked out whole by the native walk, into `path` (which exists). */
  async tree(entry: Extract<TreeEntry, { kind: "dir" }>, path: string): Promise<void> {
    const read = (csum: string) => this.loadDirTree(csum);
    const r = await splitTreeCheckout(this.objects, entry, path, this.linkFlags(), read, this.opts.signal);
    this.createUndone(r.undone);
    await applyDirMetaPlan(r.metas);
  }

  /** What a native run left: files to create, directory xattrs to set, or the error that ended it. */
  private createUndone(undone: Undone[]): void {
    for (const { code, csum, path: dst } of undone) {
      if (code === CO_CODE_XATTRS) {
        this.applyXattrs(dst, this.loadDirMeta(csum!).xattrs);
        continue;
      }
      if (code === CO_CODE_TREE_MISSING || code === CO_CODE_META_MISSING)
        throw new ObjectMissingError(csum!, code === CO_CODE_TREE_MISSING ? "dirtree" : "dirmeta");
      if (code === CO_CODE_TREE_CORRUPT || code === CO_CODE_META_CORRUPT)
        throw new CorruptObjectError(
          `Corrupted ${code === CO_CODE_TREE_CORRUPT ? "dirtree" : "dirmeta"} object ${csum}; run fsck`,
        );
      if (csum === null) throw errnoError(errnoName(code), "mkdir", dst);
      if (code === CO_CODE_MISSING) throw new ObjectMissingError(csum, "file");
      if (code === CO_CODE_NOMETA)
        throw new CorruptObjectError(`object ${csum}.file has no user.ostreemeta xattr; run fsck`);
      const name = code === CO_CODE_COPY ? "COPY" : errnoName(code);
      if (name === "COPY" || ((name === "EXDEV" || name === "EMLINK") && !this.opts.requireHardlinks))
        this.copy(this.repo.loadFile(csum), dst);
      else throw new CheckoutError(`cannot hardlink ${dst}: ${name}`);
    }
  }

  applyDirMeta(path: string, meta: DirMeta): void {
    if (!this.opts.userMode) {
      if (this.mustChown(meta)) lchownSync(path, meta.uid, meta.gid);
      this.applyXattrs(path, meta.xattrs);
    }
    chmodSync(path, meta.mode & 0o7777);
    // ostree leaves checked-out directories with mtime 0, like the objects themselves.
    utimesSync(path, 0, 0);
  }

  /**
   * What we create is already ours, and a chown per entry would only cost a syscall — except in
   * union mode, where an existing setgid directory hands its group to new entries.
   */
  private mustChown(meta: { uid: number; gid: number }): boolean {
    return this.merge || meta.uid !== EUID || meta.gid !== EGID;
  }

  private applyXattrs(path: string, xattrs: Xattrs): void {
    if (this.repo.mode === "bare-user-only") return;
    for (const [k, v] of xattrs) setXattr(path, k, v);
  }

  file(csum: string, path: string): void {
    if (this.plan) {
      this.plan.cd(dirname(path));
      this.plan.link(csum, basename(path));
      return;
    }
    if (this.hardlink) {
      const v = this.linker.verdict(csum);
      if (v === "ENOENT") {
        this.placeStaged(csum, path);
        return;
      }
      if (v === "link" && this.linkNow(csum, path)) return;
    }
    this.copy(this.repo.loadFile(csum), path);
  }

  /** An object not in objects/ but staged by the transaction of the tree being checked out. */
  private placeStaged(csum: string, path: string): void {
    const staged = this.source?.stagedFile(csum);
    if (!staged) throw new ObjectMissingError(csum, "file");
    if (this.hardlink && this.linker.verdict(csum, staged) === "link") {
      if (this.merge) rmSync(path, { recursive: true, force: true });
      try {
        linkSync(staged, path);
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if ((code !== "EXDEV" && code !== "EMLINK") || this.opts.requireHardlinks) throw e;
      }
    }
    this.copy(this.repo.loadFileAt(staged, csum), path);
  }

  /** Union modes: link now, replacing (--union) or keeping (--union-add) what exists. */
  private linkNow(csum: string, path: string): boolean {
    const src = this.objectPath(csum);
    for (;;) {
      try {
        linkSync(src, path);
        return true;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EEXIST") {
          if (this.opts.unionAdd) return true;
          rmSync(path, { recursive: true, force: true });
          continue;
        }
        if ((code === "EXDEV" || code === "EMLINK") && !this.opts.requireHardlinks) return false;
        throw e;
      }
    }
  }

  private copy(f: FileObject, path: string): void {
    if (this.merge && exists(path)) {
      if (this.opts.unionAdd) return;
      rmSync(path, { recursive: true, force: true });
    }
    const { meta } = f;
    if ((meta.mode & S_IFMT) === S_IFLNK) {
      symlinkSync(meta.symlinkTarget, path);
      if (!this.opts.userMode) {
        if (this.mustChown(meta)) lchownSync(path, meta.uid, meta.gid);
        this.applyXattrs(path, meta.xattrs);
      }
      return;
    }
    // User mode never creates setuid/setgid files, as ostree's -U.
    const mode = this.opts.userMode ? meta.mode & 0o1777 : meta.mode & 0o7777;
    const chown = !this.opts.userMode && this.mustChown(meta);
    if (f.path && !this.repo.isArchive) {
      // copy_file_range; libuv gives the copy the object's mode, which in a bare repo is already
      // the file's own. Otherwise (bare-user stores masked modes) or after a chown (which clears
      // setuid/setgid) the mode is set again.
      copyFileSync(f.path, path, constants.COPYFILE_EXCL);
      if (chown) lchownSync(path, meta.uid, meta.gid);
      if (chown || this.repo.mode !== "bare" || mode !== (meta.mode & 0o7777)) chmodSync(path, mode);
    } else {
      const fd = openSync(path, "wx", 0o600);
      try {
        const data = f.read();
        let off = 0;
        while (off < data.length) off += writeSync(fd, data, off);
        if (chown) fchownSync(fd, meta.uid, meta.gid);
        // chmod after chown: chown clears setuid/setgid.
        fchmodSync(fd, mode);
      } finally {
        closeSync(fd);
      }
    }
    if (!this.opts.userMode) this.applyXattrs(path, meta.xattrs);
  }
}

const exists = (p: string): boolean => lstatSync(p, { throwIfNoEntry: false }) !== undefined;

/**
 * Checks out `rev` (optionally only `opts.subpath`) into `dest`. Without a union mode `dest` must
 * not exist; it appears complete or not at all.
 */
export async function checkout(
  repo: Repo,
  rev: string,
  dest: string,
  opts: CheckoutOptions = {},
): Promise<void> {
  const commit = resolveRev(repo, rev) as string;
  let entry: TreeEntry = rootEntry(repo, commit);
  if (opts.subpath && opts.subpath !== "/") {
    try {
      entry = lookupPath(repo, entry, opts.subpath);
    } catch (e) {
      if (e instanceof PathNotFoundError && opts.allowNoent) return;
      throw e;
    }
  }
  await checkoutEntry(new Checkout(repo, opts), entry, dest, opts, rev);
}

/**
 * Checks out a tree that need not be committed: its dirtrees and dirmetas may be held in memory or
 * staged, its files staged (`source`, e.g. a MemoryTreeSink over the open transaction). Otherwise
 * as checkout(): hardlinks where the modes allow, `dest` appears complete or not at all.
 */
export async function checkoutTree(
  repo: Repo,
  source: CheckoutSource,
  root: { tree: string; meta: string },
  dest: string,
  opts: Omit<CheckoutOptions, "subpath" | "allowNoent"> = {},
): Promise<void> {
  const entry: TreeEntry = { kind: "dir", name: "", path: "/", tree: root.tree, meta: root.meta };
  await checkoutEntry(new Checkout(repo, opts, source), entry, dest, opts, `tree ${root.tree}`);
}

async function checkoutEntry(
  co: Checkout,
  entry: TreeEntry,
  dest: string,
  opts: CheckoutOptions,
  what: string,
): Promise<void> {
  if (opts.signal?.aborted) throw new CheckoutError(`the checkout into ${dest} was cancelled`);
  const target = resolve(dest);
  const merge = opts.union === true || opts.unionAdd === true;
  if (merge && exists(target)) {
    if (opts.intoEmpty && readdirSync(target).length > 0)
      throw new CheckoutError(`${dest} is not empty; intoEmpty checks out only into an empty directory`);
    await writeEntry(co, entry, target, true);
    return;
  }
  if (exists(target))
    throw new CheckoutError(`${dest} already exists; use --union or --union-add to write into it`);
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${randomBytes(6).toString("hex")}`);
  try {
    await writeEntry(co, entry, tmp, false);
    renameSync(tmp, target);
  } catch (e) {
    co.abort();
    rmSync(tmp, { recursive: true, force: true });
    const msg = (e as Error).message;
    throw new CheckoutError(`checkout of ${what} into ${dest} failed, nothing was written: ${msg}`);
  }
}

async function writeEntry(co: Checkout, entry: TreeEntry, path: string, existing: boolean): Promise<void> {
  if (entry.kind === "dir" && co.native) {
    if (!existing) mkdirSync(path, 0o700);
    return co.tree(entry, path);
  }
  if (entry.kind === "dir") co.dir(entry, path, existing);
  else {
    // Like ostree, a file subpath lands inside DEST, which is created as a private directory.
    if (!existing) mkdirSync(path, 0o700);
    co.file(entry.checksum, `${path}/${entry.name}`);
  }
  await co.finish();
}
