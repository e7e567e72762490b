// The static delta superblock `(a{sv}tayay(COMMIT)aya(uayttay)a(yaytt))` as pure functions over
// bytes: metadata (ostree.endianness, inline parts, the to-commit's detached metadata), timestamp
// (big-endian), from and to checksums, the to-commit object itself, the unused "recursive deltas"
// array, the part headers and the fallback objects.
//
// The u/t fields of part headers and fallbacks are in the *producer's* byte order (ostree wrote them
// natively): `ostree.endianness` says which ('l' or 'B'); an old delta without it is judged by
// ostree's heuristic (a part "compressed" to more than 1.2× its size, or objects averaging more
// than 4 GiB, means the other order).
import { deserialize, parseType, serialize, Variant } from "../gvariant/index.js";
import { bswap32, bswap64, bytesToHex, hexToBytes, type ObjectType, T_COMMIT } from "../repo/objects.js";

export const T_SUPERBLOCK = parseType("(a{sv}tayay(a{sv}aya(say)sstayay)aya(uayttay)a(yaytt))");
/** The part version ostree 2022.7 writes and reads. */
export const DELTAPART_VERSION = 0;
/** 1 byte object type + 32 bytes checksum per object a part produces. */
export const OBJTYPE_CSUM_LEN = 33;

export class DeltaFormatError extends Error {
  override name = "DeltaFormatError";
}

const OBJTYPE_CODE: Partial<Record<ObjectType, number>> = {
  file: 1,
  dirtree: 2,
  dirmeta: 3,
  commit: 4,
  "tombstone-commit": 5,
  commitmeta: 6,
};
const CODE_OBJTYPE = new Map(Object.entries(OBJTYPE_CODE).map(([k, v]) => [v, k as ObjectType]));

export function objtypeCode(t: ObjectType): number {
  const c = OBJTYPE_CODE[t];
  if (c === undefined) throw new DeltaFormatError(`object type ${t} cannot be in a delta`);
  return c;
}

export function objtypeFromCode(c: number): ObjectType {
  const t = CODE_OBJTYPE.get(c);
  if (!t) throw new DeltaFormatError(`invalid object type ${c} in the delta`);
  return t;
}

export interface DeltaObject {
  type: ObjectType;
  checksum: string;
}

export interface PartHeader {
  version: number;
  /** sha256 of the part file's bytes as stored (compression byte included). */
  checksum: string;
  /** Size of the part file. */
  size: number;
  /** Uncompressed size of the objects the part produces. */
  usize: number;
  objects: DeltaObject[];
}

export interface FallbackObject extends DeltaObject {
  /** Size as stored in the source repo (the .filez for an archive). */
  size: number;
  usize: number;
}

export type Endianness = "l" | "B";

export interface Superblock {
  /** Everything in the a{sv}, in order; ostree.endianness included. */
  metadata: [string, Variant][];
  /** Seconds since the epoch. */
  timestamp: number;
  from: string | null;
  to: string;
  /** The to-commit object, exactly as stored. */
  commit: Buffer;
  parts: PartHeader[];
  fallbacks: FallbackObject[];
  /** Byte order of the header integers; null when neither stated nor detectable (then: ours). */
  endianness: Endianness | null;
  /** True when endianness was guessed, as ostree's show says "(heuristic)". */
  endiannessHeuristic: boolean;
}

/** Packs [type, checksum] pairs into ostree's 33-byte entries. */
export function packObjects(objs: DeltaObject[]): Buffer {
  const b = Buffer.alloc(objs.length * OBJTYPE_CSUM_LEN);
  objs.forEach((o, i) => {
    b[i * OBJTYPE_CSUM_LEN] = objtypeCode(o.type);
    hexToBytes(o.checksum).copy(b, i * OBJTYPE_CSUM_LEN + 1);
  });
  return b;
}

export function unpackObjects(b: Buffer): DeltaObject[] {
  if (b.length % OBJTYPE_CSUM_LEN !== 0)
    throw new DeltaFormatError(`Invalid checksum array length ${b.length}`);
  const out: DeltaObject[] = [];
  for (let i = 0; i < b.length; i += OBJTYPE_CSUM_LEN)
    out.push({ type: objtypeFromCode(b[i]!), checksum: bytesToHex(b.subarray(i + 1, i + OBJTYPE_CSUM_LEN)) });
  return out;
}

type RawHeader = [number, Buffer, bigint, bigint, Buffer];
type RawFallback = [number, Buffer, bigint, bigint];
type RawSuperblock = [
  [string, Variant][],
  bigint,
  Buffer,
  Buffer,
  unknown,
  Buffer,
  RawHeader[],
  RawFallback[],
];

