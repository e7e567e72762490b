// The plan of a hardlink checkout into a new directory, run by the native helper
// (native/checkout_ops.c has the encoding): every mkdir and object link in walk order, shipped in
// chunks to a native thread that runs them while the walk goes on; then, after the few files
// that must be created instead are written, directory metadata bottom-up in one more call.
// Through Node each of these syscalls cost several times the syscall itself; batched, the walk
// only parses dirtrees and appends bytes, and on two cores the syscalls overlap with it.

import { mkdirSync } from "node:fs";
import { constants as os } from "node:os";
import { join } from "node:path";
import { errnoError, errnoName } from "../util/errno.js";
import {
  type CheckoutRun,
  checkoutDirMeta,
  checkoutDirMetaAsync,
  checkoutFinish,
  checkoutPush,
  checkoutStart,
  checkoutTree,
} from "../util/native.js";
import { CheckoutError } from "./checkout-options.js";

/** Longest path the helper accepts (PATH_MAX with its NUL). */
const PATH_CAP = 4096;
/**
 * Ops per chunk handed to the native thread: small enough that it starts while the walk has
 * barely begun, large enough that the per-chunk call and copy do not matter.
 */
const CHUNK_OPS = 256;

/** An append-only byte buffer that doubles when full. */
class Bytes {
  buf = Buffer.allocUnsafe(256 * 1024);
  len = 0;

  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }

  /** u16 length + UTF-8 path; the space (3 bytes per UTF-16 unit, at worst) is reserved by the caller. */
  path(p: string): void {
    const n = this.buf.write(p, this.len + 2, "utf8");
    if (n >= PATH_CAP) throw errnoError("ENAMETOOLONG", "checkout", p);
    this.buf.writeUInt16LE(n, this.len);
    this.len += 2 + n;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** An op the native run did not do: errno or CO_CODE_*, the object (null for a mkdir), the path. */
export interface Undone {
  code: number;
  csum: string | null;
  path: string;
}

/** A native run's reports: (number, code) pairs and, per pair, checksum[32], u16 length, path. */
function undone(codes: Int32Array, info: Buffer): Undone[] {
  const out: Undone[] = [];
  let at = 0;
  for (let k = 1; k < codes.length; k += 2) {
    const raw = info.subarray(at, at + 32);
    const len = info.readUInt16LE(at + 32);
    const path = info.toString("utf8", at + 34, at + 34 + len);
    at += 34 + len;
    out.push({ code: codes[k]!, csum: raw.some((x) => x !== 0) ? raw.toString("hex") : null, path });
  }
  return out;
}

/**
 * A whole tree checked out in C (native/checkout_tree.c) into `dest` (which exists): what it did
 * not do, in walk order, for the caller to handle as it handles a plan's (the first code other
 * than CO_CODE_COPY, CO_CODE_XATTRS and, with CO_COPY_OK, EXDEV/EMLINK ended the walk); then
 * `dirMetas` applies the directories' metadata, once the caller has created its files. Aborting
 * `signal` stops the walk (an ECANCELED report); `skip` is a directory under `dest` that another
 * call checks out (made, with its parents, by the caller).
 */
export async function treeCheckout(
  objects: string,
  root: { tree: string; meta: string },
  dest: string,
  flags: number,
  signal?: AbortSignal,
  skip?: string,
): Promise<TreeCheckout> {
  let cancel: Buffer | undefined;
  if (signal) {
    const flag = Buffer.alloc(4);
    cancel = flag;
    if (signal.aborted) flag[0] = 1;
    else signal.addEventListener("abort", () => flag.writeInt32LE(1), { once: true });
  }
  const r = await checkoutTree(objects, root.tree, root.meta, dest, flags, cancel, skip);
  for (let k = 1; k < r.codes.length; k += 2)
    if (r.codes[k] === os.errno.ECANCELED) throw new CheckoutError(`the checkout into ${dest} was cancelled`);
  return { undone: undone(r.codes, r.info), metas: r.metas };
}

/** What a native tree walk left to its caller: files to create, then the directories' metadata plan. */
export interface TreeCheckout {
  undone: Undone[];
  /** Apply with applyDirMetaPlan once the undone files exist. */
  metas: Buffer;
}

/** Where an OS tree keeps most of its files (documentation, locales, manual pages, data). */
const SPLIT = ["usr", "share"];

/**
 * treeCheckout on two pool threads when the tree has a usr/share: that directory (about half of a
 * Debian or Fedora tree's files) is checked out by a second walk beside the walk of the rest, which
 * skips it; hardlinking is kernel work that two cores share. `dirTree` reads a dirtree object.
 */
export async function splitTreeCheckout(
  objects: string,
  root: { tree: string; meta: string },
  dest: string,
  flags: number,
  dirTree: (csum: string) => { dirs: [string, string, string][] },
  signal?: AbortSignal,
): Promise<TreeCheckout> {
  let at: { tree: string; meta: string } | undefined = root;
  for (const name of SPLIT) {
    const d: [string, string, string] | undefined = dirTree(at.tree).dirs.find(([n]) => n === name);
    at = d && { tree: d[1], meta: d[2] };
    if (!at) return treeCheckout(objects, root, dest, flags, signal);
  }
  const rel = SPLIT.join("/");
  mkdirSync(join(dest, rel), { recursive: true, mode: 0o700 });
  const parts = await Promise.allSettled([
    treeCheckout(objects, at, join(dest, rel), flags, signal),
    treeCheckout(objects, root, dest, flags, signal, rel),
  ]);
  const failed = parts.find((p) => p.status === "rejected");
  if (failed) throw failed.reason;
  const [sub, rest] = parts.map((p) => (p as PromiseFulfilledResult<TreeCheckout>).value);
  // usr/share's records first: children before parents.
  return { undone: [...sub!.undone, ...rest!.undone], metas: Buffer.concat([sub!.metas, rest!.metas]) };
}

/**
 * Applies a plan of directory-metadata records ('M' u32 mode, i32 uid, i32 gid, u16 length, path);
 * throws a Node-style error, with the record's path, for the first failure.
 */
function runDirMetaPlan(plan: Buffer): void {
  dirMetaFailure(plan, checkoutDirMeta(plan));
}

/** runDirMetaPlan on a pool thread. */
export async function applyDirMetaPlan(plan: Buffer): Promise<void> {
  dirMetaFailure(plan, await checkoutDirMetaAsync(plan));
}

function dirMetaFailure(plan: Buffer, failed: Int32Array): void {
  if (failed.length === 0) return;
  let at = 0;
  for (let i = 0; i < failed[0]!; i++) at += 15 + plan.readUInt16LE(at + 13);
  const path = plan.toString("utf8", at + 15, at + 15 + plan.readUInt16LE(at + 13));
  throw errnoError(errnoName(failed[1]!), ["lchown", "chmod", "utimensat"][failed[2]!] ?? "?", path);
}

export class CheckoutPlan {
  private readonly ops = new Bytes();
  private readonly metas = new Bytes();
  private readonly run: CheckoutRun;
  private pending = 0;
  private finished = false;
  /** The directory links go into; every chunk starts with it, since chunks may run in parallel. */
  private current: string | null = null;

  /** Starts the native run at once: chunks go to it as the walk appends them. */
  constructor(objects: string, flags: number) {
    this.run = checkoutStart(objects, flags);
  }

  /** Creates a directory; the links that follow go into it. */
  mkdir(path: string): void {
    this.dirOp(0x44, path); // 'D'
  }

  /** Links that follow go into this existing directory. */
  cd(path: string): void {
    this.dirOp(0x43, path); // 'C'
  }

  private dirOp(op: number, path: string): void {
    this.ops.reserve(3 + path.length * 3);
    this.ops.buf[this.ops.len++] = op;
    this.ops.path(path);
    this.current = path;
    if (++this.pending >= CHUNK_OPS) this.ship();
  }

  private ship(): void {
    checkoutPush(this.run, this.ops.bytes());
    this.ops.len = 0;
    this.pending = 0;
    if (this.current === null) return;
    this.ops.reserve(3 + this.current.length * 3);
    this.ops.buf[this.ops.len++] = 0x43; // 'C'
    this.ops.path(this.current);
  }

  /** Links object `csum` (hex) as `name` in the current directory. */
  link(csum: string, name: string): void {
    const o = this.ops;
    o.reserve(35 + name.length * 3);
    o.buf[o.len++] = 0x4c; // 'L'
    if (o.buf.write(csum, o.len, 32, "hex") !== 32) throw new Error(`'${csum}' is not a checksum`);
    o.len += 32;
    o.path(name);
    if (++this.pending >= CHUNK_OPS) this.ship();
  }

  /**
   * Links the object whose checksum is b[csum, csum + 32) as the name b[name, nameEnd) in the
   * current directory: straight from a dirtree's bytes, without a string in between.
   */
  linkRaw(b: Buffer, name: number, nameEnd: number, csum: number): void {
    const o = this.ops;
    const n = nameEnd - name;
    o.reserve(35 + n);
    const buf = o.buf;
    let at = o.len;
    buf[at++] = 0x4c; // 'L'
    b.copy(buf, at, csum, csum + 32);
    at += 32;
    buf[at++] = n & 0xff;
    buf[at++] = n >> 8;
    b.copy(buf, at, name, nameEnd);
    o.len = at + n;
    if (++this.pending >= CHUNK_OPS) this.ship();
  }

  /** Directory metadata, applied in the order given; uid -1 leaves ownership alone. */
  dirMeta(path: string, mode: number, uid: number, gid: number): void {
    const m = this.metas;
    m.reserve(15 + path.length * 3);
    m.buf[m.len++] = 0x4d; // 'M'
    m.buf.writeUInt32LE(mode >>> 0, m.len);
    m.buf.writeInt32LE(uid, m.len + 4);
    m.buf.writeInt32LE(gid, m.len + 8);
    m.len += 12;
    m.path(path);
  }

  /**
   * Waits for every mkdir and link; what was not done, in plan order. The first entry other than
   * CO_CODE_COPY (or EXDEV/EMLINK with CO_COPY_OK) ended the run; the caller must stop there
   * (entries after it come from chunks already under way on the other thread).
   */
  finishLinks(): Undone[] {
    if (this.pending) checkoutPush(this.run, this.ops.bytes());
    this.finished = true;
    const { codes, info } = checkoutFinish(this.run);
    return undone(codes, info);
  }

  /** Stops the native run (what it has not started is skipped) before the caller cleans up. */
  cancel(): void {
    if (this.finished) return;
    this.finished = true;
    checkoutFinish(this.run, true);
  }

  /** Applies the directory metadata; throws a Node-style error for the first failure. */
  runDirMetas(): void {
    runDirMetaPlan(this.metas.bytes());
  }
}
