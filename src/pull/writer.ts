// A pull's writes, in a chain of transactions: every so many objects (or seconds) the current one is
// committed and a new one begun, so that a pull killed half-way keeps what it had verified and a
// re-run fetches only the rest (ostree reuses its staging dir for that; ours are never reused).
// Nothing unverified is ever written: callers verify before or while they stage (see pull.ts).
import { existsSync } from "node:fs";
import type { ObjectType } from "../repo/objects.js";
import type { Repo } from "../repo/repo.js";
import { Transaction } from "../repo/transaction.js";

export interface BatchOptions {
  /** Commit after this many staged objects (default 2000). */
  objects?: number;
  /** … or after this many milliseconds (default 1000). */
  ms?: number;
}

export class BatchWriter {
  private inflight = 0;
  private idle: (() => void) | null = null;
  private rotating: Promise<void> | null = null;
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

  /** True when the object is in the repo or staged in the current transaction. */
  has(csum: string, type: ObjectType): boolean {
    if (type === "file") return this.tx.store.has(csum);
    return this.repo.hasObject(csum, type) || existsSync(this.tx.store.stagedPath(csum, type));
  }

  /**
   * Runs one write (or a read of what may be staged) against the current transaction; a rotation
   * waits for it to finish, so an object is never caught half-way between staging and objects/.
   */
  async use<T>(fn: (tx: Transaction) => Promise<T> | T, write = true): Promise<T> {
    while (this.rotating) await this.rotating;
    this.inflight++;
    try {
      return await fn(this.tx);
    } finally {
      this.inflight--;
      if (write) this.staged++;
      if (this.inflight === 0) this.idle?.();
      if (!this.rotating && (this.staged >= this.maxObjects || Date.now() - this.since >= this.maxMs))
        void this.flush().catch(() => {
          // The failure surfaces in the next use() or in finish() through the aborted transaction.
        });
    }
  }

  /** Commits what is staged so far (waiting for writes in flight) and begins a new transaction. */
  async flush(): Promise<void> {
    if (this.rotating) return this.rotating;
    this.rotating = (async () => {
      if (this.inflight > 0) await new Promise<void>((r) => (this.idle = r));
      this.idle = null;
      await this.tx.commit();
      this.tx = await Transaction.begin(this.repo);
      this.staged = 0;
      this.since = Date.now();
    })();
    try {
      await this.rotating;
    } finally {
      this.rotating = null;
    }
  }

  /** Commits the last batch; the writer is done. */
  async finish(): Promise<void> {
    while (this.rotating) await this.rotating;
    await this.tx.commit();
  }

  abort(): void {
    this.tx.abort();
  }
}
