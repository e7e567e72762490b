// The one doorway to the N-API addon in native/: OFD locks, syncfs, extended attributes, a
// batched readdir+lstat, the checkout thread and xz/lzma/zstd decoders, which Node.js does not offer.
// Keep every other module free of the addon so it can be swapped.
import { lstatSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { errnoError, errnoName } from "./errno.js";

interface NativeAddon {
  tryLock(fd: number, kind: 0 | 1 | 2): boolean;
  syncfs(fd: number): void;
  startWriteback(fd: number): void;
  syncfsStart(fd: number, cb: () => void): void;
  getXattr(target: string | number, name: string): Buffer | null;
  setXattr(target: string | number, name: string, value: Buffer): void;
  listXattrs(target: string | number): string[];
  checkoutStart?(objects: string, flags: number): CheckoutRun;
  checkoutPush?(run: CheckoutRun, plan: Buffer): void;
  checkoutFinish?(run: CheckoutRun, cancel: boolean): CheckoutResult;
  checkoutDirMeta?(plan: Buffer): Int32Array;
  checkoutDirMetaAsync?(plan: Buffer): Promise<Int32Array>;
  checkoutTree?(
    objects: string,
    rootTree: Buffer,
    rootMeta: Buffer,
    dest: string,
    flags: number,
    cancel?: Buffer,
    skip?: string,
  ): Promise<TreeResult>;
  copyTree?(src: string, dest: string): Promise<void>;
  diffTree?(orig: string, modified: string): Promise<Buffer>;
  bspatch?(old: Buffer, patch: Buffer, out: Buffer): number;
  removeTree?(path: string): number;
  removeTreeAsync?(path: string): Promise<number>;
  inflateHash?(
    compressed: Buffer,
    out: Buffer,
    prefix: Buffer,
    digest: Buffer,
    ...write: unknown[]
  ): Promise<number>;
  assembleHash?(
    blob: Buffer,
    pieces: Buffer,
    sources: (string | Buffer)[],
    out: Buffer,
    prefix: Buffer,
    digest: Buffer,
    ...write: unknown[]
  ): Promise<number>;
  scanDir?(path: string, suffix?: string): DirScan;
  decoderCreate?(kind: number, threads: number, memlimit: number): DecoderHandle;
  decoderStep?(
    d: DecoderHandle,
    input: Buffer,
    inOff: number,
    inLen: number,
    output: Buffer,
    finish: boolean,
    cb: (err: Error | null, r: StepTuple | null) => void,
  ): void;
  decoderStepSync?(
    d: DecoderHandle,
    input: Buffer,
    inOff: number,
    inLen: number,
    output: Buffer,
    finish: boolean,
  ): StepTuple;
  decoderEnd?(d: DecoderHandle): void;
  xzEncode?(input: Buffer, preset: number): Buffer;
}

const require = createRequire(import.meta.url);
let addon: NativeAddon | undefined;

function load(): NativeAddon {
  if (!addon) {
    try {
      addon = require("../../../native/build/Release/tsostree_native.node") as NativeAddon;
    } catch (e) {
      throw new Error(
        `the native helper is not built (${(e as Error).message}); run \`npm run build\` (needs make and a C compiler)`,
      );
    }
  }
  return addon;
}

export type LockKind = "unlock" | "shared" | "exclusive";

/** Takes or releases an open-file-description lock on the whole file; false if another holder conflicts. */
export function tryLock(fd: number, kind: LockKind): boolean {
  return load().tryLock(fd, kind === "unlock" ? 0 : kind === "shared" ? 1 : 2);
}

export function syncfs(fd: number): void {
  load().syncfs(fd);
}

/**
 * syncfs on the thread pool, resolving when done, to write back early while other work goes on.
 * Errors are not reported: only a later, synchronous syncfs makes data durable (and reports).
 */
export function syncfsStart(fd: number): Promise<void> {
  return new Promise((resolve) => load().syncfsStart(fd, resolve));
}

/** Starts writing a file's dirty pages to disk without waiting (a later syncfs then waits less). */
export function startWriteback(fd: number): void {
  load().startWriteback(fd);
}

/** Reads an xattr of a path (symlinks not followed) or an fd; null when it is not set. */
export function getXattr(target: string | number, name: string): Buffer | null {
  return load().getXattr(target, name);
}

export function setXattr(target: string | number, name: string, value: Buffer): void {
  load().setXattr(target, name, value);
}

/** Lists xattr names of a path (symlinks not followed) or an fd; empty where the fs has none. */
export function listXattrs(target: string | number): string[] {
  return load().listXattrs(target);
}

/** Numbers per entry in DirScan.stats: mode, uid, gid, size, ino, nlink, dev. */
export const SCAN_FIELDS = 7;

export interface DirScan {
  names: string[];
  /** SCAN_FIELDS values per name, in the same order (lstat: symlinks are not followed). */
  stats: Float64Array;
}

/**
 * A directory's entries with their lstat data in one native call; tree walks (commit, the devino
 * cache) would otherwise spend most of their time building a Stats object per file.
 */
export function scanDir(path: string, suffix?: string): DirScan {
  const a = load();
  // The suffix filter came after scanDir itself: an older addon ignores it, so filter here too.
  if (a.scanDir) return suffix ? keepSuffix(a.scanDir(path, suffix), suffix) : a.scanDir(path);
  // An addon built before scanDir existed: same result, slower.
  const names = readdirSync(path).filter((n) => !suffix || n.endsWith(suffix));
  const stats = new Float64Array(names.length * SCAN_FIELDS);
  names.forEach((name, i) => {
    const st = lstatSync(join(path, name));
    stats.set([st.mode, st.uid, st.gid, st.size, st.ino, st.nlink, st.dev], i * SCAN_FIELDS);
  });
  return { names, stats };
}

function keepSuffix(scan: DirScan, suffix: string): DirScan {
  if (scan.names.every((n) => n.endsWith(suffix))) return scan;
  const names: string[] = [];
  const stats: number[] = [];
  scan.names.forEach((n, i) => {
    if (!n.endsWith(suffix)) return;
    names.push(n);
    for (let f = 0; f < SCAN_FIELDS; f++) stats.push(scan.stats[i * SCAN_FIELDS + f]!);
  });
  return { names, stats: Float64Array.from(stats) };
}

/** Flags of checkoutLinks: how ostree decides between linking an object and creating the file. */
export const CO_BARE_USER = 1;
export const CO_BARE = 2;
export const CO_USER_MODE = 4;
/** EXDEV/EMLINK are reported and the run goes on (the caller copies); otherwise they end it. */
export const CO_COPY_OK = 8;
/** checkoutLinks codes besides errno values: create the file instead of linking it. */
export const CO_CODE_COPY = -1;
/** A bare-user object without user.ostreemeta. */
export const CO_CODE_NOMETA = -2;
export const CO_CODE_MISSING = -3;

/** A native checkout run: a thread executing plan chunks in order (see native/checkout_ops.c). */
export type CheckoutRun = { readonly __checkoutRun: unique symbol };

type CheckoutOps = Required<
  Pick<NativeAddon, "checkoutStart" | "checkoutPush" | "checkoutFinish" | "checkoutDirMeta">
>;

function checkoutOps(): CheckoutOps {
  return requireOps(["checkoutStart", "checkoutPush", "checkoutFinish", "checkoutDirMeta"], "checkout ops");
}

/** The addon, checked to have the optional functions `names` (an addon built from older sources lacks them). */
export function requireOps<K extends keyof NativeAddon>(
  names: K[],
  what: string,
): Required<Pick<NativeAddon, K>> {
  const a = load();
  if (names.some((n) => !a[n])) throw new Error(`the native helper predates ${what}; run \`npm run build\``);
  return a as unknown as Required<Pick<NativeAddon, K>>;
}

/**
 * Starts running a checkout plan (mkdirs and object hardlinks; native/checkout_ops.c has the
 * encoding) on a thread of its own: through Node each of these syscalls costs more than the
 * syscall, and the caller can keep parsing dirtrees meanwhile.
 */
export function checkoutStart(objects: string, flags: number): CheckoutRun {
  return checkoutOps().checkoutStart(objects, flags);
}

/** Queues the next chunk of the plan (copied: the buffer may be reused at once). */
export function checkoutPush(run: CheckoutRun, plan: Buffer): void {
  checkoutOps().checkoutPush(run, plan);
}

/**
 * What a run did not do, in plan order: `codes` holds (chunk number, code) pairs, `info` per pair
 * the object's checksum (32 bytes, zeros for a directory), a u16 LE length and the path. A code
 * other than CO_CODE_COPY (or EXDEV/EMLINK with CO_COPY_OK) ended the run: no chunk started
 * after it, and the caller stops there.
 */
export interface CheckoutResult {
  codes: Int32Array;
  info: Buffer;
}

/** Waits until every chunk has run (or, with `cancel`, skips those not started). */
export function checkoutFinish(run: CheckoutRun, cancel = false): CheckoutResult {
  return checkoutOps().checkoutFinish(run, cancel);
}

/** checkoutTree codes: a directory whose dirmeta has xattrs; a dirtree or dirmeta missing or corrupt. */
export const CO_CODE_XATTRS = -4;
export const CO_CODE_TREE_MISSING = -5;
export const CO_CODE_TREE_CORRUPT = -6;
export const CO_CODE_META_MISSING = -7;
export const CO_CODE_META_CORRUPT = -8;

/** Whether the addon has checkoutTree (one built from older sources lacks it). */
export function hasCheckoutTree(): boolean {
  return typeof load().checkoutTree === "function";
}

/** What checkoutTree did not do (as CheckoutResult, per report), and the directories' metadata plan. */
export interface TreeResult extends CheckoutResult {
  metas: Buffer;
}

/**
 * A whole hardlink checkout on a thread of the pool: the dirtrees read, verified and parsed in C
 * (native/checkout_tree.c), every mkdir and link made; `dest` exists. The caller creates the
 * reported files and then runs `metas` with checkoutDirMeta. Setting `cancel`'s first int32 to
 * non-zero stops the walk (an ECANCELED report). `skip`: a directory under `dest` another call
 * checks out (the caller made it and its parents).
 */
export function checkoutTree(
  objects: string,
  rootTree: string,
  rootMeta: string,
  dest: string,
  flags: number,
  cancel?: Buffer,
  skip = "",
): Promise<TreeResult> {
  const ops = requireOps(["checkoutTree"], "the native tree checkout");
  const tree = Buffer.from(rootTree, "hex");
  return ops.checkoutTree(objects, tree, Buffer.from(rootMeta, "hex"), dest, flags, cancel, skip);
}

/**
 * Copies a directory tree (directories, files, symlinks; owner, mode, xattrs; never hardlinks) on a
 * thread of the pool (native/copy_tree.c); `dest` must not exist. Fails as Node's fs calls do.
 */
export async function copyTree(src: string, dest: string): Promise<void> {
  try {
    await requireOps(["copyTree"], "the native tree copy").copyTree(src, dest);
  } catch (e) {
    throw fsError(e, "copy", src);
  }
}

/** A native job's rejection (errno, syscall, path) as Node's fs would have thrown it. */
function fsError(e: unknown, syscall: string, path: string): unknown {
  const err = e as Error & { errno?: number; syscall?: string; path?: string };
  if (err.errno === undefined) return e;
  return errnoError(errnoName(err.errno), err.syscall ?? syscall, err.path ?? path);
}

/**
 * The differences between two directory trees on a thread of the pool (native/diff_tree.c):
 * records of a kind byte ("M", "R", "A"), a relative path and a NUL. Fails as Node's fs calls do.
 */
export async function diffTreeRecords(orig: string, modified: string): Promise<Buffer> {
  try {
    return await requireOps(["diffTree"], "the native tree diff").diffTree(orig, modified);
  } catch (e) {
    throw fsError(e, "diff", orig);
  }
}

/** Directory metadata (lchown, chmod, mtime 0) for a plan of records; [] or [index, errno, step]. */
export function checkoutDirMeta(plan: Buffer): Int32Array {
  return checkoutOps().checkoutDirMeta(plan);
}

/** checkoutDirMeta on a thread of the pool (the plan is copied). */
export function checkoutDirMetaAsync(plan: Buffer): Promise<Int32Array> {
  return requireOps(["checkoutDirMetaAsync"], "the pooled directory metadata").checkoutDirMetaAsync(plan);
}

// --- rm -rf (native/remove_tree.c)

/** Removes `path` and everything under it, never following a symlink: 0, or the errno that stopped it. */
export function removeTreeAt(path: string): number {
  return requireOps(["removeTree"], "tree removal").removeTree(path);
}

/** removeTreeAt on a thread of the pool. */
export function removeTreeAtAsync(path: string): Promise<number> {
  return requireOps(["removeTreeAsync"], "tree removal on the pool").removeTreeAsync(path);
}

// --- bsdiff patches (native/bspatch.c)

/** Applies a bsdiff patch to `old`, filling `out` exactly: 0, or 1 (the patch ends early), 2 (a
 * control entry is out of range), 3 (an extra block is out of range). */
export function applyBspatch(old: Buffer, patch: Buffer, out: Buffer): number {
  return requireOps(["bspatch"], "the native bspatch").bspatch(old, patch, out);
}

// --- Streaming decoders (native/decoder.c)

type DecoderHandle = { readonly __decoder: unique symbol };
/** status (0 ok, 1 stream end), bytes consumed, bytes produced */
type StepTuple = [number, number, number];
type DecoderOps = Required<
  Pick<NativeAddon, "decoderCreate" | "decoderStep" | "decoderStepSync" | "decoderEnd">
>;

function decoderOps(): DecoderOps {
  return requireOps(["decoderCreate", "decoderStep", "decoderStepSync", "decoderEnd"], "the decoders");
}

export type DecoderKind = "xz" | "lzma" | "zstd";

export interface DecoderOptions {
  /** Threads for xz files of several blocks; default min(2, cores). 1 decodes on the step's thread. */
  threads?: number;
  /** Memory the codec may use (liblzma's memlimit; zstd windows above it are refused); default 256 MiB. */
  memlimit?: number;
}

export interface DecodeStep {
  /** The compressed stream is complete (under `finish`; lzma-alone may also end at its end marker). */
  end: boolean;
  consumed: number;
  produced: number;
}

const KIND_CODE: Record<DecoderKind, number> = { xz: 0, lzma: 1, zstd: 2 };

/**
 * A native xz (multi-threaded, concatenated streams), lzma-alone or zstd decoder. Each step
 * decodes from `input` (from `offset` on) into `output` and stops when the output is full, so the
 * caller bounds what one step may produce. Steps either run on libuv's thread pool (`step`) or
 * block (`stepSync`); one at a time. Errors carry liblzma's or zstd's reason.
 */
export class Decoder {
  private readonly ops = decoderOps();
  private readonly handle: DecoderHandle;
  private busy = false;

  constructor(kind: DecoderKind, opts: DecoderOptions = {}) {
    const threads = opts.threads ?? Math.min(2, availableParallelism());
    this.handle = this.ops.decoderCreate(KIND_CODE[kind], threads, opts.memlimit ?? 256 * 1024 * 1024);
  }

  /** Runs one step on the thread pool; `input` and `output` must not change until `cb` runs. */
  step(
    input: Buffer,
    offset: number,
    output: Buffer,
    finish: boolean,
    cb: (err: Error | null, r?: DecodeStep) => void,
  ): void {
    if (this.busy) throw new Error("a decoder step is already running");
    this.busy = true;
    this.ops.decoderStep(this.handle, input, offset, input.length - offset, output, finish, (err, r) => {
      this.busy = false;
      if (err || !r) cb(err ?? new Error("decoder step returned nothing"));
      else cb(null, { end: r[0] === 1, consumed: r[1], produced: r[2] });
    });
  }

  stepSync(input: Buffer, offset: number, output: Buffer, finish: boolean): DecodeStep {
    if (this.busy) throw new Error("a decoder step is already running");
    const r = this.ops.decoderStepSync(this.handle, input, offset, input.length - offset, output, finish);
    return { end: r[0] === 1, consumed: r[1], produced: r[2] };
  }

  /** Frees the codec's memory now, or as soon as the step in flight completes; later steps fail. */
  end(): void {
    this.ops.decoderEnd(this.handle);
  }
}

// --- xz encoding in one call (native/encoder.c)

/** liblzma's one-call xz encoder (CRC64 check), or undefined when the addon predates it. */
export function xzEncoder(): ((input: Buffer, preset: number) => Buffer) | undefined {
  const a = load();
  return a.xzEncode ? (input, preset) => a.xzEncode!(input, preset) : undefined;
}
