// A static delta part as pure functions over bytes. The file is one compression byte (0 = none,
// 'x' = xz) followed by the payload `(a(uuu)aa(ayay)ayay)`: the mode table (uid, gid, mode, each
// big-endian), the xattr table, the raw data blob and the operation stream. The part's checksum in
// the superblock is sha256 of the file as stored.
import { createHash } from "node:crypto";
import { deserialize, type GVValue, parseType, serialize } from "../gvariant/index.js";
import { bswap32, type Xattrs, xattrsFrom, xattrsValue } from "../repo/objects.js";
import { decodeBuffer, decodeBufferAsync } from "../util/decode.js";
import { DeltaFormatError } from "./superblock.js";

export const T_PART_PAYLOAD = parseType("(a(uuu)aa(ayay)ayay)");

export const COMPRESSION_NONE = 0;
export const COMPRESSION_XZ = "x".charCodeAt(0);

export interface ModeEntry {
  uid: number;
  gid: number;
  mode: number;
}

export interface PartPayload {
  modes: ModeEntry[];
  xattrs: Xattrs[];
  blob: Buffer;
  ops: Buffer;
}

export function serializePartPayload(p: PartPayload): Buffer {
  return serialize(T_PART_PAYLOAD, [
    p.modes.map((m) => [bswap32(m.uid), bswap32(m.gid), bswap32(m.mode)]),
    p.xattrs.map((x) => xattrsValue(x)),
    p.blob,
    p.ops,
  ]);
}

export function parsePartPayload(b: Buffer): PartPayload {
  let raw: [[number, number, number][], GVValue[], Buffer, Buffer];
  try {
    raw = deserialize(T_PART_PAYLOAD, b) as typeof raw;
  } catch (e) {
    throw new DeltaFormatError(`the delta part's payload is not valid (${(e as Error).message})`);
  }
  const [modes, xattrs, blob, ops] = raw;
  return {
    modes: modes.map(([uid, gid, mode]) => ({ uid: bswap32(uid), gid: bswap32(gid), mode: bswap32(mode) })),
    xattrs: xattrs.map((x) => xattrsFrom(x)),
    blob,
    ops,
  };
}

/** The part file's bytes: the compression byte, then the (possibly compressed) payload. */
export function encodePartFile(payload: Buffer, compress?: (b: Buffer) => Buffer): Buffer {
  if (!compress) return Buffer.concat([Buffer.from([COMPRESSION_NONE]), payload]);
  return Buffer.concat([Buffer.from([COMPRESSION_XZ]), compress(payload)]);
}

/**
 * The payload of a part file. With `expected`, the file's sha256 must match first (inline parts
 * have no checksum of their own: they are covered by the superblock's).
 */
export function decodePartFile(file: Uint8Array, expected?: string): PartPayload {
  const { comp, data } = checkPartFile(file, expected);
  if (comp !== COMPRESSION_XZ) return parsePartPayload(data);
  let payload: Buffer;
  try {
    payload = decodeBuffer("xz", data);
  } catch (e) {
    throw damagedXz(e);
  }
  return parsePartPayload(payload);
}

/** decodePartFile with the xz decoding on libuv's thread pool (parts decode while others apply). */
export async function decodePartFileAsync(file: Uint8Array, expected?: string): Promise<PartPayload> {
  const { comp, data } = checkPartFile(file, expected);
  if (comp !== COMPRESSION_XZ) return parsePartPayload(data);
  let payload: Buffer;
  try {
    payload = await decodeBufferAsync("xz", data);
  } catch (e) {
    throw damagedXz(e);
  }
  return parsePartPayload(payload);
}

function checkPartFile(file: Uint8Array, expected?: string): { comp: number; data: Buffer } {
  const buf = Buffer.isBuffer(file) ? file : Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (expected) {
    const actual = createHash("sha256").update(buf).digest("hex");
    if (actual !== expected)
      throw new DeltaFormatError(
        `Checksum mismatch in static delta part; expected=${expected} actual=${actual} (the part was damaged in transit or on disk; fetch it again)`,
      );
  }
  if (buf.length === 0) throw new DeltaFormatError("the delta part is empty (no compression byte)");
  const comp = buf[0]!;
  if (comp !== COMPRESSION_NONE && comp !== COMPRESSION_XZ)
    throw new DeltaFormatError(`Invalid compression type '${comp}' in a delta part`);
  return { comp, data: buf.subarray(1) };
}

const damagedXz = (e: unknown) =>
  new DeltaFormatError(`the delta part's xz data is damaged: ${(e as Error).message}`);
