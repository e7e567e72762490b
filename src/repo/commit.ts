// Committing a directory from disk into a transaction, as `ostree commit DIR` does: directories
// become dirmeta + dirtree objects, regular files and symlinks become content objects (hashed and
// written by the worker pool while this walk goes on), and the result lands in a MutableTree so that
// several trees can be overlaid before the commit object is written (writeCommitObject).
import { readdirSync, readlinkSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Variant } from "../gvariant/index.js";
import { SCAN_FIELDS, scanDir } from "../util/native.js";
import {
  type CommitModifier,
  dirMeta,
  fileMeta,
  type ResolvedModifier,
  resolveModifier,
} from "./commit-modifier.js";
import { readXattrsOf } from "./content-store.js";
import { DevInoCache } from "./devino.js";
import { collectEvery } from "./gc-pacing.js";
import { MutableTree } from "./mtree.js";
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, serializeCommit, serializeDirMeta } from "./objects.js";
import { RepoError } from "./repo.js";
import type { Transaction } from "./transaction.js";

export class CommitError extends RepoError {
  override name = "CommitError";
}

export interface CommitProgress {
  files: number;
  bytes: number;
  /** Files whose checksum came from the devino cache (--link-checkout-speedup). */
  devinoHits: number;
}

export interface CommitDirOptions extends CommitModifier {
  /** Overlay into this tree (later trees win); a fresh one otherwise. */
  mtree?: MutableTree;
  /** Reuse checksums of files that are hardlinks of this repo's objects (ostree's devino cache). */
  linkCheckoutSpeedup?: boolean;
  /** Delete the source files once they are stored (`--consume`). */
  consume?: boolean;
  onProgress?: (p: CommitProgress) => void;
  /**
   * ostree's commit filter: called with each entry's path relative to the committed directory
   * ("var/cache/x") and its lstat mode; false leaves the entry (and a directory's content) out.
   * Device nodes, fifos and sockets are an error unless the filter leaves them out.
   */
  filter?: (relPath: string, mode: number) => boolean;
}

/** What a special file is called in errors (numeric object keys would be octal-unfriendly). */
function specialName(type: number): string {
  switch (type) {
    case S_IFIFO:
      return "fifo";
    case S_IFCHR:
      return "character device";
    case S_IFBLK:
      return "block device";
    case S_IFSOCK:
      return "socket";
    default:
      return "special file";
  }
}
const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFSOCK = 0o140000;

/** Walks `dir` into the transaction; resolves once every file is stored. */
export async function commitFromDirectory(
  tx: Transaction,
  dir: string,
  opts: CommitDirOptions = {},
): Promise<MutableTree> {
  const mtree = opts.mtree ?? MutableTree.empty(null, tx);
  const walk = new DirectoryWalk(tx, opts);
  const st = statSync(dir);
  if (!st.isDirectory()) throw new CommitError(`${dir} is not a directory`);
  mtree.setMetadata(walk.dirMetaChecksum(dir, st));
  await walk.walk(dir, mtree, "");
  await tx.drain();
  await Promise.all(walk.pending);
  opts.onProgress?.(walk.progress);
  if (opts.consume) consumeSource(dir);
  return mtree;
}

class DirectoryWalk {
  readonly progress: CommitProgress = { files: 0, bytes: 0, devinoHits: 0 };
  readonly pending: Promise<void>[] = [];
  private mod: ResolvedModifier;
  private devino: DevInoCache | null | undefined;
  private sameInode = new Map<number, Promise<string>>();
  private dirMetaCache = new Map<string, string>();
  private repoDev: number;
  private adoptable: boolean;
  private devinoUsable: boolean;
  private sinceYield = 0;
  private lastReport = Date.now();

  constructor(
    private tx: Transaction,
    private opts: CommitDirOptions,
  ) {
    const mode = tx.repo.mode;
    this.mod = resolveModifier(mode, opts);
    this.repoDev = statSync(tx.repo.path).dev;
    // ostree's "adopt": with --consume, rename the source into the repo when nothing about it changes.
    this.adoptable = !!opts.consume && (mode === "bare" ? this.mod.identity : mode === "bare-user-only");
    // A hardlink of an object shares its inode, hence its metadata: the object's checksum is the
    // file's, unless a modifier rewrites metadata (then we hash as usual).
    this.devinoUsable =
      !!opts.linkCheckoutSpeedup && !tx.repo.isArchive && (this.mod.identity || mode === "bare-user-only");
    this.devino = this.devinoUsable ? undefined : null;
  }

  dirMetaChecksum(path: string, st: Entry): string {
    const xattrs = this.mod.skipXattrs ? [] : readXattrsOf(path);
    const key = xattrs.length ? null : `${st.mode}:${st.uid}:${st.gid}`;
    const cached = key && this.dirMetaCache.get(key);
    if (cached) return cached;
    const csum = this.tx.writeMetadata(
      "dirmeta",
      serializeDirMeta(dirMeta(this.mod, st.mode, st.uid, st.gid, xattrs)),
    );
    if (key) this.dirMetaCache.set(key, csum);
    return csum;
  }

