// Streaming parser for rpm-md primary.xml (and filelists.xml): saxes events straight into compact
// package records, so a Fedora-sized primary never exists as a DOM.
import type { PackageLocation } from "../../src/packages/index.js";
import type { VersionOp } from "../../src/packages/model.js";
import type { RpmEntry, RpmRecord } from "./rpmmd-packageset.js";
import { interner, packageChecksum, ScanUnsupported, scanPrimary } from "./rpmmd-scan.js";
import { xmlParser } from "./xml-parser.js";

export class RpmMdError extends Error {
  override name = "RpmMdError";
}

const FLAGS: Record<string, VersionOp> = { EQ: "=", LT: "<", LE: "<=", GT: ">", GE: ">=" };
const DEP_ELEMENTS = new Set([
  "rpm:requires",
  "rpm:provides",
  "rpm:conflicts",
  "rpm:obsoletes",
  "rpm:recommends",
  "rpm:suggests",
  "rpm:supplements",
  "rpm:enhances",
]);

function evr(a: Record<string, string>): string {
  if (!a.ver) return "";
  const e = a.epoch && a.epoch !== "0" ? `${a.epoch}:` : "";
  return `${e}${a.ver}${a.rel ? `-${a.rel}` : ""}`;
}

/**
 * Parses primary.xml text into records; `baseUrl` makes locations absolute. The fast scanner handles
 * what createrepo_c writes; anything unusual goes through the general streaming XML parser, which
 * also gives well-formedness errors their line numbers.
 */
export function parsePrimary(xml: string, baseUrl: string, what: string): RpmRecord[] {
  if (!xml.includes("<metadata") || !/<\/metadata>\s*$/.test(xml.slice(-64)))
    throw new RpmMdError(`${what}: truncated or not rpm-md primary metadata; refresh it`);
  try {
    return scanPrimary(xml, baseUrl);
  } catch (e) {
    if (!(e instanceof ScanUnsupported)) throw e;
    return parsePrimaryXml(xml, baseUrl, what);
  }
}

function parsePrimaryXml(xml: string, baseUrl: string, what: string): RpmRecord[] {
  const out: RpmRecord[] = [];
  const parser = xmlParser();
  let cur: RpmRecord | undefined;
  let depKind: keyof NonNullable<RpmRecord["entries"]> | undefined;
  let text = "";
  let textEl: string | undefined;
  // What a download is checked against; <checksum> and <size> may come before <location>.
  let archive: Pick<PackageLocation, "size" | "checksum"> = {};
  let checksumType = "";
  const intern = interner();
  parser.on("opentag", (tag) => {
    const a = tag.attributes as Record<string, string>;
    switch (tag.name) {
      case "package":
        cur = { name: "", arch: "", epoch: 0, version: "", release: "", entries: {}, files: [] };
        archive = {};
        break;
      case "checksum":
        checksumType = a.type ?? "";
        textEl = tag.name;
        text = "";
        break;
      case "size":
        if (Number(a.package) > 0) archive.size = Number(a.package);
        break;
      case "name":
      case "arch":
      case "file":
      case "rpm:sourcerpm":
        textEl = tag.name;
        text = "";
        break;
      case "version":
        if (cur) {
          cur.epoch = Number(a.epoch ?? 0) || 0;
          cur.version = a.ver ?? "";
          cur.release = a.rel ?? "";
        }
        break;
      case "location":
        if (cur && a.href) cur.location = { baseUrl: a["xml:base"] ?? baseUrl, path: a.href };
        break;
      case "rpm:entry":
        if (cur && depKind) {
          const e: RpmEntry = { name: intern(a.name ?? ""), evr: evr(a) };
          if (a.flags) e.op = FLAGS[a.flags];
          if (a.pre === "1") e.pre = true;
          const entries = cur.entries as Record<string, RpmEntry[]>;
          const list = entries[depKind];
          if (list) list.push(e);
          else entries[depKind] = [e];
        }
        break;
      default:
        if (DEP_ELEMENTS.has(tag.name)) depKind = tag.name.slice(4) as typeof depKind;
    }
  });
  const onText = (t: string) => {
    if (textEl) text += t;
  };
  parser.on("text", onText);
  parser.on("cdata", onText);
  parser.on("closetag", (tag) => {
    if (DEP_ELEMENTS.has(tag.name)) depKind = undefined;
    else if (tag.name === textEl && cur) {
      if (textEl === "name") cur.name = intern(text);
      else if (textEl === "arch") cur.arch = intern(text);
      else if (textEl === "file") cur.files.push(text);
      else if (textEl === "rpm:sourcerpm") cur.sourceRpm = text;
      else if (textEl === "checksum" && checksumType) archive.checksum = packageChecksum(checksumType, text);
      textEl = undefined;
    } else if (tag.name === "package" && cur) {
      if (!cur.name || !cur.arch) throw new RpmMdError(`${what}: a package without name or arch`);
      if (cur.location) Object.assign(cur.location, archive);
      out.push(cur);
      cur = undefined;
    }
  });
  try {
    parser.write(xml).close();
  } catch (e) {
    if (e instanceof RpmMdError) throw e;
    throw new RpmMdError(
      `${what}: malformed XML (${(e as Error).message}); the metadata is corrupt — refresh it`,
    );
  }
  return out;
}

/** Adds filelists.xml's full file lists to records already read from primary (matched by NEVRA). */
export function mergeFilelists(records: RpmRecord[], xml: string, what: string): void {
  const byKey = new Map<string, RpmRecord>();
  for (const r of records) byKey.set(`${r.name}\0${r.arch}\0${r.epoch}:${r.version}-${r.release}`, r);
  const parser = xmlParser();
  let cur: RpmRecord | undefined;
  let name = "";
  let arch = "";
  let inFile = false;
  let text = "";
  parser.on("opentag", (tag) => {
    const a = tag.attributes as Record<string, string>;
    if (tag.name === "package") {
      name = a.name ?? "";
      arch = a.arch ?? "";
      cur = undefined;
    } else if (tag.name === "version") {
      cur = byKey.get(`${name}\0${arch}\0${Number(a.epoch ?? 0) || 0}:${a.ver}-${a.rel}`);
      if (cur) cur.files = [];
    } else if (tag.name === "file") {
      inFile = true;
      text = "";
    }
  });
  parser.on("text", (t) => {
    if (inFile) text += t;
  });
  parser.on("closetag", (tag) => {
    if (tag.name === "file") {
      inFile = false;
      cur?.files.push(text);
    }
  });
  try {
    parser.write(xml).close();
  } catch (e) {
    throw new RpmMdError(
      `${what}: malformed XML (${(e as Error).message}); the metadata is corrupt — refresh it`,
    );
  }
}
