// The XML parser of rpm-md's metadata (saxes), loaded on first use: a transaction over Debian
// packages parses no XML, and loading saxes at start-up cost every command ≈ 2.5 ms.
import { createRequire } from "node:module";
import type { SaxesParser } from "saxes";

type Saxes = typeof import("saxes");
let saxes: Saxes | undefined;

/** A non-namespaced parser, as repomd.xml, primary.xml and filelists.xml are read. */
export function xmlParser(): SaxesParser<{ xmlns: false }> {
  saxes ??= createRequire(import.meta.url)("saxes") as Saxes;
  return new saxes.SaxesParser({ xmlns: false });
}
