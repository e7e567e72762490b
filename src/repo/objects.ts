// OSTree's object formats as pure functions over bytes: file headers and content checksums,
// dirmeta, dirtree, commit, and the bare-user metadata xattr. OSTree stores uid, gid, mode and
// timestamps big-endian inside otherwise little-endian GVariants, so those fields are swapped here.
import { createHash } from "node:crypto";
import { deserialize, type GVValue, parseType, serialize, type Variant } from "../gvariant/index.js";
import { readDirTree } from "./dirtree-reader.js";
import { writeDirTree } from "./dirtree-writer.js";

export type ObjectType = "file" | "dirtree" | "dirmeta" | "commit" | "commitmeta" | "tombstone-commit";

/** xattrs as (name, value) pairs; serialized sorted by name, each name with a trailing NUL. */
export type Xattrs = [string, Buffer][];

export interface FileMeta {
  uid: number;
  gid: number;
  /** Full st_mode, including S_IFREG / S_IFLNK. */
  mode: number;
  symlinkTarget: string;
  xattrs: Xattrs;
}

export interface DirMeta {
  uid: number;
  gid: number;
  /** Full st_mode, including S_IFDIR. */
  mode: number;
  xattrs: Xattrs;
}

export interface DirTree {
  /** (name, content checksum hex), sorted by name bytewise. */
  files: [string, string][];
  /** (name, dirtree checksum hex, dirmeta checksum hex), sorted by name bytewise. */
  dirs: [string, string, string][];
}

export interface Commit {
  metadata: [string, Variant][];
  parent: string | null;
  related: [string, string][];
  subject: string;
  body: string;
  /** Seconds since the epoch (UTC). */
  timestamp: number;
  rootTree: string;
  rootMeta: string;
}

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

export const T_FILE_HEADER = parseType("(uuuusa(ayay))");
export const T_ZLIB_FILE_HEADER = parseType("(tuuuusa(ayay))");
export const T_DIRMETA = parseType("(uuua(ayay))");
export const T_DIRTREE = parseType("(a(say)a(sayay))");
export const T_COMMIT = parseType("(a{sv}aya(say)sstayay)");
export const T_METADATA = parseType("a{sv}");

export class ObjectFormatError extends Error {
  override name = "ObjectFormatError";
}

export function bswap32(n: number): number {
  return (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | (n >>> 24)) >>> 0;
}

export function bswap64(n: bigint): bigint {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b.readBigUInt64LE();
}

/** xattrs as the a(ayay) GVariant value: sorted, names NUL-terminated. */
export function xattrsValue(x: Xattrs): GVValue {
  const sorted = [...x].sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i]![0] === sorted[i - 1]![0]) throw new ObjectFormatError(`duplicate xattr ${sorted[i]![0]}`);
  return sorted.map(([k, v]) => [Buffer.concat([Buffer.from(k, "utf8"), Buffer.from([0])]), v]);
}

/** Inverse of xattrsValue. */
export function xattrsFrom(v: GVValue): Xattrs {
  return (v as [Buffer, Buffer][]).map(([k, val]) => {
    if (k.length === 0 || k[k.length - 1] !== 0) throw new ObjectFormatError("xattr name without NUL");
    return [k.subarray(0, k.length - 1).toString("utf8"), val];
  });
}

export function serializeFileHeader(m: FileMeta): Buffer {
  return serialize(T_FILE_HEADER, [
    bswap32(m.uid),
    bswap32(m.gid),
    bswap32(m.mode),
    0,
    m.symlinkTarget,
    xattrsValue(m.xattrs),
  ]);
}

export function parseFileHeader(b: Buffer): FileMeta {
  const [uid, gid, mode, rdev, target, xattrs] = deserialize(T_FILE_HEADER, b) as [
    number,
    number,
    number,
    number,
    string,
    GVValue,
  ];
  if (rdev !== 0) throw new ObjectFormatError("file header with non-zero rdev");
  return {
    uid: bswap32(uid),
    gid: bswap32(gid),
    mode: bswap32(mode),
    symlinkTarget: target,
    xattrs: xattrsFrom(xattrs),
  };
}

