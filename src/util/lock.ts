// Whole-file open-file-description locks, the kind the real ostree takes on REPO/.lock and
// SYSROOT/ostree/lock, so that tsostree and ostree exclude each other. Waiting polls with a
// deadline instead of blocking the event loop.
import { closeSync, fstatSync, openSync, statSync, unlinkSync } from "node:fs";
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

  /**
   * Opens (creating if needed) `path` and takes the lock, waiting up to `timeoutMs`; `onWait` is
   * called once if the lock is busy. libglnx-based tools (ostree) unlink a lock file when they let
   * go of it, so a lock won on an inode that is no longer at `path` excludes nobody: it is dropped
   * and taken again on the file that is there now.
   */
  static async acquire(
    path: string,
    kind: Exclude<LockKind, "unlock">,
    timeoutMs = 300_000,
    onWait?: () => void,
  ): Promise<FileLock> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const fd = openSync(path, "a+", 0o600);
      const lock = new FileLock(fd, path, kind);
      try {
        await lock.wait(kind, Math.max(deadline - Date.now(), 0), onWait);
      } catch (e) {
        closeSync(fd);
        throw e;
      }
      if (lock.isLive()) return lock;
      lock.release();
    }
  }

  /** True while the locked inode is still the file at `path`. */
  private isLive(): boolean {
    try {
      const held = fstatSync(this.fd);
      const now = statSync(this.path);
      return held.nlink > 0 && held.ino === now.ino && held.dev === now.dev;
    } catch {
      return false;
    }
  }

  /** Removes the lock file, then releases: what an exclusive owner does so no stale file stays. */
  releaseAndUnlink(): void {
    if (this.fd < 0) return;
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
    this.release();
  }

  /** Converts the lock in place (shared <-> exclusive), waiting like acquire. */
  async change(kind: Exclude<LockKind, "unlock">, timeoutMs = 300_000): Promise<void> {
    await this.wait(kind, timeoutMs);
    this.kind = kind;
  }

  private async wait(
    kind: Exclude<LockKind, "unlock">,
    timeoutMs: number,
    onWait?: () => void,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let delay = 5;
    let warned = false;
    while (!tryLock(this.fd, kind)) {
      if (!warned) onWait?.();
      warned = true;
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
