// A commit transaction, shaped like ostree's: the repo lock is held shared for its whole life,
// objects are written into tmp/staging-<bootid>-XXXXXX (locked by its "-lock" file, which is how
// ostree tells live staging dirs from abandoned ones), and commit() makes them durable with one
// syncfs, renames them into objects/XX/, makes the renames durable with a second syncfs (one
// journal commit here, where an fsync per objects/XX directory cost ~0.1 ms each), and only then
// moves refs (all written, then one more syncfs).
// A crash at any point leaves objects/ and refs/ valid; at worst a staging dir is left behind,
// which ostree itself (or our next transaction) cleans up.
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { syncfsPath, syncfsPathAsync } from "../util/atomic.js";
import type { FileLock } from "../util/lock.js";
import { ContentPool } from "./content-pool.js";
import { ContentStore, type SourceJob, type StoreResult } from "./content-store.js";
import { fault } from "./fault.js";
import {
  type Commit,
  type DirMeta,
  type DirTree,
  type FileMeta,
  type ObjectType,
  objectRelPath,
  parseCommit,
  parseDirMeta,
  parseDirTree,
} from "./objects.js";
import { type Assembly, storeAssembled, storeFilez } from "./pooled-store.js";
import { deleteRef, writeRef } from "./refs.js";
import { type FileObject, ObjectMissingError, type Repo, RepoError } from "./repo.js";
import { allocateStagingDir } from "./staging-dir.js";

export type MetadataType = "dirtree" | "dirmeta" | "commit";

export class TransactionError extends RepoError {
  override name = "TransactionError";
}

export interface TransactionStats {
  metadataTotal: number;
  metadataWritten: number;
  contentTotal: number;
  contentWritten: number;
  contentBytesWritten: number;
}

export interface TransactionOptions {
  /** false = no syncfs/fsync (ostree's --fsync=false); default: the repo's core.fsync. */
  fsync?: boolean;
  /** Hashing worker threads for files given by path (default: up to 2). */
  workers?: number;
}

export class Transaction {
  readonly stats: TransactionStats = {
    metadataTotal: 0,
    metadataWritten: 0,
    contentTotal: 0,
    contentWritten: 0,
    contentBytesWritten: 0,
  };
  private pool: ContentPool | null = null;
  private refUpdates = new Map<string, string | null>();
  private commits: string[] = [];
  /**
   * Scopes not discarded (open or ended): each records what its unit staged and used, so that one
   * unit can be taken back without taking what another still uses.
   */
  private scopes = new Set<StagingScope>();
  private state: "open" | "committed" | "aborted" = "open";
  /** A writeback started early (startWriteback), awaited before the commit's own syncfs. */
  private earlySync: Promise<void> | null = null;
  /** objects/XX directories known to exist (see prepareObjectDirs); null until first needed. */
  private objectDirs: Set<string> | null = null;
  private readonly fsync: boolean;

  private constructor(
    readonly repo: Repo,
    private repoLock: FileLock,
    private stagingLock: FileLock,
    readonly stagingDir: string,
    readonly store: ContentStore,
    private opts: TransactionOptions,
  ) {
    this.fsync = opts.fsync ?? repo.fsyncEnabled;
  }

  static async begin(repo: Repo, opts: TransactionOptions = {}): Promise<Transaction> {
    const repoLock = await repo.lock("shared");
    try {
      const { dir, lock } = await allocateStagingDir(repo.tmpDir());
      const store = new ContentStore({
        objectsDir: join(repo.path, "objects"),
        stagingDir: dir,
        mode: repo.mode,
        writeback: opts.fsync ?? repo.fsyncEnabled,
      });
      return new Transaction(repo, repoLock, lock, dir, store, opts);
    } catch (e) {
      repoLock.release();
      throw e;
    }
  }

