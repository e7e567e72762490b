// Worker thread entry of the content pool: stores batches of files given by path into the batch's
// staging dir and replies with checksums. Buffers arrive as plain Uint8Arrays after structured
// cloning, so xattr values are re-wrapped.
import { parentPort } from "node:worker_threads";
import type { WorkerError } from "./content-pool.js";
import { ContentStore, type SourceJob, type StoreResult, type StoreTarget } from "./content-store.js";
import { enableCollection } from "./gc-pacing.js";

enableCollection();

let store: ContentStore | null = null;

function run(job: SourceJob, s: ContentStore): StoreResult | WorkerError {
  try {
    job.meta.xattrs = job.meta.xattrs.map(([k, v]) => [k, Buffer.from(v.buffer, v.byteOffset, v.byteLength)]);
    return s.storeFromPath(job);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { error: `${job.src}: ${err.message}`, code: err.code };
  }
}

parentPort!.on("message", (msg: { batch: number; target: StoreTarget; jobs: SourceJob[] }) => {
  if (store?.target.stagingDir !== msg.target.stagingDir) store = new ContentStore(msg.target);
  const s = store;
  const results = msg.jobs.map((job) => run(job, s));
  parentPort!.postMessage({ batch: msg.batch, results });
});
