// A pull's writes, in a chain of transactions: every so many objects (or seconds) the current one is
// committed and a new one begun, so that a pull killed half-way keeps what it had verified and a
// re-run fetches only the rest (ostree reuses its staging dir for that; ours are never reused).
// The batch being committed does so in the background — its data goes to disk on the thread pool —
// while fetching and storing go on into the next one; at most one batch commits at a time, and the
// last one (with the refs) commits only after it. Nothing unverified is ever written: callers
// verify before or while they stage (see pull.ts).
import { existsSync, readFileSync } from "node:fs";
import type { ObjectType } from "../repo/objects.js";
import { ObjectMissingError, type Repo } from "../repo/repo.js";
import { Transaction } from "../repo/transaction.js";

export interface BatchOptions {
  /** Commit after this many staged objects (default 2000). */
  objects?: number;
  /** … or after this many milliseconds (default 1000). */
  ms?: number;
}

export class BatchWriter {
  /** Writes in flight per transaction: a batch commits once its own have finished. */
  private inflight = new Map<Transaction, number>();
  private idle = new Map<Transaction, () => void>();
  /** The next transaction being begun: writes wait for it (it only makes a staging dir). */
  private beginning: Promise<void> | null = null;
  /** The previous batch, committing in the background. */
  private committing: { tx: Transaction; done: Promise<void> } | null = null;
  private failure: Error | null = null;
  private staged = 0;
  private since = Date.now();
  private readonly maxObjects: number;
  private readonly maxMs: number;

  private constructor(
    readonly repo: Repo,
    private tx: Transaction,
    opts: BatchOptions,
  ) {
    this.maxObjects = opts.objects ?? 2000;
    this.maxMs = opts.ms ?? 1000;
  }

  static async open(repo: Repo, opts: BatchOptions = {}): Promise<BatchWriter> {
    return new BatchWriter(repo, await Transaction.begin(repo), opts);
  }

  /**
   * True when the object is in the repo or staged in the current batch or the one committing. The
   * staging dirs are looked at first and objects/ last: an object that the committing batch moves
   * into objects/ between two looks is found by the last one. (A missing object costs two or three
   * lstats, not two to six.)
   */
  has(csum: string, type: ObjectType): boolean {
    if (this.stagedIn(this.tx, csum, type)) return true;
    const c = this.committing?.tx;
    if (c && this.stagedIn(c, csum, type)) return true;
    return this.repo.hasObject(csum, type);
  }

  private stagedIn(tx: Transaction, csum: string, type: ObjectType): boolean {
    if (type === "file") return tx.store.isStaged(csum);
    return existsSync(tx.store.stagedPath(csum, type));
  }

  /** A metadata object's bytes from objects/ or from the staging dir of a batch not yet committed. */
  readMetadata(csum: string, type: "dirtree" | "commit"): Buffer {
    const staged = [this.tx, this.committing?.tx].filter((t): t is Transaction => !!t);
    for (let attempt = 0; ; attempt++) {
      try {
        return this.repo.readMetadataBytes(csum, type);
      } catch (e) {
        if (!(e instanceof ObjectMissingError)) throw e;
      }
      for (const t of staged) {
        try {
          return readFileSync(t.store.stagedPath(csum, type));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
        }
      }
      // Renamed into objects/ while we looked: once more finds it there.
      if (attempt === 1) throw new ObjectMissingError(csum, type);
    }
  }

  /** Runs one write against the current transaction; that batch commits only once it is done. */
  async use<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    if (this.failure) throw this.failure;
    while (this.beginning) await this.beginning;
    const tx = this.tx;
    this.inflight.set(tx, (this.inflight.get(tx) ?? 0) + 1);
    try {
      return await fn(tx);
    } finally {
      const n = (this.inflight.get(tx) ?? 1) - 1;
      this.inflight.set(tx, n);
      if (n === 0) this.idle.get(tx)?.();
      this.staged++;
      if (
        !this.beginning &&
        !this.committing &&
        tx === this.tx &&
        (this.staged >= this.maxObjects || Date.now() - this.since >= this.maxMs)
      )
        this.rotate();
    }
  }

  /** Begins the next batch and commits this one in the background (a failure surfaces in use() or finish()). */
  private rotate(): void {
    const old = this.tx;
    // Its data starts going to disk now, on the pool; the commit's own syncfs then has little left.
    old.startWriteback();
    this.beginning = Transaction.begin(this.repo).then(
      (tx) => {
        this.tx = tx;
        this.staged = 0;
        this.since = Date.now();
        this.beginning = null;
      },
      (e: Error) => {
        this.failure ??= e;
        this.beginning = null;
      },
    );
    const done = (async () => {
      await this.beginning;
      if ((this.inflight.get(old) ?? 0) > 0) await new Promise<void>((r) => this.idle.set(old, r));
      this.inflight.delete(old);
      this.idle.delete(old);
      await old.commit({ background: true });
    })().then(
      () => {
        this.committing = null;
      },
      (e: Error) => {
        this.failure ??= e;
        this.committing = null;
      },
    );
    this.committing = { tx: old, done };
  }

  /** Commits the last batch once the one before it is committed; the writer is done. */
  async finish(): Promise<void> {
    while (this.beginning) await this.beginning;
    await this.committing?.done;
    if (this.failure) {
      this.tx.abort();
      throw this.failure;
    }
    await this.tx.commit();
  }

  /** Drops the current batch; one committing in the background finishes on its own. */
  abort(): void {
    this.tx.abort();
  }
}
