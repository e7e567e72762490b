// Worker thread for early-checkout.ts: checks out a commit into an empty directory (the native
// plan of checkout.ts), off the main thread, and reports "ok" or the error's message.
import { parentPort, workerData } from "node:worker_threads";
import { checkout } from "../repo/checkout.js";
import { Repo } from "../repo/repo.js";

const job = workerData as { repo: string; commit: string; dest: string; userMode: boolean };
try {
  const repo = Repo.open(job.repo);
  await checkout(repo, job.commit, job.dest, { userMode: job.userMode, union: true, intoEmpty: true });
  parentPort?.postMessage({ ok: true });
} catch (e) {
  parentPort?.postMessage({
    ok: false,
    message: (e as Error).message,
    code: (e as NodeJS.ErrnoException).code,
  });
}