  async walk(dir: string, node: MutableTree, rel: string): Promise<void> {
    const filter = this.opts.filter;
    const { names, stats } = scanDir(dir);
    checkNames(dir, names);
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const o = i * SCAN_FIELDS;
      if (filter && !filter(rel ? `${rel}/${name}` : name, stats[o]!)) continue;
      // A hardlink of an object (a checkout being re-committed): no path, no stat record. As in
      // ostree, this holds for symlinks too (a bare repo's checkout links symlink objects).
      const t = stats[o]! & S_IFMT;
      if (
        (t === S_IFREG || t === S_IFLNK) &&
        stats[o + 5]! > 1 &&
        this.devino !== null &&
        this.devinoHit(node, name, stats[o + 6]!, stats[o + 4]!)
      ) {
        if (++this.sinceYield >= 256) await this.yieldNow();
        continue;
      }
      const path = join(dir, name);
      const st: Entry = {
        mode: stats[o]!,
        uid: stats[o + 1]!,
        gid: stats[o + 2]!,
        size: stats[o + 3]!,
        ino: stats[o + 4]!,
        nlink: stats[o + 5]!,
        dev: stats[o + 6]!,
      };
      const type = st.mode & S_IFMT;
      if (type === S_IFDIR) {
        const child = node.ensureChild(name);
        child.setMetadata(this.dirMetaChecksum(path, st));
        await this.walk(path, child, rel ? `${rel}/${name}` : name);
      } else if (type === S_IFREG || type === S_IFLNK) {
        this.addFile(node, name, path, st, type === S_IFLNK);
      } else {
        throw new CommitError(
          `${path}: a ${specialName(type)} cannot be committed (ostree stores only regular files, symlinks and directories); remove it from the tree or create it at boot time instead`,
        );
      }
      // Each entry leaves a few hundred bytes of garbage (names, paths, stats, promises).
      collectEvery(512);
      if (++this.sinceYield >= 256) await this.yieldNow();
    }
  }

  /** Takes a multiply-linked file's checksum from the devino cache; false when it has none. */
  private devinoHit(node: MutableTree, name: string, dev: number, ino: number): boolean {
    // (A directory of that name in an overlaid tree: addFile reports it.)
    if (node.child(name)?.kind === "dir") return false;
    this.devino ??= DevInoCache.scan(this.tx.repo);
    const csum = this.devino.lookup(dev, ino);
    if (!csum) return false;
    this.progress.files++;
    this.progress.devinoHits++;
    node.replaceFile(name, csum);
    return true;
  }

  private addFile(node: MutableTree, name: string, path: string, st: Entry, symlink: boolean): void {
    if (node.child(name)?.kind === "dir") throw new CommitError(`Can't replace directory with file: ${path}`);
    this.progress.files++;
    if (symlink) {
      // Symlink objects are tiny: storing them here is cheaper than a trip to a worker.
      const xattrs = this.mod.skipXattrs ? [] : readXattrsOf(path);
      const meta = fileMeta(this.mod, st.mode, st.uid, st.gid, readlinkSync(path), xattrs);
      node.replaceFile(name, this.tx.writeContentSync(meta, EMPTY));
      return;
    }
    const multi = st.nlink > 1;
    let csum: Promise<string> | undefined = multi ? this.sameInode.get(st.ino) : undefined;
    if (!csum) {
      csum = this.tx.writeContentFromPath({
        src: path,
        meta: fileMeta(this.mod, st.mode, st.uid, st.gid, "", []),
        size: st.size,
        readXattrs: !this.mod.skipXattrs,
        adopt: this.adoptable && st.dev === this.repoDev,
      });
      if (multi) this.sameInode.set(st.ino, csum);
      this.progress.bytes += st.size;
    }
    node.replaceFile(name, PENDING);
    this.pending.push(csum.then((c) => node.replaceFile(name, c)));
  }

  private async yieldNow(): Promise<void> {
    this.sinceYield = 0;
    await new Promise<void>((r) => setImmediate(r));
    await this.tx.throttle();
    const now = Date.now();
    if (this.opts.onProgress && now - this.lastReport > 100) {
      this.lastReport = now;
      this.opts.onProgress(this.progress);
    }
  }
}

const EMPTY = Buffer.alloc(0);

/** Placeholder checksum while a file's object is being stored; replaced before the tree is written. */
const PENDING = "0".repeat(64);

/** Names that are not valid UTF-8 cannot be stored in a dirtree (they arrive with U+FFFD). */
function checkNames(dir: string, names: string[]): void {
  if (!names.some((n) => n.includes("\uFFFD"))) return;
  for (const r of readdirSync(dir, { encoding: "buffer" }))
    if (!Buffer.from(r.toString("utf8")).equals(r))
      throw new CommitError(
        `${join(dir, r.toString("latin1"))}: file name is not valid UTF-8, which OSTree cannot store; rename it`,
      );
}

/** What the walk needs of an entry's lstat. */
interface Entry {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  ino: number;
  nlink: number;
  dev: number;
}

function consumeSource(dir: string): void {
  if (dir === "." || dir === "./") {
    for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
  } else rmSync(dir, { recursive: true, force: true });
}

export interface CommitObjectInput {
  parent?: string | null;
  subject?: string;
  body?: string;
  /** Seconds since the epoch; default now. */
  timestamp?: number;
  /** Commit metadata in the order it is to be serialized. */
  metadata?: [string, Variant][];
  rootTree: string;
  rootMeta: string;
}

/** Writes the commit object; returns its checksum. */
export function writeCommitObject(tx: Pick<Transaction, "writeMetadata">, c: CommitObjectInput): string {
  return tx.writeMetadata(
    "commit",
    serializeCommit({
      metadata: c.metadata ?? [],
      parent: c.parent ?? null,
      related: [],
      subject: c.subject ?? "",
      body: c.body ?? "",
      timestamp: c.timestamp ?? Math.floor(Date.now() / 1000),
      rootTree: c.rootTree,
      rootMeta: c.rootMeta,
    }),
  );
}
