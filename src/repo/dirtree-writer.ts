// A dedicated serializer for dirtree objects `(a(say)a(sayay))`, the hot path of writing trees:
// the bytes are laid out directly instead of through the generic codec (several times faster).
// Entries must already be sorted and valid; objects.ts's serializeDirTree sorts them first.
// Layout (GVariant normal form): files are "name\0" + 32-byte checksum + 1 offset (end of name);
// dirs are "name\0" + tree + meta + 2 offsets (end of tree checksum, end of name); each array
// ends with one offset per element; the tuple ends with the offset of the end of the files array.
import { offsetWidth } from "../gvariant/types.js";

export class DirTreeWriteError extends Error {
  override name = "DirTreeWriteError";
}

export function writeDirTree(files: [string, string][], dirs: [string, string, string][]): Buffer {
  // Upper bound: a UTF-16 code unit is at most 3 bytes of UTF-8, every offset at most 4 bytes (a
  // dirtree beyond 4 GiB is not representable anyway). Names are written straight into the
  // buffer: no Buffer per name.
  let cap = 8;
  for (const [n] of files) cap += n.length * 3 + 1 + 32 + 4 + 4;
  for (const [n] of dirs) cap += n.length * 3 + 1 + 64 + 8 + 4;
  const out = Buffer.allocUnsafe(cap);
  let pos = 0;

  const putOffset = (value: number, width: number) => {
    out.writeUIntLE(value, pos, width);
    pos += width;
  };
  const putChecksum = (hex: string) => {
    if (hex.length !== 64 || out.write(hex, pos, 32, "hex") !== 32)
      throw new DirTreeWriteError(`'${hex}' is not a sha256 checksum`);
    pos += 32;
  };

  const fileEnds: number[] = [];
  for (const [name, csum] of files) {
    const start = pos;
    pos += out.write(name, pos, "utf8");
    out[pos++] = 0;
    const nameEnd = pos - start;
    putChecksum(csum);
    putOffset(nameEnd, offsetWidth(pos - start, 1));
    fileEnds.push(pos);
  }
  const filesW = offsetWidth(pos, fileEnds.length);
  for (const e of fileEnds) putOffset(e, filesW);
  const filesEnd = pos;

  const dirEnds: number[] = [];
  for (const [name, tree, meta] of dirs) {
    const start = pos;
    pos += out.write(name, pos, "utf8");
    out[pos++] = 0;
    const nameEnd = pos - start;
    putChecksum(tree);
    const treeEnd = pos - start;
    putChecksum(meta);
    const w = offsetWidth(pos - start, 2);
    putOffset(treeEnd, w);
    putOffset(nameEnd, w);
    dirEnds.push(pos - filesEnd);
  }
  const dirsW = offsetWidth(pos - filesEnd, dirEnds.length);
  for (const e of dirEnds) putOffset(e, dirsW);

  putOffset(filesEnd, offsetWidth(pos, 1));
  return Buffer.from(out.subarray(0, pos));
}
