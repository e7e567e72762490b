// Whole-buffer decompression of repository indexes, by file suffix or magic bytes. Indexes are read
// into one buffer anyway (the Packages index is queried in place), so no stream plumbing is needed.
import { createRequire } from "node:module";
import { gunzipSync } from "node:zlib";
import { decodeBuffer } from "../util/decode.js";

export type Compression = "gz" | "xz" | "bz2" | "zst" | "lz4" | "none";

export class DecompressError extends Error {
  override name = "DecompressError";
}

/** The compression a file name suffix names ("Packages.xz" → "xz"). */
export function compressionOf(path: string): Compression {
  const m = /\.(gz|xz|bz2|zst|lz4)$/.exec(path);
  return m ? (m[1] as Compression) : "none";
}

/** Guesses from magic bytes; used for apt's own list files, whose names may not tell. */
export function sniffCompression(buf: Buffer): Compression {
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return "gz";
  if (buf.length >= 6 && buf.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])))
    return "xz";
  if (buf.length >= 3 && buf.toString("latin1", 0, 3) === "BZh") return "bz2";
  if (buf.length >= 4 && buf.readUInt32LE(0) === 0xfd2fb528) return "zst";
  if (buf.length >= 4 && buf.readUInt32LE(0) === 0x184d2204) return "lz4";
  return "none";
}

export async function decompress(buf: Buffer, kind: Compression, what: string): Promise<Buffer> {
  try {
    switch (kind) {
      case "none":
        return buf;
      case "gz":
        return gunzipSync(buf);
      case "xz":
        return decodeBuffer("xz", buf);
      case "zst":
        return decodeBuffer("zstd", buf);
      case "lz4":
        return lz4FrameDecode(buf);
      case "bz2":
        return await bunzip(buf);
    }
  } catch (e) {
    if (e instanceof DecompressError) throw e;
    throw new DecompressError(
      `${what}: cannot decompress (${kind}): ${(e as Error).message}; the file is truncated or corrupt, refresh the metadata`,
    );
  }
}

async function bunzip(buf: Buffer): Promise<Buffer> {
  // unbzip2-stream is CommonJS without types.
  const require = createRequire(import.meta.url);
  const bz2 = require("unbzip2-stream") as () => NodeJS.ReadWriteStream;
  const s = bz2();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("end", () => resolve(Buffer.concat(chunks)));
    s.on("error", reject);
    s.end(buf);
  });
}

/**
 * LZ4 frame format (what apt keeps in /var/lib/apt/lists with Acquire::GzipIndexes). Checksums are
 * not verified here: the caller verifies the decompressed content's SHA256 against Release.
 */
export function lz4FrameDecode(src: Buffer): Buffer {
  // Blocks are decoded straight into one growing output buffer: linked blocks may copy from up to
  // 64 KiB back, which then is simply earlier output, and nothing is copied twice.
  let out = Buffer.allocUnsafe(Math.max(1 << 20, src.length * 3));
  let dp = 0;
  let pos = 0;
  const reserve = (n: number) => {
    if (dp + n <= out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(out.length * 2, dp + n));
    out.copy(bigger, 0, 0, dp);
    out = bigger;
  };
  while (pos < src.length) {
    const magic = src.readUInt32LE(pos);
    if (magic >= 0x184d2a50 && magic <= 0x184d2a5f) {
      pos += 8 + src.readUInt32LE(pos + 4); // skippable frame
      continue;
    }
    if (magic !== 0x184d2204) throw new DecompressError(`lz4: bad frame magic at ${pos}`);
    const flg = src[pos + 4];
    const bd = src[pos + 5];
    const blockChecksum = (flg & 0x10) !== 0;
    const contentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const dictId = (flg & 0x01) !== 0;
    const maxBlock = 1 << (2 * ((bd >> 4) & 7) + 8);
    pos += 6 + (contentSize ? 8 : 0) + (dictId ? 4 : 0) + 1;
    for (;;) {
      if (pos + 4 > src.length) throw new DecompressError("lz4: truncated frame");
      const bsize = src.readUInt32LE(pos);
      pos += 4;
      if (bsize === 0) break;
      const size = bsize & 0x7fffffff;
      if (pos + size > src.length) throw new DecompressError("lz4: truncated block");
      reserve(Math.max(size, maxBlock));
      if (bsize & 0x80000000) {
        src.copy(out, dp, pos, pos + size);
        dp += size;
      } else dp = lz4BlockDecode(src, pos, pos + size, out, dp, dp + maxBlock);
      pos += size + (blockChecksum ? 4 : 0);
    }
    if (contentChecksum) pos += 4;
  }
  return out.subarray(0, dp);
}

function lz4BlockDecode(
  src: Buffer,
  sp: number,
  send: number,
  dst: Buffer,
  dp: number,
  limit: number,
): number {
  while (sp < send) {
    const token = src[sp++];
    let lit = token >> 4;
    if (lit === 15) {
      let b: number;
      do {
        b = src[sp++];
        lit += b;
      } while (b === 255);
    }
    if (dp + lit > limit) throw new DecompressError("lz4: block exceeds its declared size");
    src.copy(dst, dp, sp, sp + lit);
    sp += lit;
    dp += lit;
    if (sp >= send) break;
    const offset = src[sp] | (src[sp + 1] << 8);
    sp += 2;
    let mlen = token & 15;
    if (mlen === 15) {
      let b: number;
      do {
        b = src[sp++];
        mlen += b;
      } while (b === 255);
    }
    mlen += 4;
    let from = dp - offset;
    if (offset === 0 || from < 0) throw new DecompressError("lz4: bad match offset");
    if (dp + mlen > limit) throw new DecompressError("lz4: block exceeds its declared size");
    if (offset >= mlen) {
      dst.copy(dst, dp, from, from + mlen);
      dp += mlen;
    } else {
      for (let k = 0; k < mlen; k++) dst[dp++] = dst[from++];
    }
  }
  return dp;
}
