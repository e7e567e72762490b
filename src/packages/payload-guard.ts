// Path discipline for payload entries, shared by every backend. A package is untrusted input: its
// member names must land inside the tree, never through a symlink it planted itself, and hardlinks may
// only point at regular files it already delivered. Checks here are pure bookkeeping over the entries
// seen so far, so they cost nothing per byte.
import { createHash, type Hash } from "node:crypto";
import type { PackageFile } from "./model.js";

/** Thrown by the guard; backends wrap it into a PackageFormatError naming package and member. */
export class UnsafePathError extends Error {
  override readonly name = "UnsafePathError";
}

/**
 * Normalizes an archive member name ("./usr/bin/x", "usr//bin/./x", "/usr/bin/x") into a tree path
 * ("/usr/bin/x"). The archive root ("." or "./") becomes "/". Refuses `..` components, NUL bytes and
 * empty names, which no honest package contains.
 */
export function treePath(raw: string): string {
  if (raw.includes("\0")) throw new UnsafePathError("name contains a NUL byte");
  // Archive names are decoded as UTF-8; bytes that are not valid UTF-8 would be silently replaced
  // (and could collide), and OSTree trees hold UTF-8 names only.
  if (raw.includes("\uFFFD")) throw new UnsafePathError("name is not valid UTF-8");
  const parts: string[] = [];
  for (const p of raw.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") throw new UnsafePathError("name has a '..' component");
    parts.push(p);
  }
  if (parts.length === 0 && !/^[./]+$/.test(raw)) throw new UnsafePathError("empty name");
  return `/${parts.join("/")}`;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** A directory a path needs but the package does not list: 0755, root:root, flagged `implied`. */
export function impliedDir(path: string): PackageFile {
  return { path, type: "dir", mode: 0o755, user: "root", group: "root", size: 0, implied: true };
}

type Seen = "file" | "dir" | "symlink" | "hardlink" | "special";

/** Tracks the entries of one payload, in archive order. */
export class PayloadGuard {
  private readonly seen = new Map<string, Seen>([["/", "dir"]]);

  /**
   * Checks `file` against what came before and returns the directories its path implies but the
   * archive has not listed yet (mode 0755, root:root, flagged `implied`), to be created first.
   */
  admit(file: PackageFile): PackageFile[] {
    const implied: PackageFile[] = [];
    const ancestors: string[] = [];
    for (let p = parentOf(file.path); p !== "/"; p = parentOf(p)) ancestors.unshift(p);
    for (const dir of ancestors) {
      const kind = this.seen.get(dir);
      if (kind === "symlink") throw new UnsafePathError(`would be written through the symlink ${dir}`);
      if (kind !== undefined && kind !== "dir") throw new UnsafePathError(`parent ${dir} is not a directory`);
      if (kind === undefined) {
        this.seen.set(dir, "dir");
        implied.push(impliedDir(dir));
      }
    }
    if (file.type === "hardlink") {
      const target = file.linkTarget ?? "";
      if (!target.startsWith("/")) throw new UnsafePathError(`hardlink target ${target} is not a tree path`);
      const kind = this.seen.get(target);
      if (kind === undefined)
        throw new UnsafePathError(`hardlink to ${target}, which is not an earlier member`);
      if (kind !== "file") throw new UnsafePathError(`hardlink to ${target}, which is not a regular file`);
    }
    const prev = this.seen.get(file.path);
    if (prev === "dir" && file.type !== "dir" && file.path !== "/")
      throw new UnsafePathError("replaces a directory the package already created");
    if (file.path === "/" && file.type !== "dir") throw new UnsafePathError("the root must be a directory");
    this.seen.set(file.path, file.special ? "special" : file.type);
    return implied;
  }
}

/**
 * The content of one regular file in a payload, streamed once. It counts and hashes the bytes as they
 * pass and fails when the archive delivers more or fewer bytes than declared, or content whose digest
 * differs from the one the package metadata records. `drain()` consumes whatever the reader left, so
 * the next entry can be reached (and the skipped content is still verified).
 */
export class EntryBody implements AsyncIterable<Buffer> {
  private got = 0;
  private done = false;
  private started = false;
  private readonly hash: Hash | undefined;

  constructor(
    private readonly source: AsyncIterator<Buffer>,
    private readonly size: number,
    private readonly digest: { algo: string; hex: string } | undefined,
    private readonly fail: (detail: string) => Error,
  ) {
    const algo = digest ? nodeHashName(digest.algo) : undefined;
    this.hash = algo ? createHash(algo) : undefined;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    if (this.started) throw this.fail("file content can only be read once");
    this.started = true;
    for (;;) {
      const c = await this.pull();
      if (c === undefined) return;
      yield c;
    }
  }

  /** Reads and verifies the rest of the content without keeping it. */
  async drain(): Promise<void> {
    this.started = true;
    while (!this.done) await this.pull();
  }

  private async pull(): Promise<Buffer | undefined> {
    if (this.done) return undefined;
    let r: IteratorResult<Buffer>;
    try {
      r = await this.source.next();
    } catch (e) {
      // The archive or decompressor failed while this file was being read: name the file.
      this.done = true;
      throw this.fail(e instanceof Error ? e.message : String(e));
    }
    if (r.done) {
      this.done = true;
      if (this.got !== this.size)
        throw this.fail(`content is ${this.got} bytes, the archive declared ${this.size}`);
      if (this.hash && this.digest) {
        const hex = this.hash.digest("hex");
        if (hex !== this.digest.hex.toLowerCase())
          throw this.fail(
            `${this.digest.algo} digest mismatch: content has ${hex}, package metadata says ${this.digest.hex}`,
          );
      }
      return undefined;
    }
    this.got += r.value.length;
    if (this.got > this.size) throw this.fail(`content exceeds its declared size of ${this.size} bytes`);
    this.hash?.update(r.value);
    return r.value;
  }
}

/** Node's name for a digest algorithm name used in package metadata, or undefined when unsupported. */
export function nodeHashName(algo: string): string | undefined {
  const a = algo.toLowerCase();
  return ["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3-256", "sha3-512"].includes(a)
    ? a
    : undefined;
}
