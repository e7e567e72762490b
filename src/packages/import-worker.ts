// Worker thread for importPackages: imports the files it is sent, one at a time, into the repo.
import { parentPort, workerData } from "node:worker_threads";
import { Repo } from "../repo/repo.js";
import { PackageFormatError } from "./errors.js";
import { importPackage } from "./import.js";

const repo = Repo.open((workerData as { repo: string }).repo);
parentPort!.on("message", async (m: { i: number; path: string }) => {
  try {
    parentPort!.postMessage({ i: m.i, result: await importPackage(repo, m.path) });
  } catch (e) {
    const err = e as Error;
    parentPort!.postMessage({
      i: m.i,
      error:
        e instanceof PackageFormatError
          ? { message: err.message, file: e.file, member: e.member, detail: e.detail }
          : { message: err.message },
    });
  }
});
