// Worker thread entry of the content pool: stores batches of files and replies with checksums.
// Buffers arrive as plain Uint8Arrays after structured cloning, so xattr values are re-wrapped.
import { parentPort, workerData } from "node:worker_threads";
import { ContentStore, type SourceJob, type StoreTarget } from "./content-store.js";

const store = new ContentStore(workerData as StoreTarget);

parentPort!.on("message", (msg: { batch: number; jobs: SourceJob[] }) => {
  const results = msg.jobs.map((job) => {
    try {
      job.meta.xattrs = job.meta.xattrs.map(([k, v]) => [
        k,
        Buffer.from(v.buffer, v.byteOffset, v.byteLength),
      ]);
      return store.storeFromPath(job);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      return { error: `${job.src}: ${err.message}`, code: err.code };
    }
  });
  parentPort!.postMessage({ batch: msg.batch, results });
});
