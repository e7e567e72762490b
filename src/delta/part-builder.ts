// Builds one delta part: the objects it produces, in order, with their operations, the deduplicated
// mode and xattr tables and the data blob. The generator decides what goes where; this is only the
// format's bookkeeping.
import { type FileMeta, S_IFLNK, S_IFMT, serializeFileHeader } from "../repo/objects.js";
import { OP, OpWriter } from "./ops.js";
import { type ModeEntry, serializePartPayload } from "./part.js";
import type { DeltaObject } from "./superblock.js";

export class PartBuilder {
  readonly objects: DeltaObject[] = [];
  /** Uncompressed size of the objects produced (ostree's usize). */
  usize = 0;
  private readonly modes: ModeEntry[] = [];
  private readonly modeIndex = new Map<string, number>();
  private readonly xattrs: FileMeta["xattrs"][] = [];
  private readonly xattrIndex = new Map<string, number>();
  private tablesSize = 0;
  private readonly blob: Buffer[] = [];
  private blobLength = 0;
  private readonly ops = new OpWriter();

  /** A lower bound of the serialized payload's size, to decide when to start a new part. */
  get sizeEstimate(): number {
    return this.blobLength + this.ops.bytes.length + this.tablesSize;
  }

  private append(data: Buffer): number {
    const at = this.blobLength;
    this.blob.push(data);
    this.blobLength += data.length;
    return at;
  }

  private metaIndices(meta: FileMeta): [number, number] {
    const mkey = `${meta.uid}:${meta.gid}:${meta.mode}`;
    let mi = this.modeIndex.get(mkey);
    if (mi === undefined) {
      mi = this.modes.length;
      this.modes.push({ uid: meta.uid, gid: meta.gid, mode: meta.mode });
      this.modeIndex.set(mkey, mi);
      this.tablesSize += 12;
    }
    // Keyed by the serialized form, so equal sets in any order share an entry.
    const xkey = serializeFileHeader({
      uid: 0,
      gid: 0,
      mode: 0,
      symlinkTarget: "",
      xattrs: meta.xattrs,
    }).toString("latin1");
    let xi = this.xattrIndex.get(xkey);
    if (xi === undefined) {
      xi = this.xattrs.length;
      this.xattrs.push(meta.xattrs);
      this.xattrIndex.set(xkey, xi);
      this.tablesSize += xkey.length;
    }
    return [mi, xi];
  }

  /** A metadata object spliced whole (`S` length offset). */
  addMetadata(obj: DeltaObject, bytes: Buffer): void {
    this.objects.push(obj);
    this.usize += bytes.length;
    const at = this.append(bytes);
    this.ops.op(OP.openSpliceAndClose, bytes.length, at);
  }

  /** A content object spliced whole (`S` mode xattrs size offset); a symlink's data is its target. */
  addContent(obj: DeltaObject, meta: FileMeta, payload: Buffer): void {
    const data = (meta.mode & S_IFMT) === S_IFLNK ? Buffer.from(meta.symlinkTarget, "utf8") : payload;
    this.objects.push(obj);
    this.usize += data.length;
    const [mi, xi] = this.metaIndices(meta);
    const at = this.append(data);
    this.ops.op(OP.openSpliceAndClose, mi, xi, data.length, at);
  }

  /**
   * A regular file rebuilt from `source` (an object the client has) by a bsdiff patch:
   * `r` source, `o` mode xattrs size, `B` offset length, `c`, `R` — ostree's sequence.
   */
  addBsdiff(obj: DeltaObject, meta: FileMeta, size: number, source: string, patch: Buffer): void {
    this.objects.push(obj);
    this.usize += size;
    const [mi, xi] = this.metaIndices(meta);
    this.ops.op(OP.setReadSource, this.append(Buffer.from(source, "hex")));
    this.ops.op(OP.open, mi, xi, size);
    this.ops.op(OP.bspatch, this.append(patch), patch.length);
    this.ops.op(OP.close);
    this.ops.op(OP.unsetReadSource);
  }

  /** The part's payload `(a(uuu)aa(ayay)ayay)`, uncompressed. */
  payload(): Buffer {
    return serializePartPayload({
      modes: this.modes,
      xattrs: this.xattrs,
      blob: Buffer.concat(this.blob, this.blobLength),
      ops: this.ops.toBuffer(),
    });
  }
}
