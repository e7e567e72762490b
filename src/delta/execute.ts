// Runs a delta part's operations: rebuilds each object the part's header lists, in order, and has
// it verified against its checksum before it is stored — a damaged or hostile part can never get
// an object into the repo under a name its bytes do not hash to. The operations are read in order
// on the calling thread; each regular file they describe is handed to the target as pieces (of
// the part's blob, of read sources, bsdiff patches) that the target assembles, hashes and stores
// on the thread pool: several objects are in flight at once. The interpreter holds no I/O of its
// own: reading source objects and storing results are the target's.
import { constants } from "node:buffer";
import { createHash } from "node:crypto";
import {
  contentChecksum,
  type FileMeta,
  type ObjectType,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
} from "../repo/objects.js";
import { ASSEMBLY_SOURCES, AssemblyError, type AssemblyPiece } from "../util/object-job.js";
import { OP, OpReader, opIndex } from "./ops.js";
import type { PartPayload } from "./part.js";
import { DeltaFormatError, type DeltaObject } from "./superblock.js";

/** An object whose rebuilt bytes do not hash to the name the delta gives it. */
export class DeltaVerifyError extends Error {
  override name = "DeltaVerifyError";
}

export interface PartTarget {
  /** True when the object is already present: its bytes need not be rebuilt. */
  has(type: ObjectType, checksum: string): boolean;
  /** Stores a verified metadata object. */
  writeMetadata(type: ObjectType, checksum: string, bytes: Buffer): void;
  /** Stores a verified symlink (its target in `meta`). */
  writeSymlink(checksum: string, meta: FileMeta): void;
  /**
   * Stores a regular file of `size` bytes made of `pieces` of `blob` and of the read sources
   * (object checksums) only if its bytes hash to `checksum`; resolves the checksum they hash to.
   * Rejects with AssemblyError when the pieces are wrong, with DeltaFormatError when a read source
   * is not in the repository.
   */
  writeAssembled(
    checksum: string,
    meta: FileMeta,
    size: number,
    blob: Buffer,
    pieces: AssemblyPiece[],
    sources: string[],
  ): Promise<string>;
}

/** Per-opcode counts, in ostree's show order (see OP_NAMES). */
export type OpCounts = number[];

interface OpenContent {
  obj: DeltaObject;
  meta: FileMeta;
  size: number;
  /** null when the object is already present (writes are skipped, as ostree does). */
  pieces: AssemblyPiece[] | null;
  /** The read sources' checksums, indexed by the pieces. */
  sources: string[];
  filled: number;
}

/** Rebuilt objects in flight at once, and the bytes they may hold (one bigger object still goes). */
const IN_FLIGHT = 8;
const IN_FLIGHT_BYTES = 64 << 20;
/** The biggest object that can be rebuilt in memory. */
const MAX_LENGTH = constants.MAX_LENGTH;

/**
 * Executes `payload`'s operations producing `objects` into `target`; with no target, only counts
 * the operations (`static-delta show`). Resolves the objects produced (not already present), once
 * every one is stored; on a failure, once none is in flight any more.
 */
