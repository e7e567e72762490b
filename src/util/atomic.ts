// Durable file replacement: write a temporary file beside the target, fsync it, rename it over the
// target, fsync the directory. A crash leaves either the old or the new content, never a mix.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { syncfs, syncfsStart } from "./native.js";

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** syncfs() on the file system that holds `path`: one flush instead of an fsync per file. */
export function syncfsPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    syncfs(fd);
  } finally {
    closeSync(fd);
  }
}

/** syncfsPath on a thread of the pool: this thread goes on while the file system is flushed. */
export async function syncfsPathAsync(path: string): Promise<void> {
  const fd = openSync(path, "r");
  try {
    await syncfsStart(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFileAtomic(
  path: string,
  data: Buffer | string,
  opts: { mode?: number; fsync?: boolean } = {},
): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${randomBytes(6).toString("hex")}`);
  const fd = openSync(tmp, "wx", opts.mode ?? 0o644);
  try {
    const buf = typeof data === "string" ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off);
    if (opts.fsync !== false) fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
  if (opts.fsync !== false) fsyncDir(dir);
}
