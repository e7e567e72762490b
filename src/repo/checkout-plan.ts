// The plan of a hardlink checkout into a new directory, run by the native helper
// (native/checkout_ops.c has the encoding): every mkdir and object link in walk order, shipped in
// chunks to a native thread that runs them while the walk goes on; then, after the few files
// that must be created instead are written, directory metadata bottom-up in one more call.
// Through Node each of these syscalls cost several times the syscall itself; batched, the walk
// only parses dirtrees and appends bytes, and on two cores the syscalls overlap with it.
import { getSystemErrorName } from "node:util";
import {
  type CheckoutRun,
  checkoutDirMeta,
  checkoutFinish,
  checkoutPush,
  checkoutStart,
} from "../util/native.js";

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

export function errnoError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: ${syscall} '${path}'`);
  e.code = code;
  e.syscall = syscall;
  e.path = path;
  return e;
}

export function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

export class CheckoutPlan {
  private readonly ops = new Bytes();
  private readonly metas = new Bytes();
  /** Per op: the object checksum (null for a mkdir) and the destination path. */
  readonly csums: (string | null)[] = [];
  readonly paths: string[] = [];
  private readonly metaPaths: string[] = [];
  private readonly run: CheckoutRun;
  private pending = 0;
  private finished = false;

  /** Starts the native run at once: chunks go to it as the walk appends them. */
  constructor(objects: string, flags: number) {
    this.run = checkoutStart(objects, flags);
  }

  mkdir(path: string): void {
    this.ops.reserve(3 + path.length * 3);
    this.ops.buf[this.ops.len++] = 0x44; // 'D'
    this.ops.path(path);
    this.csums.push(null);
    this.paths.push(path);
    if (++this.pending >= CHUNK_OPS) this.ship();
  }

  private ship(): void {
    checkoutPush(this.run, this.ops.bytes());
    this.ops.len = 0;
    this.pending = 0;
  }

  link(csum: string, path: string): void {
    this.ops.reserve(35 + path.length * 3);
    this.ops.buf[this.ops.len++] = 0x4c; // 'L'
    if (this.ops.buf.write(csum, this.ops.len, 32, "hex") !== 32)
      throw new Error(`'${csum}' is not a checksum`);
    this.ops.len += 32;
    this.ops.path(path);
    this.csums.push(csum);
    this.paths.push(path);
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
    this.metaPaths.push(path);
  }

  /** Waits for every mkdir and link; (op index, code) pairs for what was not done (checkoutFinish). */
  finishLinks(): Int32Array {
    if (this.pending) this.ship();
    this.finished = true;
    return checkoutFinish(this.run);
  }

  /** Stops the native run (what it has not started is skipped) before the caller cleans up. */
  cancel(): void {
    if (this.finished) return;
    this.finished = true;
    checkoutFinish(this.run, true);
  }

  /** Applies the directory metadata; throws a Node-style error for the first failure. */
  runDirMetas(): void {
    const r = checkoutDirMeta(this.metas.bytes());
    if (r.length === 0) return;
    const syscall = ["lchown", "chmod", "utimensat"][r[2]!] ?? "?";
    throw errnoError(errnoName(r[1]!), syscall, this.metaPaths[r[0]!]!);
  }
}