  /**
   * Stores a regular file or symlink with the given metadata and returns its checksum. `data` is
   * the payload in memory, a path to copy it from (hashed in a worker thread; `size` defaults to
   * the file's), or a stream of chunks (`size`, if given, is checked; `expected`, if given, is the
   * checksum the stream must have, else it is rejected before it is staged). Symlinks take no data.
   */
  async writeContent(
    meta: FileMeta,
    data: Buffer | string | AsyncIterable<Buffer>,
    size?: number,
    scope?: StagingScope,
    expected?: string,
  ): Promise<string> {
    this.requireOpen();
    let r: StoreResult;
    if (Buffer.isBuffer(data)) return this.writeContentSync(meta, data, scope);
    if (typeof data === "string")
      return this.writeContentFromPath(
        {
          src: data,
          meta,
          size: size ?? -1,
          readXattrs: false,
          adopt: false,
        },
        true,
        scope,
      );
    else {
      const sink = this.store.openSink(meta, size);
      try {
        for await (const chunk of data) sink.write(chunk);
      } catch (e) {
        sink.discard();
        throw e;
      }
      r = sink.finish(expected);
    }
    this.countContent(r, scope);
    return r.csum;
  }

  /**
   * Stores a pulled archive-mode object (`.filez` bytes) once it is verified to be `expected`;
   * rejects with CorruptObjectError, having written nothing, when it is not. The inflating,
   * hashing and writing run on the native helper's threads (pooled-store.ts), several at once.
   */
  async writeFilez(filez: Buffer, expected: string): Promise<string> {
    this.requireOpen();
    const r = await storeFilez(this.store, filez, expected);
    this.countContent(r, undefined);
    return r.csum;
  }

  /**
   * Stores a regular file assembled from pieces (a delta's object: see pooled-store.ts) only if it
   * hashes to `expected`; resolves the checksum it has (nothing is staged when that is not
   * `expected`). The assembling, hashing and writing run on the native helper's threads.
   */
  async writeContentAssembled(
    meta: FileMeta,
    size: number,
    assembly: Assembly,
    expected: string,
  ): Promise<string> {
    this.requireOpen();
    const r = await storeAssembled(this.store, meta, size, assembly, expected);
    if (r.csum === expected) this.countContent(r, undefined);
    return r.csum;
  }

  /** writeContent for a payload in memory (or a symlink), synchronously. */
  writeContentSync(meta: FileMeta, data: Buffer, scope?: StagingScope): string {
    this.requireOpen();
    const r = this.store.storeBuffer(meta, data);
    this.countContent(r, scope);
    return r.csum;
  }

  /**
   * Queues a file on disk for the worker pool (what commitFromDirectory uses). Without `autoFlush`
   * the job may wait for drain() when no worker is running.
   */
  async writeContentFromPath(job: SourceJob, autoFlush = false, scope?: StagingScope): Promise<string> {
    this.requireOpen();
    if (job.size < 0) job.size = lstatSync(job.src).size;
    this.pool ??= new ContentPool(this.store.target, this.opts.workers);
    const r = await this.pool.submit(job, autoFlush);
    this.countContent(r, scope);
    return r.csum;
  }

  /** Lets a producer (a directory walk) pause while many queued files wait for a worker. */
  async throttle(): Promise<void> {
    if (this.pool && this.pool.backlog >= 512) await this.pool.waitBacklog(128);
  }

  /** Waits until every queued file is stored. */
  async drain(): Promise<void> {
    await this.pool?.drain();
  }

