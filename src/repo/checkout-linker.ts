// The hardlink half of a checkout: decide per object whether ostree would link it, and link it.
// Runs inline for small trees and on a worker thread for large ones, where it overlaps with the
// main thread's dirtree parsing and mkdirs (both halves are syscall-bound; two cores help).
// The same module is the worker's entry point.
import { linkSync, lstatSync } from "node:fs";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { getXattr } from "../util/native.js";
import type { RepoMode } from "./repo.js";

export interface LinkerConfig {
  /** REPO/objects */
  objects: string;
  mode: RepoMode;
  userMode: boolean;
}

/**
 * Entries that were not linked: [job index, reason]. Reasons: `COPY` (ostree's rules say create
 * it: empty file, symlink of a bare-user(-only) repo, unreadable file in user mode), `NOMETA`
 * (bare-user object without user.ostreemeta), or the errno code of lstat/link.
 */
export type LinkFailure = [number, string];

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

export class Linker {
  private readonly verdicts = new Map<string, string>();
  readonly failures: LinkFailure[] = [];
  constructor(private readonly cfg: LinkerConfig) {}

  objectPath(csum: string): string {
    return `${this.cfg.objects}/${csum.slice(0, 2)}/${csum.slice(2)}.file`;
  }

  /** `link` when the object may be hardlinked, else a failure reason (cached per object). */
  verdict(csum: string): string {
    let v = this.verdicts.get(csum);
    if (v === undefined) {
      v = this.probe(this.objectPath(csum));
      this.verdicts.set(csum, v);
    }
    return v;
  }

  private probe(src: string): string {
    const st = lstatSync(src, { throwIfNoEntry: false });
    if (!st) return "ENOENT";
    let mode = st.mode;
    if (this.cfg.mode === "bare-user") {
      const meta = getXattr(src, "user.ostreemeta");
      // (uuua(ayay)): the mode is the third big-endian u32.
      if (!meta || meta.length < 12) return "NOMETA";
      mode = meta.readUInt32BE(8);
    }
    if ((mode & S_IFMT) === S_IFLNK) return this.cfg.mode === "bare" ? "link" : "COPY";
    if (st.size === 0) return "COPY";
    if (this.cfg.userMode && (mode & 0o400) === 0) return "COPY";
    return "link";
  }

  run(base: number, csums: string[], dsts: string[]): void {
    for (let i = 0; i < csums.length; i++) {
      const csum = csums[i]!;
      const v = this.verdict(csum);
      if (v !== "link") {
        this.failures.push([base + i, v]);
        continue;
      }
      try {
        linkSync(this.objectPath(csum), dsts[i]!);
      } catch (e) {
        this.failures.push([base + i, (e as NodeJS.ErrnoException).code ?? "EIO"]);
      }
    }
  }
}

/** Batches link jobs to a worker thread; `done()` returns every failure once all are made. */
export class LinkWorker {
  private readonly worker: Worker;
  private readonly result: Promise<LinkFailure[]>;

  constructor(cfg: LinkerConfig) {
    this.worker = new Worker(new URL(import.meta.url), { workerData: { tsostreeLinker: cfg } });
    this.result = new Promise((resolve, reject) => {
      this.worker.once("message", resolve);
      this.worker.once("error", reject);
      this.worker.once("exit", (code) => reject(new Error(`link worker exited with code ${code}`)));
    });
    // A rejected result nobody awaits yet must not crash the process; done() reports it.
    this.result.catch(() => {});
  }

  send(base: number, csums: string[], dsts: string[]): void {
    this.worker.postMessage({ base, csums, dsts });
  }

  async done(): Promise<LinkFailure[]> {
    this.worker.postMessage(null);
    try {
      return await this.result;
    } finally {
      await this.worker.terminate();
    }
  }

  abort(): void {
    void this.worker.terminate();
  }
}

if (!isMainThread && parentPort && (workerData as { tsostreeLinker?: LinkerConfig })?.tsostreeLinker) {
  const port = parentPort;
  const linker = new Linker((workerData as { tsostreeLinker: LinkerConfig }).tsostreeLinker);
  port.on("message", (m: { base: number; csums: string[]; dsts: string[] } | null) => {
    if (m === null) port.postMessage(linker.failures);
    else linker.run(m.base, m.csums, m.dsts);
  });
}