/** The bytes hashed before a file's payload: BE u32 header length, 4 zero bytes, header. */
export function checksumPrefix(m: FileMeta): Buffer {
  const h = serializeFileHeader(m);
  const pre = Buffer.alloc(8 + h.length);
  pre.writeUInt32BE(h.length, 0);
  h.copy(pre, 8);
  return pre;
}

/** Content checksum of a file object whose payload is fully in memory. */
export function contentChecksum(m: FileMeta, payload?: Buffer): string {
  const h = createHash("sha256").update(checksumPrefix(m));
  if (payload) h.update(payload);
  return h.digest("hex");
}

/** Header of an archive-mode `.filez` object (the payload that follows is raw deflate). */
export function archiveFileHeader(m: FileMeta, size: number): Buffer {
  const h = serialize(T_ZLIB_FILE_HEADER, [
    bswap64(BigInt(size)),
    bswap32(m.uid),
    bswap32(m.gid),
    bswap32(m.mode),
    0,
    m.symlinkTarget,
    xattrsValue(m.xattrs),
  ]);
  const pre = Buffer.alloc(8 + h.length);
  pre.writeUInt32BE(h.length, 0);
  h.copy(pre, 8);
  return pre;
}

/** Splits a `.filez` object into its metadata, uncompressed size and the raw-deflate payload. */
export function parseArchiveFile(b: Buffer): { meta: FileMeta; size: number; compressed: Buffer } {
  if (b.length < 8) throw new ObjectFormatError("truncated archive file object");
  const len = b.readUInt32BE(0);
  if (8 + len > b.length) throw new ObjectFormatError("archive file header length out of range");
  const [size, uid, gid, mode, rdev, target, xattrs] = deserialize(
    T_ZLIB_FILE_HEADER,
    b.subarray(8, 8 + len),
  ) as [bigint, number, number, number, number, string, GVValue];
  if (rdev !== 0) throw new ObjectFormatError("file header with non-zero rdev");
  return {
    meta: {
      uid: bswap32(uid),
      gid: bswap32(gid),
      mode: bswap32(mode),
      symlinkTarget: target,
      xattrs: xattrsFrom(xattrs),
    },
    size: Number(bswap64(size)),
    compressed: b.subarray(8 + len),
  };
}

/** bare-user keeps ownership and full mode in the `user.ostreemeta` xattr as `(uuua(ayay))`. */
export function serializeBareUserMeta(m: Pick<FileMeta, "uid" | "gid" | "mode" | "xattrs">): Buffer {
  return serialize(T_DIRMETA, [bswap32(m.uid), bswap32(m.gid), bswap32(m.mode), xattrsValue(m.xattrs)]);
}

export function parseBareUserMeta(b: Buffer): Omit<FileMeta, "symlinkTarget"> {
  const d = parseDirMetaLoose(b);
  return d;
}

export function serializeDirMeta(m: DirMeta): Buffer {
  if ((m.mode & S_IFMT) !== S_IFDIR) throw new ObjectFormatError("dirmeta mode is not a directory");
  return serialize(T_DIRMETA, [bswap32(m.uid), bswap32(m.gid), bswap32(m.mode), xattrsValue(m.xattrs)]);
}

function parseDirMetaLoose(b: Buffer): DirMeta {
  const [uid, gid, mode, xattrs] = deserialize(T_DIRMETA, b) as [number, number, number, GVValue];
  return { uid: bswap32(uid), gid: bswap32(gid), mode: bswap32(mode), xattrs: xattrsFrom(xattrs) };
}

export function parseDirMeta(b: Buffer): DirMeta {
  const m = parseDirMetaLoose(b);
  if ((m.mode & S_IFMT) !== S_IFDIR || m.mode & ~(S_IFMT | 0o7777))
    throw new ObjectFormatError(`dirmeta has an invalid mode 0${m.mode.toString(8)}`);
  return m;
}

