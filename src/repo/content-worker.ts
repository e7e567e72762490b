// Worker thread entry of the content pool: stores batches of jobs (files on disk, or pulled
// `.filez` bytes to verify) into the batch's staging dir and replies with checksums. Buffers
// arrive as plain Uint8Arrays after structured cloning, so xattr values are re-wrapped.
import { parentPort } from "node:worker_threads";
import { CorruptObjectError } from "./archive-object.js";
import type { PoolJob, WorkerError } from "./content-pool.js";
import { ContentStore, type StoreResult, type StoreTarget } from "./content-store.js";

let store: ContentStore | null = null;

function run(job: PoolJob, s: ContentStore): StoreResult | WorkerError {
  try {
    if ("filez" in job) return s.storeFilez(job.filez, job.expected);
    job.meta.xattrs = job.meta.xattrs.map(([k, v]) => [k, Buffer.from(v.buffer, v.byteOffset, v.byteLength)]);
    return s.storeFromPath(job);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (e instanceof CorruptObjectError) return { error: err.message, corrupt: true };
    return { error: `${"filez" in job ? job.expected : job.src}: ${err.message}`, code: err.code };
  }
}

parentPort!.on("message", (msg: { batch: number; target: StoreTarget; jobs: PoolJob[] }) => {
  // One store per staging dir: a pull's chain of transactions moves on to a new one.
  if (store?.target.stagingDir !== msg.target.stagingDir) store = new ContentStore(msg.target);
  const s = store;
  const results = msg.jobs.map((job) => run(job, s));
  parentPort!.postMessage({ batch: msg.batch, results });
});
