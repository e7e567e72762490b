// apt's sources: one-line `sources.list` entries and deb822 `*.sources` stanzas (sources.list(5)).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { field, parseDeb822 } from "./deb822.js";

export class AptSourcesError extends Error {
  override name = "AptSourcesError";
}

export interface AptSource {
  uri: string;
  suite: string;
  /** Empty for a flat repository (suite is then a path ending in "/"). */
  components: string[];
  /** Keyring files or inline armored keys (deb822 Signed-By may embed a key block). */
  signedBy?: string[];
  trusted?: boolean;
  archs?: string[];
  /** Where the entry came from, for messages. */
  origin: string;
}

function words(v: string | undefined): string[] {
  return (v ?? "").split(/\s+/).filter(Boolean);
}

function optionList(v: string | undefined): string[] | undefined {
  return v ? v.split(/[,\s]+/).filter(Boolean) : undefined;
}

export function parseOneLineSources(text: string, origin: string): AptSource[] {
  const out: AptSource[] = [];
  text.split("\n").forEach((raw, n) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (!line) return;
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) throw new AptSourcesError(`${origin}:${n + 1}: malformed sources.list line "${line}"`);
    if (m[1] !== "deb") return;
    const opts = new Map<string, string>();
    for (const o of words(m[2])) {
      const eq = o.indexOf("=");
      if (eq > 0) opts.set(o.slice(0, eq), o.slice(eq + 1));
    }
    out.push({
      uri: m[3],
      suite: m[4],
      components: words(m[5]),
      signedBy: optionList(opts.get("signed-by")),
      trusted: opts.get("trusted") === "yes",
      archs: optionList(opts.get("arch")),
      origin: `${origin}:${n + 1}`,
    });
  });
  return out;
}

export function parseDeb822Sources(text: string, origin: string): AptSource[] {
  const out: AptSource[] = [];
  for (const st of parseDeb822(text)) {
    if (field(st, "Enabled") === "no" || !words(field(st, "Types")).includes("deb")) continue;
    const signed = field(st, "Signed-By");
    const signedBy = signed?.includes("BEGIN PGP") ? [signed.replace(/^\s*\.$/gm, "")] : optionList(signed);
    for (const uri of words(field(st, "URIs")))
      for (const suite of words(field(st, "Suites")))
        out.push({
          uri,
          suite,
          components: words(field(st, "Components")),
          signedBy,
          trusted: field(st, "Trusted") === "yes",
          archs: optionList(field(st, "Architectures")),
          origin,
        });
  }
  return out;
}

/** Parses a sources file, one-line or deb822 by its name (or content when the name does not say). */
export function parseSourcesFile(path: string): AptSource[] {
  const text = readFileSync(path, "utf8");
  const deb822 = path.endsWith(".sources") || (!path.endsWith(".list") && /^\s*(Types|URIs):/im.test(text));
  return deb822 ? parseDeb822Sources(text, path) : parseOneLineSources(text, path);
}

/** All sources a tree is configured for: etc/apt/sources.list and sources.list.d/*.{list,sources}. */
export function treeSources(root: string): AptSource[] {
  const out: AptSource[] = [];
  const main = join(root, "etc/apt/sources.list");
  if (existsSync(main)) out.push(...parseSourcesFile(main));
  const dir = join(root, "etc/apt/sources.list.d");
  if (existsSync(dir))
    for (const name of readdirSync(dir).sort())
      if (name.endsWith(".list") || name.endsWith(".sources")) out.push(...parseSourcesFile(join(dir, name)));
  return out;
}

/** apt's global keyrings in a tree, used when a source has no signed-by. */
export function treeTrustedKeyrings(root: string): string[] {
  const out: string[] = [];
  const legacy = join(root, "etc/apt/trusted.gpg");
  if (existsSync(legacy)) out.push(legacy);
  const dir = join(root, "etc/apt/trusted.gpg.d");
  if (existsSync(dir))
    for (const name of readdirSync(dir).sort()) if (/\.(gpg|asc)$/.test(name)) out.push(join(dir, name));
  return out;
}

/** The repository-relative directory of a source's Release files ("dists/SUITE/" or the flat path). */
export function distPath(src: AptSource): string {
  if (src.components.length === 0)
    return src.suite === "/" || src.suite === "./" ? "" : src.suite.replace(/\/?$/, "/");
  return `dists/${src.suite}/`;
}

/** apt's file name for a URI under /var/lib/apt/lists (apt-pkg URItoFileName). */
export function aptListName(uri: string): string {
  const noScheme = uri.replace(/^[a-z+]+:\/\//, "").replace(/^[^@/]*@/, "");
  return noScheme.replace(/_/g, "%5f").replace(/\//g, "_");
}
