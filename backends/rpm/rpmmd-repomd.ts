// rpm-md's repomd.xml: where each metadata file is and the checksums it must have.
import { RpmMdError } from "./rpmmd-primary.js";
import { xmlParser } from "./xml-parser.js";

export interface RepomdData {
  type: string;
  href: string;
  checksum: { algo: string; hex: string };
  openChecksum?: { algo: string; hex: string };
  size?: number;
}

export function parseRepomd(xml: string, what: string): Map<string, RepomdData> {
  const out = new Map<string, RepomdData>();
  const parser = xmlParser();
  let cur: Partial<RepomdData> | undefined;
  let el: string | undefined;
  let algo = "";
  let text = "";
  parser.on("opentag", (t) => {
    const a = t.attributes as Record<string, string>;
    if (t.name === "data") cur = { type: a.type };
    else if (cur && t.name === "location") cur.href = a.href;
    else if (cur && (t.name === "checksum" || t.name === "open-checksum" || t.name === "size")) {
      el = t.name;
      algo = a.type ?? "";
      text = "";
    }
  });
  parser.on("text", (t) => {
    if (el) text += t;
  });
  parser.on("closetag", (t) => {
    if (cur && t.name === el) {
      const v = text.trim();
      if (el === "checksum") cur.checksum = { algo: algo === "sha" ? "sha1" : algo, hex: v.toLowerCase() };
      else if (el === "open-checksum")
        cur.openChecksum = { algo: algo === "sha" ? "sha1" : algo, hex: v.toLowerCase() };
      else cur.size = Number(v);
      el = undefined;
    } else if (t.name === "data" && cur) {
      if (!cur.type || !cur.href || !cur.checksum)
        throw new RpmMdError(`${what}: <data> without type, location or checksum`);
      out.set(cur.type, cur as RepomdData);
      cur = undefined;
    }
  });
  try {
    parser.write(xml).close();
  } catch (e) {
    throw new RpmMdError(`${what}: malformed repomd.xml (${(e as Error).message})`);
  }
  if (!out.has("primary")) throw new RpmMdError(`${what}: repomd.xml lists no primary metadata`);
  return out;
}
