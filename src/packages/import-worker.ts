// Worker thread for importPackages: imports the files it is sent, one at a time, into one shared
// transaction, and commits that transaction when told there is no more work.
import { parentPort, workerData } from "node:worker_threads";
import { Repo } from "../repo/repo.js";
import { Transaction } from "../repo/transaction.js";
import { importInto, serializeError, type WorkerReply } from "./import.js";

const repo = Repo.open((workerData as { repo: string }).repo);
const txReady = Transaction.begin(repo);
const reply = (m: WorkerReply) => parentPort!.postMessage(m);

parentPort!.on("message", async (m: { i: number; path: string } | { done: true }) => {
  let tx: Transaction;
  try {
    tx = await txReady;
  } catch (e) {
    reply({ committed: true, fatal: serializeError(e) });
    return;
  }
  if ("done" in m) {
    try {
      await tx.commit();
      reply({ committed: true });
    } catch (e) {
      tx.abort();
      reply({ committed: true, fatal: serializeError(e) });
    }
    return;
  }
  try {
    reply({ i: m.i, result: await importInto(tx, m.path) });
  } catch (e) {
    reply({ i: m.i, error: serializeError(e) });
  }
});
