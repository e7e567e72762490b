// A fast scanner for primary.xml as createrepo_c writes it: one indexOf-driven pass over the text,
// no per-character callbacks. It handles exactly the element layout rpm-md specifies and reports
// anything else as unsupported, so the caller can fall back to the general XML parser.
import type { PackageLocation } from "../../src/packages/index.js";
import type { VersionOp } from "../../src/packages/model.js";
import type { RpmEntry, RpmRecord } from "./rpmmd-packageset.js";

/** A package checksum as fetch checks it: yum's old type name "sha" is sha1. */
export function packageChecksum(type: string, hex: string): { algo: string; hex: string } {
  return { algo: type === "sha" ? "sha1" : type, hex: hex.trim().toLowerCase() };
}

export class ScanUnsupported extends Error {
  override name = "ScanUnsupported";
}

const FLAGS: Record<string, VersionOp> = { EQ: "=", LT: "<", LE: "<=", GT: ">", GE: ">=" };
const KINDS = [
  "requires",
  "provides",
  "conflicts",
  "obsoletes",
  "recommends",
  "suggests",
  "supplements",
  "enhances",
] as const;
const ENTITY: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function xmlUnescape(s: string): string {
  if (s.indexOf("&") < 0) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (m, e: string) => {
    if (e[0] === "#")
      return String.fromCodePoint(e[1] === "x" ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return ENTITY[e] ?? m;
  });
}

/** Attributes of the tag starting at `start` (just after its name) up to `end` (its ">"). */
function attrs(xml: string, start: number, end: number): Record<string, string> {
  const out: Record<string, string> = {};
  let p = start;
  for (;;) {
    const eq = xml.indexOf("=", p);
    if (eq < 0 || eq > end) return out;
    const q = xml[eq + 1];
    if (q !== '"' && q !== "'") throw new ScanUnsupported("unquoted attribute");
    const close = xml.indexOf(q, eq + 2);
    if (close < 0 || close > end) throw new ScanUnsupported("unterminated attribute");
    out[xml.slice(p, eq).trim()] = xmlUnescape(xml.slice(eq + 2, close));
    p = close + 1;
  }
}

function textOf(xml: string, from: number, to: number, tag: string): string | undefined {
  const open = xml.indexOf(`<${tag}>`, from);
  if (open < 0 || open > to) return undefined;
  const s = open + tag.length + 2;
  const e = xml.indexOf(`</${tag}>`, s);
  if (e < 0 || e > to) throw new ScanUnsupported(`unterminated <${tag}>`);
  const t = xml.slice(s, e);
  if (t.startsWith("<![CDATA[")) throw new ScanUnsupported("CDATA");
  return xmlUnescape(t);
}

function evr(a: Record<string, string>): string {
  if (!a.ver) return "";
  return `${a.epoch && a.epoch !== "0" ? `${a.epoch}:` : ""}${a.ver}${a.rel ? `-${a.rel}` : ""}`;
}

/**
 * The archive's size and checksum (`<size package=…/>`, `<checksum type=…>`): what a download is
 * checked against, so that a .rpm changed after createrepo_c is refused.
 */
function archiveFacts(xml: string): Pick<PackageLocation, "size" | "checksum"> {
  const out: Pick<PackageLocation, "size" | "checksum"> = {};
  const sp = xml.indexOf("<size ");
  if (sp >= 0) {
    const size = Number(attrs(xml, sp + 6, xml.indexOf(">", sp)).package);
    if (size > 0) out.size = size;
  }
  const cp = xml.indexOf("<checksum ");
  if (cp >= 0) {
    const gt = xml.indexOf(">", cp);
    const end = xml.indexOf("</checksum>", gt);
    if (end < 0) throw new ScanUnsupported("unterminated <checksum>");
    const algo = attrs(xml, cp + 10, gt).type;
    if (algo) out.checksum = packageChecksum(algo, xml.slice(gt + 1, end));
  }
  return out;
}

function scanPackage(xml: string, baseUrl: string, intern: (s: string) => string): RpmRecord {
  const pos = 0;
  const end = xml.length;
  const name = textOf(xml, pos, end, "name");
  const arch = textOf(xml, pos, end, "arch");
  const vp = xml.indexOf("<version ", pos);
  if (!name || !arch || vp < 0) throw new ScanUnsupported("package without name, arch or version");
  const v = attrs(xml, vp + 9, xml.indexOf(">", vp));
  const rec: RpmRecord = {
    name: intern(name),
    arch: intern(arch),
    epoch: Number(v.epoch ?? 0) || 0,
    version: v.ver ?? "",
    release: v.rel ?? "",
    entries: {},
    files: [],
  };
  const lp = xml.indexOf("<location ", pos);
  if (lp >= 0) {
    const a = attrs(xml, lp + 10, xml.indexOf(">", lp));
    if (a.href) rec.location = { baseUrl: a["xml:base"] ?? baseUrl, path: a.href, ...archiveFacts(xml) };
  }
  const fmt = xml.indexOf("<format>", pos);
  if (fmt < 0) return rec;
  const src = textOf(xml, fmt, end, "rpm:sourcerpm");
  if (src) rec.sourceRpm = src;
  for (const kind of KINDS) {
    const open = xml.indexOf(`<rpm:${kind}>`, fmt);
    if (open < 0) continue;
    const close = xml.indexOf(`</rpm:${kind}>`, open);
    if (close < 0) throw new ScanUnsupported(`unterminated <rpm:${kind}>`);
    const list: RpmEntry[] = [];
    let e = xml.indexOf("<rpm:entry ", open);
    while (e >= 0 && e < close) {
      const te = xml.indexOf(">", e);
      const a = attrs(xml, e + 11, te);
      const entry: RpmEntry = { name: intern(a.name ?? ""), evr: evr(a) };
      if (a.flags) entry.op = FLAGS[a.flags];
      if (a.pre === "1") entry.pre = true;
      list.push(entry);
      e = xml.indexOf("<rpm:entry ", te);
    }
    (rec.entries as Record<string, RpmEntry[]>)[kind] = list;
  }
  let f = xml.indexOf("<file", fmt);
  while (f >= 0) {
    const gt = xml.indexOf(">", f);
    const fe = xml.indexOf("</file>", gt);
    if (fe < 0) throw new ScanUnsupported("unterminated <file>");
    rec.files.push(xmlUnescape(xml.slice(gt + 1, fe)));
    f = xml.indexOf("<file", fe);
  }
  return rec;
}

/**
 * Returns one shared copy of equal strings (names and arches repeat across thousands of records,
 * and each slice of the XML would otherwise keep its own).
 */
export function interner(): (s: string) => string {
  const strings = new Map<string, string>();
  return (s) => {
    const x = strings.get(s);
    if (x !== undefined) return x;
    strings.set(s, s);
    return s;
  };
}

export function scanPrimary(xml: string, baseUrl: string): RpmRecord[] {
  const out: RpmRecord[] = [];
  const intern = interner();
  let pos = xml.indexOf("<package ");
  while (pos >= 0) {
    const stop = xml.indexOf("</package>", pos);
    if (stop < 0) throw new ScanUnsupported("unterminated <package>");
    // Search within the package only: a tag absent from it must not send indexOf across the file.
    out.push(scanPackage(xml.slice(pos, stop), baseUrl, intern));
    pos = xml.indexOf("<package ", stop);
  }
  return out;
}
