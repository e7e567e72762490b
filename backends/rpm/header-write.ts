// Writing rpm headers the way rpm's headerExport() does, for the rpmdb: the package's immutable
// region is copied verbatim (its digests and signatures cover exactly those bytes) and the tags rpm
// adds later — the signature tags merged at read time, the install-time tags — follow it, sorted by
// tag, each aligned to its type's width. The result has no 8-byte magic prefix, as rpmdb stores it.
import { HEADER_MAGIC, RpmHeaderError, RpmType } from "./header.js";
import { SIG, TAG } from "./tags.js";

/** One tag outside the immutable region, its data already big-endian. */
export interface HeaderEntry {
  tag: number;
  type: RpmType;
  count: number;
  data: Buffer;
}

/** An exported header taken apart: the region as rpm wrote it and the tags appended after it. */
export interface SplitHeader {
  /** The region's index entries (16 bytes each), the HEADERIMMUTABLE trailer entry first. */
  regionIndex: Buffer;
  /** The region's data, up to and including its 16-byte trailer. */
  regionData: Buffer;
  appended: HeaderEntry[];
}

const WIDTH: Partial<Record<RpmType, number>> = {
  [RpmType.Char]: 1,
  [RpmType.Int8]: 1,
  [RpmType.Int16]: 2,
  [RpmType.Int32]: 4,
  [RpmType.Int64]: 8,
  [RpmType.Bin]: 1,
};

/** HEADER_SIGNATURES and HEADER_IMMUTABLE: the region trailers of a signature and a main header. */
const REGION_TAGS = new Set([62, 63]);

/** Bytes an entry's data takes in the store (strings run to their NUL). */
function dataLength(store: Buffer, type: RpmType, offset: number, count: number, what: string): number {
  const w = WIDTH[type];
  if (w !== undefined) return w * count;
  let pos = offset;
  const n = type === RpmType.String ? 1 : count;
  for (let i = 0; i < n; i++) {
    const end = store.indexOf(0, pos);
    if (end < 0) throw new RpmHeaderError(`${what}: unterminated string`);
    pos = end + 1;
  }
  return pos - offset;
}

interface RawEntry {
  tag: number;
  type: RpmType;
  offset: number;
  count: number;
}

/** The index entries and store of a header blob, with or without its 8-byte magic prefix. */
function rawHeader(blob: Buffer, what: string): { entries: RawEntry[]; store: Buffer; body: Buffer } {
  const body = blob.subarray(0, 3).equals(HEADER_MAGIC.subarray(0, 3)) ? blob.subarray(8) : blob;
  if (body.length < 8) throw new RpmHeaderError(`${what} is truncated`);
  const il = body.readUInt32BE(0);
  const dl = body.readUInt32BE(4);
  if (body.length < 8 + il * 16 + dl) throw new RpmHeaderError(`${what} is truncated`);
  const store = body.subarray(8 + il * 16, 8 + il * 16 + dl);
  const entries: RawEntry[] = [];
  for (let i = 0; i < il; i++) {
    const o = 8 + i * 16;
    entries.push({
      tag: body.readUInt32BE(o),
      type: body.readUInt32BE(o + 4),
      offset: body.readInt32BE(o + 8),
      count: body.readUInt32BE(o + 12),
    });
  }
  return { entries, store, body };
}

function entryData(store: Buffer, e: RawEntry, what: string): Buffer {
  if (e.offset < 0 || e.offset > store.length) throw new RpmHeaderError(`${what} tag ${e.tag}: bad offset`);
  const len = dataLength(store, e.type, e.offset, e.count, `${what} tag ${e.tag}`);
  if (e.offset + len > store.length)
    throw new RpmHeaderError(`${what} tag ${e.tag}: data runs past the store`);
  return store.subarray(e.offset, e.offset + len);
}

function isRegionEntry(e: RawEntry | undefined): boolean {
  return !!e && REGION_TAGS.has(e.tag) && e.type === RpmType.Bin && e.count === 16;
}

/** Whether a header starts with an immutable region, as every header rpm ≥ 4 writes does. */
export function hasRegion(blob: Buffer): boolean {
  return isRegionEntry(rawHeader(blob, "header").entries[0]);
}

/** Takes an exported header apart into its immutable region and the entries appended after it. */
export function splitHeader(blob: Buffer, what = "header"): SplitHeader {
  const { entries, store, body } = rawHeader(blob, what);
  const first = entries[0];
  if (!first || !isRegionEntry(first))
    throw new RpmHeaderError(`${what} has no immutable region (an rpm v3 package); rebuild it with rpm ≥ 4`);
  const trailer = entryData(store, first, what);
  const ril = -trailer.readInt32BE(8) / 16;
  if (!Number.isInteger(ril) || ril < 1 || ril > entries.length)
    throw new RpmHeaderError(`${what}: bad region trailer`);
  const regionEnd = first.offset + 16;
  return {
    regionIndex: body.subarray(8, 8 + ril * 16),
    regionData: store.subarray(0, regionEnd),
    appended: entries.slice(ril).map((e) => ({
      tag: e.tag,
      type: e.type,
      count: e.count,
      data: entryData(store, e, what),
    })),
  };
}

