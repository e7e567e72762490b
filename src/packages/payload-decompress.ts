// Streaming decompression of package payloads (deb data.tar.*, rpm cpio payloads). Unlike the
// whole-buffer decompress.ts used for repository indexes, payloads can be gigabytes, so everything here
// is a Transform stream with bounded memory, plus a byte cap against decompression bombs.
//
// Bounded memory needs output backpressure *within* one input chunk: 4 KiB of zstd or xz can expand to
// hundreds of MiB, and the stock stream wrappers push all of it at once. zlib's Transform already waits
// for the reader; zstd and xz/lzma go through the native decoder one bounded step at a time on the
// thread pool (util/decode.ts), pausing whenever the reader has enough. bzip2 decodes one block (at
// most ~45 MiB even for pathological input) at a time.
import { createRequire } from "node:module";
import { pipeline, type Readable, Transform, type TransformCallback } from "node:stream";
import { createGunzip } from "node:zlib";
import { DecoderTransform } from "../util/decode.js";

/**
 * How much of a package file one read takes: page-cache reads of 64 KiB (Node's default) left the
 * importing thread waiting on a thread-pool round trip for every few dozen small files.
 */
export const READ_CHUNK = 1 << 20;

export type PayloadCompression = "gzip" | "xz" | "zstd" | "bzip2" | "lzma" | "none";

/** The compression a deb member name ends in ("data.tar.zst" → "zstd"), or undefined when unknown. */
export function compressionOfMember(name: string): PayloadCompression | undefined {
  const m = /\.tar(?:\.(gz|xz|zst|bz2|lzma))?$/.exec(name);
  if (!m) return undefined;
  const ext = m[1];
  if (ext === undefined) return "none";
  return ({ gz: "gzip", xz: "xz", zst: "zstd", bz2: "bzip2", lzma: "lzma" } as const)[ext];
}

/** The compression an rpm PAYLOADCOMPRESSOR tag names; rpm writes "gzip" when the tag is absent. */
export function compressionOfRpm(tag: string | undefined): PayloadCompression | undefined {
  switch (tag ?? "gzip") {
    case "gzip":
      return "gzip";
    case "xz":
      return "xz";
    case "zstd":
      return "zstd";
    case "bzip2":
      return "bzip2";
    case "lzma":
      return "lzma";
    case "identity":
    case "none":
      return "none";
    default:
      return undefined;
  }
}

/**
 * Below this compressed size xz is decoded on one thread: a .deb's control.tar, say, is one small
 * block, and liblzma's threaded decoder costs ~0.5 ms to start and end (on the JS thread). Bigger
 * streams keep it even with one block: it decodes ahead between our steps (measured faster for
 * libc6's 2.7 MB single-block data.tar.xz: 329 vs 356 ms for the strace set).
 */
const XZ_THREADED_MIN = 1 << 20;

/** A Transform that decompresses `kind`; `compressedSize`, when known, picks xz's threading. */
export function decompressor(kind: PayloadCompression, compressedSize = Number.POSITIVE_INFINITY): Transform {
  switch (kind) {
    case "gzip":
      return createGunzip();
    case "bzip2":
      return bunzip2Transform();
    case "xz":
      return new DecoderTransform(kind, compressedSize < XZ_THREADED_MIN ? { threads: 1 } : {});
    case "lzma":
    case "zstd":
      return new DecoderTransform(kind);
    case "none":
      return new Transform({ transform: (c, _e, cb) => cb(null, c) });
  }
}

/**
 * Passes bytes through and fails once more than `limit` went by: decompressed output is capped in
 * relation to the sizes the package declares, so a tiny archive cannot expand into the disk. The
 * limit may be lowered while bytes flow (a stream started before the declared sizes were read).
 */
export class ByteCap extends Transform {
  private seen = 0;
  constructor(
    public limit: number,
    private readonly what: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit)
      cb(new Error(`${this.what} expands beyond ${this.limit} bytes (decompression bomb?)`));
    else cb(null, chunk);
  }
}

export function byteCap(limit: number, what: string): ByteCap {
  return new ByteCap(limit, what);
}

/**
 * Piped source → transforms, as one Readable. Any stage's error surfaces on the result, and destroying
 * the result (a reader that stops early) closes the whole chain, file descriptor included.
 */
export function chain<T extends Readable = Readable>(source: Readable, ...stages: Transform[]): T {
  if (stages.length === 0) return source as T;
  const last = stages[stages.length - 1] as Transform;
  pipeline([source, ...stages], (err) => {
    // pipeline has already destroyed every stage with `err`; the reader sees it on `last`.
    if (err && !last.destroyed) last.destroy(err);
  });
  return last as unknown as T;
}

// --- bzip2: unbzip2-stream is a CommonJS "through" stream without types; adapt it to a Transform.

type ThroughStream = NodeJS.ReadWriteStream & { on(ev: string, fn: (...a: unknown[]) => void): unknown };

function bunzip2Transform(): Transform {
  const require = createRequire(import.meta.url);
  const make = require("unbzip2-stream") as () => ThroughStream;
  const inner = make();
  let finish: TransformCallback | undefined;
  const t = new Transform({
    transform(chunk: Buffer, _e, cb) {
      try {
        inner.write(chunk);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb) {
      finish = cb;
      try {
        inner.end();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
  inner.on("data", (d) => t.push(d as Buffer));
  inner.on("error", (e) => t.destroy(e instanceof Error ? e : new Error(String(e))));
  inner.on("end", () => finish?.());
  return t;
}