  /** Stores a metadata object (its bytes must already be normal-form GVariant); returns its checksum. */
  writeMetadata(type: MetadataType, bytes: Buffer, scope?: StagingScope): string {
    this.requireOpen();
    const csum = createHash("sha256").update(bytes).digest("hex");
    this.stats.metadataTotal++;
    scope?.used.add(csum);
    const rel = objectRelPath(csum, type, false);
    if (existsSync(join(this.repo.path, rel))) return csum;
    if (existsSync(this.store.stagedPath(csum, type))) return csum;
    const tmp = this.store.tmpPath();
    const fd = openSync(tmp, "wx", 0o644);
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off);
    } finally {
      closeSync(fd);
    }
    this.store.publishAs(tmp, csum, type);
    this.stats.metadataWritten++;
    scope?.staged.push([csum, type]);
    if (type === "commit") {
      this.commits.push(csum);
      fault("staged-write");
    }
    return csum;
  }

  /**
   * A view of this transaction for one unit of work, which records every object the unit uses
   * and every object it newly stages. `discard()` unstages what only that unit needed (nothing of
   * it reaches objects/), `end()` keeps it. Several transactions' worth of work — say, one package
   * after another, or several at once — can thus share one transaction, and one sync, while a unit
   * that fails leaves nothing behind. An object staged by a unit that fails but also used by
   * another unit stays.
   */
  scope(): StagingScope {
    this.requireOpen();
    const sc = new StagingScope(this);
    this.scopes.add(sc);
    return sc;
  }

  /** @internal for StagingScope: ended scopes stay listed, since what they use must stay staged. */
  closeScope(sc: StagingScope, discard: boolean): void {
    if (!discard) return;
    this.scopes.delete(sc);
    const usedElsewhere = (csum: string) => {
      for (const other of this.scopes) if (other.used.has(csum)) return true;
      return false;
    };
    for (const [csum, ext] of sc.staged) {
      if (usedElsewhere(csum)) continue;
      rmSync(this.store.stagedPath(csum, ext), { force: true });
      if (ext === "commit") this.commits = this.commits.filter((c) => c !== csum);
    }
  }

  /**
   * Creates the objects/XX directories that what is staged so far will need, so that commit()
   * renames those objects without a mkdir each (in a fresh repo some 200, ~0.04 ms apiece). For a
   * caller with idle time while other work is still in flight — an importer whose other packages
   * are still decompressing — rather than on the way to the commit.
   */
  prepareObjectDirs(): void {
    for (const name of readdirSync(this.stagingDir))
      if (STAGED_OBJECT.test(name)) this.ensureObjectDir(name.slice(0, 2));
  }

  /**
   * Starts writing what is staged so far to disk, on the thread pool, so that the commit's syncfs
   * finds less to do: for a caller that waits on other work anyway (see prepareObjectDirs).
   */
  startWriteback(): void {
    if (!this.fsync || this.earlySync) return;
    this.earlySync = syncfsPathAsync(this.repo.tmpDir());
  }

  /** Makes objects/XX unless it is known to exist. */
  private ensureObjectDir(d: string): void {
    const objects = join(this.repo.path, "objects");
    this.objectDirs ??= new Set(readdirSync(objects));
    if (this.objectDirs.has(d)) return;
    try {
      mkdirSync(join(objects, d), { mode: 0o775 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e; // made by a concurrent writer
    }
    this.objectDirs.add(d);
  }

  /** Points `refspec` at `csum` (null deletes it) once the objects are durable, at commit(). */
  setRef(refspec: string, csum: string | null): void {
    this.requireOpen();
    this.refUpdates.set(refspec, csum);
  }

  /** Reads a dirtree from the repo or from what this transaction staged. */
  loadDirTree(csum: string): DirTree {
    return parseDirTree(this.readMetadata(csum, "dirtree"));
  }

  loadCommit(csum: string): Commit {
    return parseCommit(this.readMetadata(csum, "commit"));
  }

  loadDirMeta(csum: string): DirMeta {
    return parseDirMeta(this.readMetadata(csum, "dirmeta"));
  }

  /** Reads a content object from the repo or from what this transaction staged. */
  loadFile(csum: string): FileObject {
    try {
      return this.repo.loadFile(csum);
    } catch (e) {
      if (!(e instanceof ObjectMissingError)) throw e;
      return this.repo.loadFileAt(this.store.stagedPath(csum, this.repo.isArchive ? "filez" : "file"), csum);
    }
  }

  private readMetadata(csum: string, type: Exclude<ObjectType, "file">): Buffer {
    const rel = objectRelPath(csum, type, false);
    for (const p of [join(this.repo.path, rel), this.store.stagedPath(csum, type)]) {
      try {
        return readFileSync(p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      }
    }
    throw new ObjectMissingError(csum, type);
  }

  /**
   * Makes every staged object durable and visible, then updates refs, then releases the locks.
   * `background`: the syncfs calls run on the thread pool, so this thread serves other work (a
   * pull's next batch) while they wait.
   */
  async commit(opts: { background?: boolean } = {}): Promise<void> {
    this.requireOpen();
    const sync = async (needed: boolean) => {
      if (!this.fsync || !needed) return;
      if (opts.background) await syncfsPathAsync(this.repo.tmpDir());
      else syncfsPath(this.repo.tmpDir());
    };
    try {
      await this.drain();
      await this.pool?.close();
      this.pool = null;
      await this.earlySync;
      const staged = readdirSync(this.stagingDir).filter((n) => STAGED_OBJECT.test(n));
      // Nothing staged (say, every package was already imported): nothing to make durable.
      await sync(staged.length > 0);
      fault("before-rename");
      // Commit objects go last, once everything they reference is durable in objects/: a crash
      // in between leaves only unreferenced objects, never a commit with missing trees. Renames
      // into objects/ are made durable before anything may point at what they moved.
      const isCommit = (name: string) => name.endsWith(".commit");
      await sync(this.renameStaged(staged.filter((n) => !isCommit(n))) > 0);
      await sync(this.renameStaged(staged.filter(isCommit)) > 0);
      this.removeStaging();
      for (const c of this.commits) removeTombstone(this.repo, c);
      fault("before-ref");
      // Refs are written, then made durable together: one syncfs instead of two fsyncs each.
      for (const [spec, csum] of this.refUpdates) {
        if (csum) writeRef(this.repo, spec, csum, { sync: false });
        else deleteRef(this.repo, spec);
      }
      await sync(this.refUpdates.size > 0);
      this.state = "committed";
    } catch (e) {
      this.abort();
      throw e;
    } finally {
      this.repoLock.release();
    }
  }

  /** Drops everything staged; refs are untouched. Safe to call more than once. */
  abort(): void {
    if (this.state !== "open") return;
    this.state = "aborted";
    void this.pool?.close();
    this.pool = null;
    try {
      this.removeStaging();
    } finally {
      this.repoLock.release();
    }
  }

  /** Moves the staged objects `names` into objects/XX/; returns how many moved. */
  private renameStaged(names: string[]): number {
    const objects = join(this.repo.path, "objects");
    let done = 0;
    for (const name of names) {
      const d = name.slice(0, 2);
      this.ensureObjectDir(d);
      renameSync(join(this.stagingDir, name), join(objects, d, name.slice(2)));
      if (++done === Math.ceil(names.length / 2)) fault("mid-rename");
    }
    return names.length;
  }

  private removeStaging(): void {
    rmSync(this.stagingDir, { recursive: true, force: true });
    // ostree's convention: whoever holds the staging lock exclusively may delete the lock file.
    try {
      unlinkSync(this.stagingLock.path);
    } catch {
      // already gone
    }
    this.stagingLock.release();
  }

  private countContent(r: StoreResult, scope: StagingScope | undefined): void {
    this.stats.contentTotal++;
    scope?.used.add(r.csum);
    if (r.written) {
      scope?.staged.push([r.csum, this.repo.isArchive ? "filez" : "file"]);
      this.stats.contentWritten++;
      this.stats.contentBytesWritten += r.bytes;
    }
  }

  private requireOpen(): void {
    if (this.state !== "open") throw new TransactionError(`the transaction is already ${this.state}`);
  }
}

/** A staged object's file name: CHECKSUM.TYPE (temporary files start with a dot). */
const STAGED_OBJECT = /^[0-9a-f]{64}\./;

/** Writing a commit revives it: drop a tombstone left by an earlier deletion, as ostree does. */
function removeTombstone(repo: Repo, commit: string): void {
  try {
    unlinkSync(repo.objectPath(commit, "tombstone-commit"));
  } catch {
    // none
  }
}

/**
 * One unit of work inside a shared transaction (see Transaction.scope()): write through it and it
 * records what the unit used and staged. It reads and writes like the transaction itself, so tree
 * code takes it wherever it takes a Transaction's TreeSource and TreeSink.
 */
export class StagingScope {
  /** Objects this unit newly staged, as [checksum, extension]. */
  readonly staged: [string, string][] = [];
  /** Every object this unit wrote or found already present. */
  readonly used = new Set<string>();
  constructor(readonly tx: Transaction) {}

  writeContent(meta: FileMeta, data: Buffer | AsyncIterable<Buffer>, size?: number): Promise<string> {
    return this.tx.writeContent(meta, data, size, this);
  }
  writeContentSync(meta: FileMeta, data: Buffer): string {
    return this.tx.writeContentSync(meta, data, this);
  }
  writeMetadata(type: MetadataType, bytes: Buffer): string {
    return this.tx.writeMetadata(type, bytes, this);
  }
  loadDirTree(csum: string): DirTree {
    return this.tx.loadDirTree(csum);
  }
  loadCommit(csum: string): Commit {
    return this.tx.loadCommit(csum);
  }
  end(): void {
    this.tx.closeScope(this, false);
  }
  discard(): void {
    this.tx.closeScope(this, true);
  }
}