/** The tags of a split header, region and appended alike. */
export function headerTags(h: SplitHeader): number[] {
  const out: number[] = [];
  for (let o = 0; o < h.regionIndex.length; o += 16) out.push(h.regionIndex.readUInt32BE(o));
  for (const e of h.appended) out.push(e.tag);
  return out;
}

/** headerExport(): region first, then the appended entries sorted by tag, each aligned to its width. */
export function exportHeader(h: SplitHeader): Buffer {
  const extra = [...h.appended].sort((a, b) => a.tag - b.tag);
  const il = h.regionIndex.length / 16 + extra.length;
  const index = Buffer.alloc(extra.length * 16);
  const parts: Buffer[] = [h.regionData];
  let dl = h.regionData.length;
  extra.forEach((e, i) => {
    const w = WIDTH[e.type] ?? 1;
    const pad = (w - (dl % w)) % w;
    if (pad) parts.push(Buffer.alloc(pad));
    dl += pad;
    index.writeUInt32BE(e.tag, i * 16);
    index.writeUInt32BE(e.type, i * 16 + 4);
    index.writeUInt32BE(dl, i * 16 + 8);
    index.writeUInt32BE(e.count, i * 16 + 12);
    parts.push(e.data);
    dl += e.data.length;
  });
  const head = Buffer.alloc(8);
  head.writeUInt32BE(il, 0);
  head.writeUInt32BE(dl, 4);
  return Buffer.concat([head, h.regionIndex, index, ...parts]);
}

/** Sets (or replaces) appended entries. */
export function putEntries(h: SplitHeader, entries: HeaderEntry[]): SplitHeader {
  const tags = new Set(entries.map((e) => e.tag));
  return { ...h, appended: [...h.appended.filter((e) => !tags.has(e.tag)), ...entries] };
}

export function int32Entry(tag: number, values: number[]): HeaderEntry {
  const data = Buffer.alloc(4 * values.length);
  for (let i = 0; i < values.length; i++) data.writeUInt32BE(values[i]! >>> 0, 4 * i);
  return { tag, type: RpmType.Int32, count: values.length, data };
}

export function stringEntry(tag: number, value: string): HeaderEntry {
  return { tag, type: RpmType.String, count: 1, data: Buffer.from(`${value}\0`, "utf8") };
}

/**
 * Signature tags rpm copies into the main header when it reads a package (package.c xlateTags):
 * [signature tag, header tag, required count (0: any)].
 */
const MERGED_SIGS: [number, number, number][] = [
  [SIG.SIZE, 257, 1],
  [1002, 259, 0], // PGP → SIGPGP
  [SIG.MD5, 261, 16],
  [1005, 262, 0], // GPG → SIGGPG
  [SIG.PAYLOADSIZE, 1046, 1], // → ARCHIVESIZE
  [274, 5090, 0], // FILESIGNATURES
  [275, 5091, 1], // FILESIGNATURELENGTH
  [276, 276, 0], // VERITYSIGNATURES
  [277, 277, 1], // VERITYSIGNATUREALGO
  [SIG.SHA1, 269, 1],
  [SIG.SHA256, 273, 1],
  [267, 267, 0], // DSA
  [268, 268, 0], // RSA
  [SIG.LONGSIZE, 270, 1],
  [SIG.LONGARCHIVESIZE, 271, 1],
];

/**
 * The header as rpm keeps it for an installed package, before the install-time tags: the main
 * header's region with the signature header's digests and signatures merged (headerMergeLegacySigs)
 * and SOURCERPM retrofitted when missing (applyRetrofits).
 */
export function rpmdbHeader(sig: Buffer, header: Buffer): Buffer {
  const main = splitHeader(header, "header");
  const present = new Set(headerTags(main));
  const s = rawHeader(sig, "signature header");
  const merged: HeaderEntry[] = [];
  for (const [stag, xtag, count] of MERGED_SIGS) {
    const e = s.entries.find((x) => x.tag === stag);
    if (!e || present.has(xtag)) continue;
    if (e.count < 1 || (count && e.count !== count)) continue;
    merged.push({ tag: xtag, type: e.type, count: e.count, data: entryData(s.store, e, "signature header") });
  }
  if (!present.has(TAG.SOURCERPM) && !present.has(1106)) merged.push(stringEntry(TAG.SOURCERPM, "(none)"));
  return exportHeader({ ...main, appended: [...main.appended, ...merged] });
}