export async function executePart(
  objects: DeltaObject[],
  payload: PartPayload,
  target: PartTarget | null,
  counts: OpCounts = [0, 0, 0, 0, 0, 0, 0],
): Promise<DeltaObject[]> {
  const produced: DeltaObject[] = [];
  if (objects.length === 0) return produced;
  const r = new OpReader(payload.ops);
  const blob = payload.blob;
  let index = 0;
  let open: OpenContent | null = null;
  /** The read source's checksum. */
  let source: string | null = null;
  const inFlight = new Set<Promise<void>>();
  let inFlightBytes = 0;
  let failure: { error: unknown } | null = null;

  const range = (offset: number, length: number): Buffer => {
    if (offset + length > blob.length)
      throw new DeltaFormatError(`Invalid offset/length ${offset}/${length}`);
    return blob.subarray(offset, offset + length);
  };
  const nextObject = (): DeltaObject => {
    const o = objects[index];
    if (!o) throw new DeltaFormatError("the delta part has more operations than objects");
    return o;
  };
  const contentMeta = (): FileMeta => {
    const mi = r.varint();
    const xi = r.varint();
    const m = payload.modes[mi];
    const x = payload.xattrs[xi];
    if (!m || !x)
      throw new DeltaFormatError(`mode index ${mi} or xattr index ${xi} is outside the part's tables`);
    const type = m.mode & S_IFMT;
    if (type !== S_IFREG && type !== S_IFLNK)
      throw new DeltaFormatError(`mode 0${m.mode.toString(8)} is neither a regular file nor a symlink`);
    return { uid: m.uid, gid: m.gid, mode: m.mode, symlinkTarget: "", xattrs: x };
  };
  const verified = (obj: DeltaObject, actual: string): void => {
    if (actual !== obj.checksum)
      throw new DeltaVerifyError(
        `Corrupted object ${obj.checksum}.file in the delta (its content hashes to ${actual}); the delta is damaged — fetch or generate it again`,
      );
    produced.push(obj);
  };
  /** A symlink's target comes from the blob only; it is verified and stored here. */
  const storeSymlink = (o: OpenContent, pieces: AssemblyPiece[]): void => {
    const bytes = pieces.map((p) => {
      if (p.kind !== "blob")
        throw new DeltaFormatError(`symlink object ${o.obj.checksum} is made from a read source`);
      return range(p.offset, p.length);
    });
    const meta = { ...o.meta, symlinkTarget: Buffer.concat(bytes).toString("utf8") };
    verified(o.obj, contentChecksum(meta, Buffer.alloc(0)));
    target!.writeSymlink(o.obj.checksum, meta);
  };
  const store = async (o: OpenContent, pieces: AssemblyPiece[]): Promise<void> => {
    if ((o.meta.mode & S_IFMT) === S_IFLNK) return storeSymlink(o, pieces);
    try {
      verified(o.obj, await target!.writeAssembled(o.obj.checksum, o.meta, o.size, blob, pieces, o.sources));
    } catch (e) {
      if (e instanceof AssemblyError) throw new DeltaFormatError(`${e.message} for object ${o.obj.checksum}`);
      throw e;
    }
  };
  /** Starts storing an object once fewer than IN_FLIGHT (and their bytes) are in flight. */
  const launch = async (size: number, work: () => Promise<void>): Promise<void> => {
    while (inFlight.size >= IN_FLIGHT || (inFlight.size > 0 && inFlightBytes + size > IN_FLIGHT_BYTES))
      await Promise.race(inFlight);
    if (failure) throw failure.error;
    inFlightBytes += size;
    const p: Promise<void> = work()
      .catch((e: unknown) => {
        failure ??= { error: e };
      })
      .finally(() => {
        inFlightBytes -= size;
        inFlight.delete(p);
      });
    inFlight.add(p);
  };
  const close = async (): Promise<void> => {
    const o = open;
    open = null;
    source = null;
    index++;
    if (!o?.pieces) return;
    if (o.filled !== o.size)
      throw new DeltaFormatError(`object ${o.obj.checksum} got ${o.filled} of its ${o.size} bytes`);
    const pieces = o.pieces;
    await launch(o.size, () => store(o, pieces));
  };
  /** Accounts for `length` more bytes of the open object (one being rebuilt). */
  const grow = (o: OpenContent, length: number): void => {
    if (o.filled + length > o.size)
      throw new DeltaFormatError(`writes overflow object ${o.obj.checksum} (size ${o.size})`);
    o.filled += length;
  };
  /** The open object's index of the read source (an operation that needs one). */
  const currentSource = (o: OpenContent): number => {
    if (!source) throw new DeltaFormatError("an operation needs a read source but none is set");
    let i = o.sources.indexOf(source);
    if (i < 0) {
      if (o.sources.length === ASSEMBLY_SOURCES)
        throw new DeltaFormatError(`object ${o.obj.checksum} reads more than ${ASSEMBLY_SOURCES} sources`);
      i = o.sources.push(source) - 1;
    }
    return i;
  };

  try {
    while (!r.done) {
      const op = r.opcode();
      const i = opIndex(op);
      if (i < 0) throw new DeltaFormatError(`Unknown opcode ${op} at offset ${r.pos - 1} of a delta part`);
      counts[i]!++;
      switch (op) {
        case OP.openSpliceAndClose: {
          const obj = nextObject();
          if (obj.type !== "file") {
            const length = r.varint();
            const data = range(r.varint(), length);
            if (target && !target.has(obj.type, obj.checksum)) {
              const actual = createHash("sha256").update(data).digest("hex");
              if (actual !== obj.checksum)
                throw new DeltaVerifyError(
                  `Corrupted object ${obj.checksum}.${obj.type} in the delta (hashes to ${actual}); the delta is damaged — fetch or generate it again`,
                );
              target.writeMetadata(obj.type, obj.checksum, data);
              produced.push(obj);
            }
          } else {
            const meta = contentMeta();
            const size = r.varint();
            const offset = r.varint();
            range(offset, size);
            if (target && !target.has("file", obj.checksum)) {
              const o = { obj, meta, size, pieces: null, sources: [], filled: size };
              await launch(size, () => store(o, [{ kind: "blob", offset, length: size }]));
            }
          }
          await close();
          break;
        }
        case OP.open: {
          if (open) throw new DeltaFormatError("an open operation while another object is open");
          const obj = nextObject();
          if (obj.type !== "file") throw new DeltaFormatError(`open operation for a ${obj.type} object`);
          const meta = contentMeta();
          const size = r.varint();
          if (size > MAX_LENGTH)
            throw new DeltaFormatError(`object ${obj.checksum} claims an impossible size ${size}`);
          const rebuilt = target !== null && !target.has("file", obj.checksum);
          open = { obj, meta, size, pieces: rebuilt ? [] : null, sources: [], filled: 0 };
          break;
        }
        case OP.write: {
          const size = r.varint();
          const offset = r.varint();
          if (!target || !open?.pieces) break;
          if (source) {
            const s = currentSource(open);
            grow(open, size);
            open.pieces.push({ kind: "source", source: s, offset, length: size });
          } else {
            range(offset, size);
            grow(open, size);
            open.pieces.push({ kind: "blob", offset, length: size });
          }
          break;
        }
        case OP.setReadSource: {
          // Read only when the open object is rebuilt: ostree opens it regardless, but a source we
          // do not need should not fail an object we already have.
          source = range(r.varint(), 32).toString("hex");
          break;
        }
        case OP.unsetReadSource:
          source = null;
          break;
        case OP.close:
          await close();
          break;
        case OP.bspatch: {
          const offset = r.varint();
          const length = r.varint();
          range(offset, length);
          if (!target || !open?.pieces) break;
          const s = currentSource(open);
          grow(open, open.size);
          open.pieces.push({ kind: "patch", source: s, offset, length });
          break;
        }
      }
    }
    if (open) throw new DeltaFormatError("the delta part ends with an object still open");
  } catch (e) {
    failure ??= { error: e };
  }
  await Promise.all(inFlight);
  if (failure) throw failure.error;
  return produced;
}
