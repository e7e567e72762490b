// Worker thread for early-bootcsum.ts: hashes the given files in order, off the main thread.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";

const h = createHash("sha256");
for (const p of workerData as string[]) h.update(readFileSync(p));
parentPort?.postMessage(h.digest("hex"));
