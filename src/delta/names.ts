// Where a static delta lives and what it is called: ostree's "modified base64" of checksums
// (standard alphabet, '/' → '_', the trailing '=' dropped: 43 characters) split after two
// characters into a directory, `FROM-TO` as the delta's name. Pure functions, no I/O.
import { bytesToHex, hexToBytes, isChecksum } from "../repo/objects.js";

export class DeltaNameError extends Error {
  override name = "DeltaNameError";
}

/** The 43-character modified base64 of a hex checksum. */
export function checksumToB64(csum: string): string {
  return hexToBytes(csum).toString("base64").replace(/=+$/, "").replaceAll("/", "_");
}

/** Inverse of checksumToB64. */
export function b64ToChecksum(b64: string): string {
  if (!/^[A-Za-z0-9+_]{43}$/.test(b64))
    throw new DeltaNameError(`'${b64}' is not a modified-base64 checksum`);
  const bytes = Buffer.from(`${b64.replaceAll("_", "/")}=`, "base64");
  return bytesToHex(bytes);
}

/** `deltas/FR/OM-TO` (or `deltas/TO/` + rest for a delta from scratch), no trailing slash. */
export function deltaDir(from: string | null, to: string): string {
  const t = checksumToB64(to);
  if (!from) return `deltas/${t.slice(0, 2)}/${t.slice(2)}`;
  const f = checksumToB64(from);
  return `deltas/${f.slice(0, 2)}/${f.slice(2)}-${t}`;
}

export function superblockPath(from: string | null, to: string): string {
  return `${deltaDir(from, to)}/superblock`;
}

/** A part's path; also the key of an inline part in the superblock's metadata. */
export function partPath(from: string | null, to: string, index: number): string {
  return `${deltaDir(from, to)}/${index}`;
}

/** The superblock metadata key that carries the to-commit's detached metadata. */
export function commitmetaKey(from: string | null, to: string): string {
  return `${deltaDir(from, to)}/commitmeta`;
}

/** `delta-indexes/TO/REST.index`. */
export function deltaIndexPath(to: string): string {
  const t = checksumToB64(to);
  return `delta-indexes/${t.slice(0, 2)}/${t.slice(2)}.index`;
}

/** A delta's name as ostree prints it: `FROM-TO` in hex, or `TO` for a delta from scratch. */
export function deltaName(from: string | null, to: string): string {
  return from ? `${from}-${to}` : to;
}

/** Parses `FROM-TO` or `TO` (hex checksums), as `static-delta show/delete` take them. */
export function parseDeltaName(name: string): { from: string | null; to: string } {
  const i = name.indexOf("-");
  const from = i < 0 ? null : name.slice(0, i);
  const to = i < 0 ? name : name.slice(i + 1);
  for (const c of from ? [from, to] : [to])
    if (!isChecksum(c))
      throw new DeltaNameError(`Invalid delta name '${name}': '${c}' is not a sha256 checksum`);
  return { from, to };
}

/**
 * The delta named by the two directory levels under `deltas/` (`XX` and `REST` or `REST-TO`), as
 * `static-delta list` reads them; null when they do not spell one.
 */
export function deltaFromDirs(first: string, second: string): { from: string | null; to: string } | null {
  try {
    const joined = first + second;
    const dash = joined.indexOf("-");
    if (dash < 0) return { from: null, to: b64ToChecksum(joined) };
    return { from: b64ToChecksum(joined.slice(0, dash)), to: b64ToChecksum(joined.slice(dash + 1)) };
  } catch {
    return null;
  }
}
