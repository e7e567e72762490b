// Runs a delta part's operations: rebuilds each object the part's header lists, in order, and
// verifies it against its checksum before handing it to the target — a damaged or hostile part can
// never get an object into the repo under a name its bytes do not hash to. The interpreter holds no
// I/O of its own: reading source objects and storing results are the target's.
import { createHash } from "node:crypto";
import {
  contentChecksum,
  type FileMeta,
  type ObjectType,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
} from "../repo/objects.js";
import { BspatchError, bspatch } from "./bspatch.js";
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
  /** The payload of a regular-file object already present (the read source of `r`). */
  readFile(checksum: string): Buffer;
  /** Stores a verified metadata object. */
  writeMetadata(type: ObjectType, checksum: string, bytes: Buffer): void;
  /** Stores a verified content object. */
  writeContent(checksum: string, meta: FileMeta, payload: Buffer): void;
}

/** Per-opcode counts, in ostree's show order (see OP_NAMES). */
export type OpCounts = number[];

interface OpenContent {
  obj: DeltaObject;
  meta: FileMeta;
  size: number;
  /** null when the object is already present (writes are skipped, as ostree does). */
  buf: Buffer | null;
  filled: number;
}

/**
 * Executes `payload`'s operations producing `objects` into `target`; with no target, only counts
 * the operations (`static-delta show`). Returns the checksums produced (not already present).
 */
export function executePart(
  objects: DeltaObject[],
  payload: PartPayload,
  target: PartTarget | null,
  counts: OpCounts = [0, 0, 0, 0, 0, 0, 0],
): DeltaObject[] {
  const produced: DeltaObject[] = [];
  if (objects.length === 0) return produced;
  const r = new OpReader(payload.ops);
  const blob = payload.blob;
  let index = 0;
  let open: OpenContent | null = null;
  /** The read source: its checksum, and its payload once something needs it. */
  let source: { csum: string; data: Buffer | null } | null = null;
  const sourceData = (): Buffer => {
    if (!source) throw new DeltaFormatError("an operation needs a read source but none is set");
    source.data ??= readSource(target!, source.csum);
    return source.data;
  };

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
  const storeContent = (obj: DeltaObject, meta: FileMeta, data: Buffer): void => {
    let m = meta;
    let payloadBytes = data;
    if ((meta.mode & S_IFMT) === S_IFLNK) {
      m = { ...meta, symlinkTarget: data.toString("utf8") };
      payloadBytes = Buffer.alloc(0);
    }
    const actual = contentChecksum(m, payloadBytes);
    if (actual !== obj.checksum)
      throw new DeltaVerifyError(
        `Corrupted object ${obj.checksum}.file in the delta (its content hashes to ${actual}); the delta is damaged — fetch or generate it again`,
      );
    target!.writeContent(obj.checksum, m, payloadBytes);
    produced.push(obj);
  };
  const close = (): void => {
    if (open?.buf) {
      if (open.filled !== open.size)
        throw new DeltaFormatError(
          `object ${open.obj.checksum} got ${open.filled} of its ${open.size} bytes`,
        );
      storeContent(open.obj, open.meta, open.buf);
    }
    open = null;
    source = null;
    index++;
  };
  const append = (data: Buffer): void => {
    if (!open) throw new DeltaFormatError("a write operation with no object open");
    if (!open.buf) return;
    if (open.filled + data.length > open.size)
      throw new DeltaFormatError(`writes overflow object ${open.obj.checksum} (size ${open.size})`);
    data.copy(open.buf, open.filled);
    open.filled += data.length;
  };

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
          const data = range(r.varint(), size);
          if (target && !target.has("file", obj.checksum)) storeContent(obj, meta, data);
        }
        close();
        break;
      }
      case OP.open: {
        if (open) throw new DeltaFormatError("an open operation while another object is open");
        const obj = nextObject();
        if (obj.type !== "file") throw new DeltaFormatError(`open operation for a ${obj.type} object`);
        const meta = contentMeta();
        const size = r.varint();
        const rebuild = target !== null && !target.has("file", obj.checksum);
        let buf: Buffer | null = null;
        if (rebuild) {
          try {
            buf = Buffer.alloc(size);
          } catch {
            throw new DeltaFormatError(`object ${obj.checksum} claims an impossible size ${size}`);
          }
        }
        open = { obj, meta, size, buf, filled: 0 };
        break;
      }
      case OP.write: {
        const size = r.varint();
        const offset = r.varint();
        if (!target || !open?.buf) break;
        if (source) {
          const data = sourceData();
          if (offset + size > data.length)
            throw new DeltaFormatError("Unexpected EOF reading the read source of a delta write");
          append(data.subarray(offset, offset + size));
        } else append(range(offset, size));
        break;
      }
      case OP.setReadSource: {
        // Read only when the open object is rebuilt: ostree opens it regardless, but a source we
        // do not need should not fail an object we already have.
        source = { csum: range(r.varint(), 32).toString("hex"), data: null };
        break;
      }
      case OP.unsetReadSource:
        source = null;
        break;
      case OP.close:
        close();
        break;
      case OP.bspatch: {
        const offset = r.varint();
        const length = r.varint();
        const patch = range(offset, length);
        if (!target || !open?.buf) break;
        try {
          append(bspatch(sourceData(), open.size, patch));
        } catch (e) {
          if (e instanceof BspatchError)
            throw new DeltaFormatError(`${e.message} for object ${open.obj.checksum}`);
          throw e;
        }
        break;
      }
    }
  }
  if (open) throw new DeltaFormatError("the delta part ends with an object still open");
  return produced;
}

function readSource(target: PartTarget, csum: string): Buffer {
  if (!target.has("file", csum))
    throw new DeltaFormatError(
      `the delta reads object ${csum}, which is not in the repository (is the from-commit complete?)`,
    );
  return target.readFile(csum);
}