/** Byte-wise (strcmp) order of UTF-8 names, as OSTree sorts dirtree entries and xattrs. */
export function compareNames(a: string, b: string): number {
  // UTF-16 code-unit order equals UTF-8 byte order except around surrogates (U+D800 and up).
  if (!BEYOND_BMP_ORDER.test(a) && !BEYOND_BMP_ORDER.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

const BEYOND_BMP_ORDER = /[\ud800-\uffff]/;

/** Sorts entries by name in strcmp order of their UTF-8 bytes. */
function sortByName<T extends [string, ...unknown[]]>(entries: T[]): T[] {
  if (!entries.some((e) => BEYOND_BMP_ORDER.test(e[0]))) {
    // Trees read from dirtrees and extended in order are sorted already: no copy then.
    let sorted = true;
    for (let i = 1; i < entries.length && sorted; i++) sorted = entries[i - 1]![0] < entries[i]![0];
    if (sorted) return entries;
    return [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
  return entries
    .map((e) => [Buffer.from(e[0], "utf8"), e] as const)
    .sort((a, b) => Buffer.compare(a[0], b[0]))
    .map(([, e]) => e);
}

export function validateName(name: string): void {
  if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0"))
    throw new ObjectFormatError(`invalid file name '${name}'`);
}

export function serializeDirTree(t: DirTree): Buffer {
  const files = sortByName(t.files);
  const dirs = sortByName(t.dirs);
  for (const [n] of files) validateName(n);
  for (const [n] of dirs) validateName(n);
  return writeDirTree(files, dirs);
}

/** Parses and validates a dirtree (normal form, names, order); see dirtree-reader.ts. */
export function parseDirTree(b: Buffer): DirTree {
  return readDirTree(b);
}

export function serializeCommit(c: Commit): Buffer {
  return serialize(T_COMMIT, [
    c.metadata.map(([k, v]) => [k, v]),
    c.parent ? hexToBytes(c.parent) : Buffer.alloc(0),
    c.related.map(([n, csum]) => [n, hexToBytes(csum)]),
    c.subject,
    c.body,
    bswap64(BigInt(c.timestamp)),
    hexToBytes(c.rootTree),
    hexToBytes(c.rootMeta),
  ]);
}

export function parseCommit(b: Buffer): Commit {
  const [meta, parent, related, subject, body, ts, tree, dmeta] = deserialize(T_COMMIT, b) as [
    [string, Variant][],
    Buffer,
    [string, Buffer][],
    string,
    string,
    bigint,
    Buffer,
    Buffer,
  ];
  if (parent.length !== 0 && parent.length !== 32)
    throw new ObjectFormatError("commit parent is not a checksum");
  if (tree.length !== 32 || dmeta.length !== 32)
    throw new ObjectFormatError("commit root checksums are malformed");
  return {
    metadata: meta.map(([k, v]) => [k, v]),
    parent: parent.length ? bytesToHex(parent) : null,
    related: related.map(([n, c]) => [n, bytesToHex(c)]),
    subject,
    body,
    timestamp: Number(bswap64(ts)),
    rootTree: bytesToHex(tree),
    rootMeta: bytesToHex(dmeta),
  };
}

export function serializeMetadata(m: [string, Variant][]): Buffer {
  return serialize(T_METADATA, m);
}

export function parseMetadata(b: Buffer): [string, Variant][] {
  return deserialize(T_METADATA, b) as [string, Variant][];
}

export function metadataGet(m: [string, Variant][], key: string): Variant | undefined {
  return m.find(([k]) => k === key)?.[1];
}

export function sha256hex(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

const HEX64 = /^[0-9a-f]{64}$/;
export function isChecksum(s: string): boolean {
  return HEX64.test(s);
}

export function hexToBytes(hex: string): Buffer {
  if (!HEX64.test(hex)) throw new ObjectFormatError(`'${hex}' is not a sha256 checksum`);
  return Buffer.from(hex, "hex");
}

export function bytesToHex(b: Buffer): string {
  if (b.length !== 32) throw new ObjectFormatError("checksum is not 32 bytes");
  return b.toString("hex");
}

/** `objects/XX/REST.EXT` relative to the repo, for a checksum and object type. */
export function objectRelPath(csum: string, type: ObjectType, archive: boolean): string {
  const ext = type === "file" ? (archive ? "filez" : "file") : type;
  return `objects/${csum.slice(0, 2)}/${csum.slice(2)}.${ext}`;
}

/** The dirtree of an empty directory; its checksum is a well-known constant. */
export const EMPTY_DIRTREE = serializeDirTree({ files: [], dirs: [] });