function checksumOf(b: Buffer, what: string): string {
  if (b.length !== 32)
    throw new DeltaFormatError(`the superblock's ${what} checksum is ${b.length} bytes, not 32`);
  return bytesToHex(b);
}

/** Whether the header integers were written in the other byte order (ostree's rule). */
function judgeEndianness(
  meta: [string, Variant][],
  headers: RawHeader[],
): { e: Endianness | null; guessed: boolean } {
  const stated = meta.find(([k]) => k === "ostree.endianness")?.[1];
  if (stated && stated.typeString === "y") {
    const c = String.fromCharCode(stated.value as number);
    if (c === "l" || c === "B") return { e: c, guessed: false };
    return { e: null, guessed: false };
  }
  let totalSize = 0n;
  let totalObjects = 0n;
  for (const [, , size, usize, objs] of headers) {
    totalObjects += BigInt(Math.floor(objs.length / OBJTYPE_CSUM_LEN));
    totalSize += size;
    if (size > usize && Number(size) / Number(usize) > 1.2) return { e: "B", guessed: true };
  }
  if (totalObjects > 0n && totalSize / totalObjects > 0xffffffffn) return { e: "B", guessed: true };
  return { e: null, guessed: true };
}

/** Parses a superblock; the bytes must be GVariant normal form, as ostree writes it. */
export function parseSuperblock(bytes: Buffer): Superblock {
  let raw: RawSuperblock;
  try {
    raw = deserialize(T_SUPERBLOCK, bytes) as RawSuperblock;
  } catch (e) {
    throw new DeltaFormatError(
      `the delta superblock is not valid (${(e as Error).message}); it is truncated or not a superblock — fetch or generate it again`,
    );
  }
  const [metadata, ts, from, to, commitValue, , headers, fallbacks] = raw;
  const { e, guessed } = judgeEndianness(metadata, headers);
  // Our reading is little-endian; swap what a big-endian producer wrote.
  const swap = e === "B";
  const u32 = (n: number) => (swap ? bswap32(n) : n);
  const u64 = (n: bigint) => Number(swap ? bswap64(n) : n);
  return {
    metadata,
    timestamp: Number(bswap64(ts)),
    from: from.length ? checksumOf(from, "from") : null,
    to: checksumOf(to, "to"),
    commit: serialize(T_COMMIT, commitValue as never),
    parts: headers.map(([version, csum, size, usize, objs]) => ({
      version: u32(version),
      checksum: checksumOf(csum, "part"),
      size: u64(size),
      usize: u64(usize),
      objects: unpackObjects(objs),
    })),
    fallbacks: fallbacks.map(([t, csum, size, usize]) => ({
      type: objtypeFromCode(t),
      checksum: checksumOf(csum, "fallback"),
      size: u64(size),
      usize: u64(usize),
    })),
    endianness: e,
    endiannessHeuristic: guessed,
  };
}

/** What a superblock is written from; an ostree.endianness in `metadata` is replaced by ours. */
export type SuperblockInput = Omit<Superblock, "endianness" | "endiannessHeuristic">;

/**
 * Serializes a superblock, little-endian ('l'), with ostree.endianness first — ostree puts it
 * before the inline parts and the commitmeta; the order matters only to content sniffers.
 */
export function serializeSuperblock(s: SuperblockInput): Buffer {
  const commitValue = deserialize(T_COMMIT, s.commit);
  return serialize(T_SUPERBLOCK, [
    [
      ["ostree.endianness", Variant.of("y", "l".charCodeAt(0))],
      ...s.metadata.filter(([k]) => k !== "ostree.endianness"),
    ],
    bswap64(BigInt(s.timestamp)),
    s.from ? hexToBytes(s.from) : Buffer.alloc(0),
    hexToBytes(s.to),
    commitValue,
    Buffer.alloc(0),
    s.parts.map((p) => [
      p.version,
      hexToBytes(p.checksum),
      BigInt(p.size),
      BigInt(p.usize),
      packObjects(p.objects),
    ]),
    s.fallbacks.map((f) => [objtypeCode(f.type), hexToBytes(f.checksum), BigInt(f.size), BigInt(f.usize)]),
  ]);
}

/** The superblock metadata value with key `key` and GVariant type `type`, if present. */
export function superblockMeta(s: Superblock, key: string, type: string): Variant | undefined {
  const v = s.metadata.find(([k]) => k === key)?.[1];
  return v && v.typeString === type ? v : undefined;
}
