// tar members of a .deb (control.tar and data.tar) as package files. tar-stream does the header
// parsing and checksum validation; this maps headers onto the package model.
import type { Readable } from "node:stream";
import { type Header, extract as tarExtract } from "tar-stream";
import type { PackageFile } from "../../src/packages/model.js";
import { treePath, UnsafePathError } from "../../src/packages/payload-guard.js";

export interface TarItem {
  header: Header;
  body: AsyncIterator<Buffer>;
}

/**
 * Yields the entries of the tar stream `src` in order. The previous entry's body must be fully consumed
 * before asking for the next one (tar is sequential).
 */
export async function* tarItems(src: Readable): AsyncGenerator<TarItem> {
  // A stream that failed before anyone listened (decompression started early) will emit no more.
  if (src.errored) throw src.errored;
  if (src.destroyed) throw new Error("the archive stream was closed");
  const extract = tarExtract();
  src.on("error", (e) => extract.destroy(e));
  src.pipe(extract);
  try {
    for await (const entry of extract)
      yield { header: entry.header, body: entry[Symbol.asyncIterator]() as AsyncIterator<Buffer> };
  } finally {
    src.unpipe(extract);
    src.destroy();
    extract.destroy();
  }
}

/** Reads a small body completely, refusing more than `cap` bytes. */
export async function readBody(body: AsyncIterator<Buffer>, cap: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for (;;) {
    const r = await body.next();
    if (r.done) return Buffer.concat(parts);
    n += r.value.length;
    if (n > cap) throw new Error(`${what} is larger than ${cap} bytes`);
    parts.push(r.value);
  }
}

/** Maps a data.tar header onto a PackageFile. Device nodes are refused, fifos recorded as special. */
export function tarHeaderToFile(h: Header): PackageFile {
  const path = treePath(h.name);
  const base = {
    path,
    mode: (h.mode ?? 0) & 0o7777,
    user: h.uname || String(h.uid ?? 0),
    group: h.gname || String(h.gid ?? 0),
    uid: h.uid ?? 0,
    gid: h.gid ?? 0,
    mtime: h.mtime ? Math.floor(h.mtime.getTime() / 1000) : undefined,
  };
  switch (h.type) {
    case "file":
    case "contiguous-file":
      return { ...base, type: "file", size: h.size ?? 0 };
    case "directory":
      return { ...base, type: "dir", size: 0 };
    case "symlink":
      if (!h.linkname) throw new UnsafePathError("symlink without a target");
      return { ...base, type: "symlink", size: 0, linkTarget: h.linkname };
    case "link":
      if (!h.linkname) throw new UnsafePathError("hardlink without a target");
      return { ...base, type: "hardlink", size: 0, linkTarget: treePath(h.linkname) };
    case "fifo":
      return { ...base, type: "file", size: 0, special: "fifo" };
    case "character-device":
    case "block-device":
      throw new UnsafePathError(`is a ${h.type.replace("-", " ")} node; packages may not ship device nodes`);
    default:
      throw new UnsafePathError(`has unsupported tar entry type ${h.type}`);
  }
}
