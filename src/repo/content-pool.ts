// A small pool of worker threads that store content objects (read, sha256, deflate in archive mode,
// write to staging) so that hashing uses every core while the main thread walks directories or
// talks HTTP. Two kinds of jobs: files on disk (commit) and pulled `.filez` bytes, verified against
// their names before anything is written (pull). Jobs travel in batches to keep message overhead
// low, each batch with the staging dir it writes to, so one pool serves a chain of transactions.
// Few small jobs never start a worker at all: they are stored on the main thread.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { CorruptObjectError } from "./archive-object.js";
import {
  ContentError,
  ContentStore,
  type SourceJob,
  type StoreResult,
  type StoreTarget,
} from "./content-store.js";
import { enableCollection } from "./gc-pacing.js";

/** A job for a worker: a file on disk, or `.filez` bytes that must be the object `expected`. */
export type PoolJob = SourceJob | { filez: Uint8Array; expected: string };

interface Pending {
  job: PoolJob;
  target: StoreTarget;
  resolve: (r: StoreResult) => void;
  reject: (e: Error) => void;
}

export type WorkerError = { error: string; code?: string; corrupt?: boolean };
type WorkerReply = { batch: number; results: (StoreResult | WorkerError)[] };

const jobSize = (job: PoolJob) => ("filez" in job ? job.filez.byteLength : job.size);

/** Start workers once this much work is queued; less than that is cheaper to do inline. */
const START_JOBS = 48;
const START_BYTES = 8 << 20;
const MAX_BATCH = 64;

export class ContentPool {
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private workers: Worker[] = [];
  private inflight = new Map<number, Pending[]>();
  private busy = new Map<Worker, number>();
  private nextBatch = 0;
  private idleWaiters: (() => void)[] = [];
  private failure: Error | null = null;
  private inline = new Map<string, ContentStore>();
  private flushScheduled = false;
  private filezSeen = 0;
  private pumpScheduled = false;
  private readonly size: number;

  constructor(
    /** Where submit()'s files go; null for a pool that only takes storeFilez() jobs. */
    private target: StoreTarget | null,
    workers?: number,
  ) {
    const env = Number(process.env.TSOSTREE_WORKERS);
    this.size = Math.max(
      0,
      workers ?? (Number.isFinite(env) && env >= 0 ? env : Math.min(2, availableParallelism())),
    );
  }

