// ostree's text formats, reproduced exactly: commit headers (log/show), `ls` lines, sizes in
// GLib's g_format_size style. Pure functions; the commands print what these return.
import { byteswapValue } from "../gvariant/byteswap.js";
import { parseType, printValue, type Variant } from "../gvariant/index.js";
import type { Commit, FileMeta, Xattrs } from "../repo/objects.js";
import { metadataGet, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from "../repo/objects.js";

const T_XATTRS = parseType("a(ayay)");

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/** `%Y-%m-%d %H:%M:%S +0000`, as ostree prints commit dates. */
export function formatUtc(secs: number): string {
  const d = new Date(secs * 1000);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000`;
}

/** GLib's `%FT%T%:::z` for UTC: `2026-11-27T03:18:23+00` (summary views). */
export function formatIsoUtc(secs: number): string {
  return `${formatUtc(secs).slice(0, 19).replace(" ", "T")}+00`;
}

/** The commit's `version` metadata string, if it has one. */
export function commitVersion(c: Commit): string | null {
  const v = metadataGet(c.metadata, "version");
  return v && v.typeString === "s" ? (v.value as string) : null;
}

function indented(text: string): string {
  // ostree prints each line of subject/body with four spaces; a trailing newline adds nothing.
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((l) => `    ${l}\n`).join("");
}

/** `commit CSUM` + dump_commit, as `ostree log` and `ostree show` print a commit. */
export function formatCommit(csum: string, c: Commit, contentChecksum: string): string {
  let out = `commit ${csum}\n`;
  if (c.parent) out += `Parent:  ${c.parent}\n`;
  out += `ContentChecksum:  ${contentChecksum}\n`;
  out += `Date:  ${formatUtc(c.timestamp)}\n`;
  const version = commitVersion(c);
  if (version !== null) out += `Version: ${version}\n`;
  out += c.subject ? `\n${indented(c.subject)}` : "(no subject)\n";
  if (c.body) out += `\n${indented(c.body)}`;
  return `${out}\n`;
}

function typeChar(mode: number): string {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "-";
    case S_IFDIR:
      return "d";
    case S_IFLNK:
      return "l";
    default:
      return "?";
  }
}

export function xattrsText(x: Xattrs): string {
  const value = x.map(([k, v]) => [Buffer.concat([Buffer.from(k, "utf8"), Buffer.from([0])]), v]);
  return printValue(T_XATTRS, value);
}

export interface LsItem {
  path: string;
  meta: Omit<FileMeta, "symlinkTarget"> & { symlinkTarget?: string };
  size: number;
  /** For directories: dirtree then dirmeta checksum; for files: the content checksum. */
  checksums: string[];
}

/** One line of `ostree ls`: `d00755 0 0      0 [CSUMS ][{ XATTRS } ]PATH[ -> TARGET]`. */
export function formatLsLine(item: LsItem, opts: { checksum?: boolean; xattrs?: boolean }): string {
  const m = item.meta;
  let s = `${typeChar(m.mode)}0${(m.mode & ~S_IFMT).toString(8).padStart(4, "0")} ${m.uid} ${m.gid} ${String(item.size).padStart(6)} `;
  if (opts.checksum) s += item.checksums.map((c) => `${c} `).join("");
  if (opts.xattrs) s += `{ ${xattrsText(m.xattrs)} } `;
  s += item.path;
  if ((m.mode & S_IFMT) === S_IFLNK) s += ` -> ${m.symlinkTarget ?? ""}`;
  return s;
}

/** GLib's g_format_size (SI units, one decimal): `150 bytes`, `1.2 kB`, `3.4 MB`. */
export function formatSize(n: number): string {
  if (n < 1000) return n === 1 ? "1 byte" : `${n} bytes`;
  const units = ["kB", "MB", "GB", "TB", "PB", "EB"];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  // GLib separates number and unit with a no-break space (U+00A0), but not for "bytes".
  return `${v.toFixed(1)}\u00a0${units[i]}`;
}

/** Prints a metadata value the way `ostree show --print-metadata-key` does (byte-swapped view). */
export function formatVariant(v: Variant): string {
  return printValue(v.type, byteswapValue(v.type, v.value));
}
