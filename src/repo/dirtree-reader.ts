// A dedicated reader for dirtree objects `(a(say)a(sayay))`. Checkouts and walks parse one per
// directory, and the generic GVariant reader spends most of its time dispatching on types; this one
// knows the layout and applies the same normal-form checks (minimal offset widths, in-range and
// monotonic framing offsets, NUL-terminated UTF-8 names, 32-byte checksums) plus ostree's rules
// (valid names, strcmp order, no name both a file and a directory).
import type { DirTree } from "./objects.js";

export class DirTreeFormatError extends Error {
  override name = "DirTreeFormatError";
}

function fail(msg: string): never {
  throw new DirTreeFormatError(`invalid dirtree: ${msg}`);
}

function widthFor(total: number): number {
  return total === 0 ? 0 : total <= 0xff ? 1 : total <= 0xffff ? 2 : 4;
}

function readOff(b: Buffer, pos: number, w: number): number {
  return w === 1 ? b[pos]! : w === 2 ? b.readUInt16LE(pos) : b.readUInt32LE(pos);
}

/** Ends of the elements of a variable-element array occupying b[start, end). */
function elementEnds(b: Buffer, start: number, end: number): number[] {
  const size = end - start;
  if (size === 0) return [];
  const w = widthFor(size);
  if (size < w) fail("array too small");
  const tableStart = readOff(b, end - w, w);
  const tableBytes = size - tableStart;
  if (tableStart > size || tableBytes % w !== 0 || tableBytes === 0)
    fail("array framing offsets out of range");
  const n = tableBytes / w;
  const ends: number[] = new Array(n);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const e = readOff(b, start + tableStart + i * w, w);
    if (e < prev || e > tableStart) fail("array framing offsets not monotonic");
    ends[i] = start + e;
    prev = e;
  }
  if (prev !== tableStart) fail("array framing offsets do not cover the body");
  return ends;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A name at b[start, nulPos), validated as ostree validates file names. */
function name(b: Buffer, start: number, strEnd: number): string {
  if (strEnd <= start || b[strEnd - 1] !== 0) fail("name without NUL terminator");
  const raw = b.subarray(start, strEnd - 1);
  if (raw.length === 0) fail("empty name");
  if (raw.includes(0)) fail("name with embedded NUL");
  if (raw.includes(0x2f)) fail("name contains '/'");
  if (raw.length <= 2 && raw[0] === 0x2e && (raw.length === 1 || raw[1] === 0x2e)) fail("name is . or ..");
  try {
    return utf8.decode(raw);
  } catch {
    return fail("name is not valid UTF-8");
  }
}

function checksum(b: Buffer, start: number, end: number): string {
  if (end - start !== 32) fail("checksum is not 32 bytes");
  return b.toString("hex", start, end);
}

export function readDirTree(b: Buffer): DirTree {
  const total = b.length;
  // The empty dirtree is a single 00 (the first array's end offset).
  const w = widthFor(total);
  if (total < w + 0 || total === 0) fail("truncated");
  const filesEnd = readOff(b, total - w, w);
  if (filesEnd > total - w) fail("tuple framing offset out of range");
  const tree: DirTree = { files: [], dirs: [] };
  const fileNames: Buffer[] = [];
  let start = 0;
  for (const end of elementEnds(b, 0, filesEnd)) {
    const ew = widthFor(end - start);
    if (end - start < ew) fail("file entry too small");
    const strEnd = start + readOff(b, end - ew, ew);
    if (strEnd > end - ew || strEnd <= start) fail("file entry offsets out of range");
    const n = name(b, start, strEnd);
    const raw = b.subarray(start, strEnd - 1);
    if (fileNames.length && Buffer.compare(fileNames[fileNames.length - 1]!, raw) >= 0)
      fail("files not sorted");
    fileNames.push(raw);
    tree.files.push([n, checksum(b, strEnd, end - ew)]);
    start = end;
  }
  start = filesEnd;
  let prevDir: Buffer | null = null;
  let fi = 0;
  for (const end of elementEnds(b, filesEnd, total - w)) {
    const ew = widthFor(end - start);
    if (end - start < 2 * ew) fail("directory entry too small");
    const strEnd = start + readOff(b, end - ew, ew);
    const treeEnd = start + readOff(b, end - 2 * ew, ew);
    if (strEnd <= start || strEnd > treeEnd || treeEnd > end - 2 * ew)
      fail("directory entry offsets out of range");
    const n = name(b, start, strEnd);
    const raw = b.subarray(start, strEnd - 1);
    if (prevDir && Buffer.compare(prevDir, raw) >= 0) fail("directories not sorted");
    prevDir = raw;
    // Both arrays are sorted: one merge pass finds a name used as file and directory.
    while (fi < fileNames.length && Buffer.compare(fileNames[fi]!, raw) < 0) fi++;
    if (fi < fileNames.length && fileNames[fi]!.equals(raw)) fail(`'${n}' is both a file and a directory`);
    tree.dirs.push([n, checksum(b, strEnd, treeEnd), checksum(b, treeEnd, end - 2 * ew)]);
    start = end;
  }
  return tree;
}
