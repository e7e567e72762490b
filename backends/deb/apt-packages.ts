// A queryable index over a Debian control-file list (a repository's Packages index or dpkg's
// status file), built without parsing every stanza: one pass of Buffer.indexOf finds the stanza
// boundaries and names, a second finds the Provides lines; everything else is parsed only for the
// few hundred stanzas a resolution actually touches. Memory stays at about the file's size.
import { parseDeb822 } from "./deb822.js";

export class PackagesIndexError extends Error {
  override name = "PackagesIndexError";
}

const NL = 0x0a;
const PACKAGE = Buffer.from("Package:");
const PROVIDES = Buffer.from("\nProvides:");

export interface ProvideEntry {
  stanza: number;
  /** The provided version ("" when unversioned). */
  version: string;
  archQualifier?: string;
}

export class PackagesIndex {
  readonly buf: Buffer;
  /** Offsets of each stanza's first byte and one past its last byte. */
  readonly starts: Uint32Array;
  readonly ends: Uint32Array;
  readonly names: string[];
  private readonly byNameMap = new Map<string, number[]>();
  private providesMap?: Map<string, ProvideEntry[]>;
  private readonly parsed = new Map<number, Map<string, string>>();

  constructor(buf: Buffer, what = "Packages index") {
    this.buf = buf;
    const starts: number[] = [];
    const ends: number[] = [];
    const names: string[] = [];
    const intern = new Map<string, string>();
    let pos = 0;
    const len = buf.length;
    while (pos < len) {
      while (pos < len && (buf[pos] === NL || buf[pos] === 0x0d)) pos++;
      if (pos >= len) break;
      let end = buf.indexOf("\n\n", pos, "latin1");
      if (end < 0) end = len;
      const name = this.nameOf(pos, end, what);
      const interned = intern.get(name) ?? name;
      intern.set(interned, interned);
      const idx = starts.length;
      starts.push(pos);
      ends.push(end);
      names.push(interned);
      const list = this.byNameMap.get(interned);
      if (list) list.push(idx);
      else this.byNameMap.set(interned, [idx]);
      pos = end + 2;
    }
    this.starts = Uint32Array.from(starts);
    this.ends = Uint32Array.from(ends);
    this.names = names;
  }

  private nameOf(start: number, end: number, what: string): string {
    let p = start;
    if (!this.buf.subarray(start, start + PACKAGE.length).equals(PACKAGE)) {
      p = this.buf.indexOf("\nPackage:", start, "latin1");
      if (p < 0 || p >= end) {
        const line = this.buf.toString("utf8", start, Math.min(end, start + 60)).split("\n")[0];
        throw new PackagesIndexError(
          `${what}: stanza at byte ${start} has no Package field ("${line}"); the index is malformed — refresh the metadata`,
        );
      }
      p++;
    }
    p += PACKAGE.length;
    let e = this.buf.indexOf(NL, p);
    if (e < 0 || e > end) e = end;
    const name = this.buf.toString("latin1", p, e).trim();
    if (!name)
      throw new PackagesIndexError(`${what}: empty Package field at byte ${start}; the index is malformed`);
    return name;
  }

  get size(): number {
    return this.starts.length;
  }

  byName(name: string): readonly number[] {
    return this.byNameMap.get(name) ?? [];
  }

  allNames(): IterableIterator<string> {
    return this.byNameMap.keys();
  }

  /** Virtual and real names provided by stanzas' Provides fields. */
  providers(name: string): readonly ProvideEntry[] {
    if (!this.providesMap) this.providesMap = this.buildProvides();
    return this.providesMap.get(name) ?? [];
  }

  private buildProvides(): Map<string, ProvideEntry[]> {
    const map = new Map<string, ProvideEntry[]>();
    const { buf, starts } = this;
    let stanza = 0;
    let pos = buf.indexOf(PROVIDES);
    while (pos >= 0) {
      while (stanza + 1 < starts.length && starts[stanza + 1] <= pos) stanza++;
      const vstart = pos + PROVIDES.length;
      let e = buf.indexOf(NL, vstart);
      if (e < 0) e = buf.length;
      for (const item of buf.toString("latin1", vstart, e).split(",")) {
        const entry = parseProvide(item, stanza);
        if (!entry) continue;
        const list = map.get(entry.name);
        if (list) list.push(entry.entry);
        else map.set(entry.name, [entry.entry]);
      }
      pos = buf.indexOf(PROVIDES, e);
    }
    return map;
  }

  /** All fields of one stanza (continuation lines joined with "\n"), parsed once and kept. */
  fields(stanza: number): Map<string, string> {
    let f = this.parsed.get(stanza);
    if (f) return f;
    try {
      const [st] = parseDeb822(this.buf.toString("utf8", this.starts[stanza], this.ends[stanza]));
      f = new Map(Object.entries(st ?? {}));
    } catch (e) {
      throw new PackagesIndexError(
        `stanza ${this.names[stanza]}: ${(e as Error).message}; the index is corrupt — refresh the metadata`,
      );
    }
    this.parsed.set(stanza, f);
    return f;
  }

  field(stanza: number, name: string): string | undefined {
    return this.fields(stanza).get(name);
  }
}

function parseProvide(item: string, stanza: number): { name: string; entry: ProvideEntry } | undefined {
  const s = item.trim();
  if (!s) return undefined;
  const paren = s.indexOf("(");
  let name = (paren >= 0 ? s.slice(0, paren) : s).trim();
  let archQualifier: string | undefined;
  const colon = name.indexOf(":");
  if (colon >= 0) {
    archQualifier = name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  let version = "";
  if (paren >= 0) {
    const inner = s.slice(paren + 1, s.indexOf(")", paren)).trim();
    version = inner.replace(/^=\s*/, "");
  }
  return { name, entry: { stanza, version, archQualifier } };
}
