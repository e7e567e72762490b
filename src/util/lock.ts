// Whole-file open-file-description locks, the kind the real ostree takes on REPO/.lock and
// SYSROOT/ostree/lock, so that tsostree and ostree exclude each other. Waiting polls with a
// deadline instead of blocking the event loop.
import { closeSync, openSync } from "node:fs";
import { type LockKind, tryLock } from "./native.js";

export class LockTimeoutError extends Error {
  override name = "LockTimeoutError";
}

export class FileLock {
  private constructor(
    private fd: number,
    readonly path: string,
    public kind: Exclude<LockKind, "unlock">,
  ) {}

  /** Opens (creating if needed) `path` and takes the lock, waiting up to `timeoutMs`. */
  static async acquire(
    path: string,
    kind: Exclude<LockKind, "unlock">,
    timeoutMs = 300_000,
  ): Promise<FileLock> {
    const fd = openSync(path, "a+", 0o600);
    const lock = new FileLock(fd, path, kind);
    try {
      await lock.wait(kind, timeoutMs);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return lock;
  }

  /** Converts the lock in place (shared <-> exclusive), waiting like acquire. */
  async change(kind: Exclude<LockKind, "unlock">, timeoutMs = 300_000): Promise<void> {
    await this.wait(kind, timeoutMs);
    this.kind = kind;
  }

  private async wait(kind: Exclude<LockKind, "unlock">, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let delay = 5;
    while (!tryLock(this.fd, kind)) {
      if (Date.now() >= deadline)
        throw new LockTimeoutError(
          `timed out after ${Math.round(timeoutMs / 1000)} s waiting for the ${kind} lock on ${this.path}; another ostree or tsostree process holds it`,
        );
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 200);
    }
  }

  release(): void {
    if (this.fd < 0) return;
    tryLock(this.fd, "unlock");
    closeSync(this.fd);
    this.fd = -1;
  }
}
