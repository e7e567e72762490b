// A dedicated reader for dirtree objects `(a(say)a(sayay))`. Checkouts and walks parse one per
// directory, and the generic GVariant reader spends most of its time dispatching on types; this one
// knows the layout and applies the same normal-form checks (minimal offset widths, in-range and
// monotonic framing offsets, NUL-terminated UTF-8 names, 32-byte checksums) plus ostree's rules
// (valid names, strcmp order, no name both a file and a directory). The core hands out offsets
// into the buffer (visitDirTree), so a checkout can copy names and checksums into its plan
// without making a string of either.
import { isUtf8 } from "node:buffer";
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

/** Validates the name at b[start, strEnd) (NUL included) as ostree validates file names. */
function checkName(b: Buffer, start: number, strEnd: number): void {
  if (strEnd <= start || b[strEnd - 1] !== 0) fail("name without NUL terminator");
  const end = strEnd - 1;
  if (end === start) fail("empty name");
  let nul = false;
  let slash = false;
  let ascii = true;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c === 0) nul = true;
    else if (c === 0x2f) slash = true;
    else if (c > 0x7f) ascii = false;
  }
  if (nul) fail("name with embedded NUL");
  if (slash) fail("name contains '/'");
  if (end - start <= 2 && b[start] === 0x2e && (end - start === 1 || b[start + 1] === 0x2e))
    fail("name is . or ..");
  if (!ascii && !isUtf8(b.subarray(start, end))) fail("name is not valid UTF-8");
}

/**
 * strcmp of the bytes a[as, ae) and b[bs, be) (dirtree names, in one dirtree or two): negative,
 * zero or positive. (Buffer#compare would do, but validates its four offsets in JavaScript on every
 * call: a fifth to a quarter of a dirtree's parse.)
 */
export function compareBytes(a: Buffer, as: number, ae: number, b: Buffer, bs: number, be: number): number {
  const n = Math.min(ae - as, be - bs);
  for (let i = 0; i < n; i++) {
    const d = a[as + i]! - b[bs + i]!;
    if (d !== 0) return d;
  }
  return ae - as - (be - bs);
}

function checkChecksum(start: number, end: number): void {
  if (end - start !== 32) fail("checksum is not 32 bytes");
}

/** Receives a dirtree's entries as offsets into its bytes: names are b[name, nameEnd). */
export interface DirTreeVisitor {
  file(b: Buffer, name: number, nameEnd: number, csum: number): void;
  dir(b: Buffer, name: number, nameEnd: number, tree: number, meta: number): void;
}

/**
 * Validates a dirtree and visits its files, then its directories, in order. An invalid dirtree
 * throws, possibly after some entries were visited.
 */
export function visitDirTree(b: Buffer, v: DirTreeVisitor): void {
  const total = b.length;
  // The empty dirtree is a single 00 (the first array's end offset).
  const w = widthFor(total);
  if (total < w + 0 || total === 0) fail("truncated");
  const filesEnd = readOff(b, total - w, w);
  if (filesEnd > total - w) fail("tuple framing offset out of range");
  // Name ranges of the files, kept for the file-or-directory check.
  const fileNames: number[] = [];
  let start = 0;
  for (const end of elementEnds(b, 0, filesEnd)) {
    const ew = widthFor(end - start);
    if (end - start < ew) fail("file entry too small");
    const strEnd = start + readOff(b, end - ew, ew);
    if (strEnd > end - ew || strEnd <= start) fail("file entry offsets out of range");
    checkName(b, start, strEnd);
    const n = fileNames.length;
    if (n && compareBytes(b, fileNames[n - 2]!, fileNames[n - 1]!, b, start, strEnd - 1) >= 0)
      fail("files not sorted");
    fileNames.push(start, strEnd - 1);
    checkChecksum(strEnd, end - ew);
    v.file(b, start, strEnd - 1, strEnd);
    start = end;
  }
  start = filesEnd;
  let prevDir = -1;
  let prevDirEnd = -1;
  let fi = 0;
  for (const end of elementEnds(b, filesEnd, total - w)) {
    const ew = widthFor(end - start);
    if (end - start < 2 * ew) fail("directory entry too small");
    const strEnd = start + readOff(b, end - ew, ew);
    const treeEnd = start + readOff(b, end - 2 * ew, ew);
    if (strEnd <= start || strEnd > treeEnd || treeEnd > end - 2 * ew)
      fail("directory entry offsets out of range");
    checkName(b, start, strEnd);
    const nameEnd = strEnd - 1;
    if (prevDir >= 0 && compareBytes(b, prevDir, prevDirEnd, b, start, nameEnd) >= 0)
      fail("directories not sorted");
    prevDir = start;
    prevDirEnd = nameEnd;
    // Both arrays are sorted: one merge pass finds a name used as file and directory.
    while (
      fi < fileNames.length &&
      compareBytes(b, fileNames[fi]!, fileNames[fi + 1]!, b, start, nameEnd) < 0
    )
      fi += 2;
    if (fi < fileNames.length && compareBytes(b, fileNames[fi]!, fileNames[fi + 1]!, b, start, nameEnd) === 0)
      fail(`'${b.toString("utf8", start, nameEnd)}' is both a file and a directory`);
    checkChecksum(strEnd, treeEnd);
    checkChecksum(treeEnd, end - 2 * ew);
    v.dir(b, start, nameEnd, strEnd, treeEnd);
    start = end;
  }
}

/** Collects a dirtree's entries as strings. */
const collector = {
  tree: { files: [], dirs: [] } as DirTree,
  file(b: Buffer, name: number, nameEnd: number, csum: number): void {
    this.tree.files.push([b.toString("utf8", name, nameEnd), b.toString("hex", csum, csum + 32)]);
  },
  dir(b: Buffer, name: number, nameEnd: number, tree: number, meta: number): void {
    this.tree.dirs.push([
      b.toString("utf8", name, nameEnd),
      b.toString("hex", tree, tree + 32),
      b.toString("hex", meta, meta + 32),
    ]);
  },
};

export function readDirTree(b: Buffer): DirTree {
  const tree: DirTree = { files: [], dirs: [] };
  collector.tree = tree;
  visitDirTree(b, collector);
  return tree;
}