  /**
   * Queues a job. With `autoFlush`, jobs that do not justify starting workers are stored inline at
   * the next turn of the event loop; without it (directory walks) they wait for drain(), so that a
   * walk can first see how much work there is.
   */
  submit(job: SourceJob, autoFlush = false): Promise<StoreResult> {
    if (this.failure) return Promise.reject(this.failure);
    if (autoFlush && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        if (this.workers.length === 0) void this.drain();
      });
    }
    if (!this.target) return Promise.reject(new ContentError("this content pool has no staging dir"));
    return this.enqueue(job, this.target);
  }

  /**
   * Verifies and stores pulled `.filez` bytes into `target`'s staging dir (any transaction's):
   * inline until a pull has shown it has many objects, then on the workers. The bytes are handed
   * over to the worker, not copied: the caller must not use them again. Rejects with
   * CorruptObjectError, having written nothing, when they are not the object `expected`.
   */
  storeFilez(target: StoreTarget, filez: Buffer, expected: string): Promise<StoreResult> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.workers.length === 0 && this.size > 0 && ++this.filezSeen >= START_JOBS) this.start();
    if (this.workers.length === 0) {
      try {
        return Promise.resolve(this.inlineStore(target).storeFilez(filez, expected));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return this.enqueue({ filez, expected }, target, true);
  }

  /**
   * Queues a job; `coalesce` hands it to a worker at the end of this turn of the event loop, with
   * whatever else arrives meanwhile (a pull's bodies come in one socket read at a time, and a
   * message each way per object cost more than the object's own bytes).
   */
  private enqueue(job: PoolJob, target: StoreTarget, coalesce = false): Promise<StoreResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, target, resolve, reject });
      this.queuedBytes += jobSize(job);
      if (
        this.workers.length === 0 &&
        this.size > 0 &&
        (this.queue.length >= START_JOBS || this.queuedBytes >= START_BYTES)
      )
        this.start();
      if (!coalesce) this.pump();
      else if (!this.pumpScheduled) {
        this.pumpScheduled = true;
        setImmediate(() => {
          this.pumpScheduled = false;
          this.pump();
        });
      }
    });
  }

  /** A main-thread store for `target` (one per staging dir; older ones are dropped). */
  private inlineStore(target: StoreTarget): ContentStore {
    let s = this.inline.get(target.stagingDir);
    if (!s) {
      this.inline.clear();
      s = new ContentStore(target);
      this.inline.set(target.stagingDir, s);
    }
    return s;
  }

  /** Jobs queued but not yet handed to a worker (directory walks pause while this is large). */
  get backlog(): number {
    return this.queue.length;
  }

  /** Resolves once the backlog is below `n` (immediately when no worker is running). */
  async waitBacklog(n: number): Promise<void> {
    while (this.workers.length && this.queue.length >= n && !this.failure)
      await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  /** Resolves when every submitted job has finished (inline ones are done here). */
  async drain(): Promise<void> {
    if (this.workers.length === 0) {
      for (const p of this.queue.splice(0)) {
        try {
          p.resolve(this.inlineStore(p.target).storeFromPath(p.job as SourceJob));
        } catch (e) {
          p.reject(e as Error);
        }
      }
      this.queuedBytes = 0;
      return;
    }
    this.pump();
    while (this.queue.length || this.inflight.size) await new Promise<void>((r) => this.idleWaiters.push(r));
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }

  private start(): void {
    // Peak memory is part of the budget: see collectEvery() in gc-pacing.ts.
    enableCollection();
    for (let i = 0; i < this.size; i++) {
      // Small heaps: a worker holds one file at a time, and RSS is part of the performance budget.
      const w = new Worker(new URL("./content-worker.js", import.meta.url), {
        resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 96 },
      });
      w.unref();
      w.on("message", (m: WorkerReply) => this.onReply(w, m));
      w.on("error", (e) => this.fail(new ContentError(`content worker failed: ${e.message}`)));
      this.busy.set(w, 0);
      this.workers.push(w);
    }
  }

  private pump(): void {
    if (this.workers.length === 0) return;
    for (const w of this.workers) {
      // Two batches per worker in flight: one running, one waiting, so a worker never idles.
      while ((this.busy.get(w) ?? 0) < 2 && this.queue.length) {
        let n = Math.min(MAX_BATCH, Math.max(1, Math.ceil(this.queue.length / (2 * this.workers.length))));
        // A batch writes into one staging dir.
        const target = this.queue[0]!.target;
        const same = this.queue.findIndex((p) => p.target.stagingDir !== target.stagingDir);
        if (same > 0) n = Math.min(n, same);
        const batch = this.queue.splice(0, n);
        const transfer: ArrayBuffer[] = [];
        for (const p of batch) {
          this.queuedBytes -= jobSize(p.job);
          if ("filez" in p.job && p.job.filez.byteLength === p.job.filez.buffer.byteLength)
            transfer.push(p.job.filez.buffer as ArrayBuffer);
        }
        const id = this.nextBatch++;
        this.inflight.set(id, batch);
        this.busy.set(w, (this.busy.get(w) ?? 0) + 1);
        w.ref();
        w.postMessage({ batch: id, target, jobs: batch.map((p) => p.job) }, transfer);
      }
    }
  }

  private onReply(w: Worker, m: WorkerReply): void {
    const batch = this.inflight.get(m.batch);
    this.inflight.delete(m.batch);
    const busy = (this.busy.get(w) ?? 1) - 1;
    this.busy.set(w, busy);
    if (busy === 0) w.unref();
    batch?.forEach((p, i) => {
      const r = m.results[i]!;
      if (!("error" in r)) p.resolve(r);
      else if (r.corrupt)
        p.reject(new CorruptObjectError(r.error)); // that object only
      else {
        const err = new ContentError(r.error);
        this.failure ??= err;
        p.reject(err);
      }
    });
    this.pump();
    for (const r of this.idleWaiters.splice(0)) r();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const batch of this.inflight.values()) for (const p of batch) p.reject(e);
    this.inflight.clear();
    for (const p of this.queue.splice(0)) p.reject(e);
    for (const r of this.idleWaiters.splice(0)) r();
  }
}
