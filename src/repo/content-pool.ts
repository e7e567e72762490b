// A small pool of worker threads that store content objects given by path (read, sha256, deflate in
// archive mode, write to staging) so that hashing uses every core while the main thread walks
// directories. Jobs travel in batches to keep message overhead low, each batch with the staging dir
// it writes to. Few small jobs never start a worker at all: they are stored on the main thread.
// (Pulled `.filez` objects do not come here: the native helper's threads store them, see
// pooled-store.ts.)
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import {
  ContentError,
  ContentStore,
  type SourceJob,
  type StoreResult,
  type StoreTarget,
} from "./content-store.js";
import { enableCollection } from "./gc-pacing.js";

interface Pending {
  job: SourceJob;
  resolve: (r: StoreResult) => void;
  reject: (e: Error) => void;
}

export type WorkerError = { error: string; code?: string };
type WorkerReply = { batch: number; results: (StoreResult | WorkerError)[] };

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
  private inline: ContentStore | null = null;
  private flushScheduled = false;
  private readonly size: number;

  constructor(
    /** Where the files go. */
    private target: StoreTarget,
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
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.queuedBytes += job.size;
      if (
        this.workers.length === 0 &&
        this.size > 0 &&
        (this.queue.length >= START_JOBS || this.queuedBytes >= START_BYTES)
      )
        this.start();
      this.pump();
    });
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
      this.inline ??= new ContentStore(this.target);
      for (const p of this.queue.splice(0)) {
        try {
          p.resolve(this.inline.storeFromPath(p.job));
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
        const n = Math.min(MAX_BATCH, Math.max(1, Math.ceil(this.queue.length / (2 * this.workers.length))));
        const batch = this.queue.splice(0, n);
        for (const p of batch) this.queuedBytes -= p.job.size;
        const id = this.nextBatch++;
        this.inflight.set(id, batch);
        this.busy.set(w, (this.busy.get(w) ?? 0) + 1);
        w.ref();
        w.postMessage({ batch: id, target: this.target, jobs: batch.map((p) => p.job) });
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
