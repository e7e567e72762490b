// The rpm header structure (used for both the signature header and the main header): magic, index
// entries (tag, type, offset, count) and a data store. Every offset and count is bounds-checked before
// use, because headers come from untrusted files.

export const HEADER_MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01]);
/** rpm's own sanity limits (hdrchkTags / hdrchkData). */
export const MAX_TAGS = 0xffff;
export const MAX_DATA = 0x0fffffff;

export enum RpmType {
  Null = 0,
  Char = 1,
  Int8 = 2,
  Int16 = 3,
  Int32 = 4,
  Int64 = 5,
  String = 6,
  Bin = 7,
  StringArray = 8,
  I18nString = 9,
}

export class RpmHeaderError extends Error {
  override readonly name = "RpmHeaderError";
}

interface IndexEntry {
  tag: number;
  type: number;
  offset: number;
  count: number;
}

/** Index count and store size from the 16-byte preamble; validates magic and limits. */
export function headerPreamble(b: Buffer, what: string): { nindex: number; hsize: number; length: number } {
  if (b.length < 16) throw new RpmHeaderError(`${what} is truncated`);
  if (!b.subarray(0, 4).equals(HEADER_MAGIC)) throw new RpmHeaderError(`${what} has a bad magic`);
  const nindex = b.readUInt32BE(8);
  const hsize = b.readUInt32BE(12);
  if (nindex < 1 || nindex > MAX_TAGS)
    throw new RpmHeaderError(`${what} claims ${nindex} tags (limit ${MAX_TAGS})`);
  if (hsize > MAX_DATA) throw new RpmHeaderError(`${what} claims ${hsize} bytes of data (limit ${MAX_DATA})`);
  return { nindex, hsize, length: 16 + nindex * 16 + hsize };
}

const FIXED: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1 };

export class RpmHeader {
  private readonly index = new Map<number, IndexEntry>();
  private readonly store: Buffer;

  /** `blob` is the whole header, from the magic to the end of the store. */
  constructor(
    readonly blob: Buffer,
    readonly what: string,
  ) {
    const { nindex, hsize, length } = headerPreamble(blob, what);
    if (blob.length < length) throw new RpmHeaderError(`${what} is truncated`);
    const base = 16 + nindex * 16;
    this.store = blob.subarray(base, base + hsize);
    for (let i = 0; i < nindex; i++) {
      const o = 16 + i * 16;
      const e = {
        tag: blob.readUInt32BE(o),
        type: blob.readUInt32BE(o + 4),
        offset: blob.readInt32BE(o + 8),
        count: blob.readUInt32BE(o + 12),
      };
      this.check(e, hsize);
      this.index.set(e.tag, e);
    }
  }

  private check(e: IndexEntry, hsize: number): void {
    const bad = (why: string) => new RpmHeaderError(`${this.what} tag ${e.tag}: ${why}`);
    if (e.type > RpmType.I18nString) throw bad(`unknown type ${e.type}`);
    if (e.offset < 0 || e.offset > hsize) throw bad(`offset ${e.offset} outside the ${hsize}-byte store`);
    if (e.count < 1 || e.count > hsize) throw bad(`absurd count ${e.count}`);
    const w = FIXED[e.type];
    if (w !== undefined) {
      if (e.offset % w !== 0 && e.type !== RpmType.Bin) throw bad("misaligned data");
      if (e.offset + w * e.count > hsize) throw bad(`data runs past the end of the store`);
    }
  }

  has(tag: number): boolean {
    return this.index.has(tag);
  }

  tags(): number[] {
    return [...this.index.keys()];
  }

  private entry(tag: number, types: number[]): IndexEntry | undefined {
    const e = this.index.get(tag);
    if (!e) return undefined;
    if (!types.includes(e.type))
      throw new RpmHeaderError(`${this.what} tag ${tag}: unexpected type ${e.type}`);
    return e;
  }

  /** Reads `count` NUL-terminated strings at `offset`, each checked to end inside the store. */
  private strings(e: IndexEntry): string[] {
    const out: string[] = [];
    let pos = e.offset;
    for (let i = 0; i < e.count; i++) {
      const end = this.store.indexOf(0, pos);
      if (end < 0) throw new RpmHeaderError(`${this.what} tag ${e.tag}: unterminated string`);
      out.push(this.store.toString("utf8", pos, end));
      pos = end + 1;
    }
    return out;
  }

  string(tag: number): string | undefined {
    const e = this.entry(tag, [RpmType.String, RpmType.I18nString, RpmType.StringArray]);
    // i18n strings hold one translation per locale; the first is the untranslated "C" text.
    return e ? this.strings({ ...e, count: 1 })[0] : undefined;
  }

  stringArray(tag: number): string[] | undefined {
    const e = this.entry(tag, [RpmType.StringArray, RpmType.String, RpmType.I18nString]);
    if (!e) return undefined;
    return e.type === RpmType.StringArray ? this.strings(e) : this.strings({ ...e, count: 1 });
  }

  /** Integer array of any integer width (INT64 values are returned as numbers; sizes stay < 2^53). */
  ints(tag: number): number[] | undefined {
    const e = this.entry(tag, [RpmType.Char, RpmType.Int8, RpmType.Int16, RpmType.Int32, RpmType.Int64]);
    if (!e) return undefined;
    const out: number[] = new Array(e.count);
    const s = this.store;
    for (let i = 0; i < e.count; i++) {
      switch (e.type) {
        case RpmType.Int16:
          out[i] = s.readUInt16BE(e.offset + 2 * i);
          break;
        case RpmType.Int32:
          out[i] = s.readUInt32BE(e.offset + 4 * i);
          break;
        case RpmType.Int64:
          out[i] = Number(s.readBigUInt64BE(e.offset + 8 * i));
          break;
        default:
          out[i] = s[e.offset + i];
      }
    }
    return out;
  }

  int(tag: number): number | undefined {
    return this.ints(tag)?.[0];
  }

  bin(tag: number): Buffer | undefined {
    const e = this.entry(tag, [RpmType.Bin]);
    return e ? this.store.subarray(e.offset, e.offset + e.count) : undefined;
  }
}
