// Streaming decompression of package payloads (deb data.tar.*, rpm cpio payloads). Unlike the
// whole-buffer decompress.ts used for repository indexes, payloads can be gigabytes, so everything here
// is a Transform stream with bounded memory, plus a byte cap against decompression bombs.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { type Readable, Transform, type TransformCallback } from "node:stream";
import { createGunzip } from "node:zlib";
import { createUnxz } from "node-liblzma";
import { DecompressStream } from "zstd-napi";

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

/** A Transform that decompresses `kind`. Call {@link prepareDecompression} once before using "lzma". */
export function decompressor(kind: PayloadCompression): Transform {
  switch (kind) {
    case "gzip":
      return createGunzip();
    case "xz":
      return createUnxz() as unknown as Transform;
    case "zstd":
      return new DecompressStream();
    case "bzip2":
      return bunzip2Transform();
    case "lzma":
      return new LzmaAloneTransform();
    case "none":
      return new Transform({ transform: (c, _e, cb) => cb(null, c) });
  }
}

/** Loads what a decompressor needs asynchronously (the lzma-alone decoder is WebAssembly). */
export async function prepareDecompression(kind: PayloadCompression): Promise<void> {
  if (kind === "lzma") await loadLzmaWasm();
}

/**
 * Passes bytes through and fails once more than `limit` went by: decompressed output is capped in
 * relation to the sizes the package declares, so a tiny archive cannot expand into the disk.
 */
export function byteCap(limit: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > limit) cb(new Error(`${what} expands beyond ${limit} bytes (decompression bomb?)`));
      else cb(null, chunk);
    },
  });
}

/** Piped source → transforms, as one Readable; any stage's error surfaces on the result. */
export function chain(source: Readable, ...stages: Transform[]): Readable {
  let cur: Readable = source;
  for (const st of stages) {
    cur.on("error", (e) => st.destroy(e));
    cur = cur.pipe(st);
  }
  return cur;
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

// --- lzma-alone (".lzma", rpm "w.lzdio" and old deb data.tar.lzma). node-liblzma's native binding only
// decodes .xz, but its WebAssembly build exports lzma_auto_decoder, which also takes the legacy format.

interface LzmaWasm {
  _malloc(n: number): number;
  _free(p: number): void;
  _lzma_auto_decoder(strm: number, memlimitLo: number, memlimitHi: number, flags: number): number;
  _lzma_code(strm: number, action: number): number;
  _lzma_end(strm: number): void;
  HEAPU8: Uint8Array;
  getValue(ptr: number, type: string): number;
  setValue(ptr: number, v: number, type: string): void;
}

let lzmaWasm: LzmaWasm | undefined;

async function loadLzmaWasm(): Promise<LzmaWasm> {
  if (lzmaWasm) return lzmaWasm;
  // The package's own loader fetches the .wasm by URL, which Node's fetch cannot do for file:// URLs;
  // hand Emscripten the bytes instead.
  const require = createRequire(import.meta.url);
  const glue = require.resolve("node-liblzma/wasm/liblzma.js");
  const wasmBinary = readFileSync(glue.replace(/liblzma\.js$/, "liblzma.wasm"));
  const mod = (await import("node-liblzma/wasm/liblzma.js")) as {
    default: (o: { wasmBinary: Buffer }) => Promise<LzmaWasm>;
  };
  lzmaWasm = await mod.default({ wasmBinary });
  return lzmaWasm;
}

// lzma_stream layout on wasm32: next_in, avail_in, total_in(u64), next_out, avail_out, total_out(u64), ...
const STREAM_SIZE = 128;
const OFF_NEXT_IN = 0;
const OFF_AVAIL_IN = 4;
const OFF_NEXT_OUT = 16;
const OFF_AVAIL_OUT = 20;
const LZMA_OK = 0;
const LZMA_STREAM_END = 1;
const LZMA_RUN = 0;
const LZMA_FINISH = 3;
const OUT_SIZE = 256 * 1024;

class LzmaAloneTransform extends Transform {
  private m: LzmaWasm | undefined;
  private strm = 0;
  private outBuf = 0;
  private ended = false;

  private init(): LzmaWasm {
    if (this.m) return this.m;
    if (!lzmaWasm) throw new Error("lzma decoder not loaded (prepareDecompression was not called)");
    const m = lzmaWasm;
    this.strm = m._malloc(STREAM_SIZE);
    m.HEAPU8.fill(0, this.strm, this.strm + STREAM_SIZE);
    this.outBuf = m._malloc(OUT_SIZE);
    // 256 MiB memory limit: far above what any real lzma dictionary needs, below what hurts the host.
    const rc = m._lzma_auto_decoder(this.strm, 256 * 1024 * 1024, 0, 0);
    if (rc !== LZMA_OK) throw new Error(`lzma decoder init failed (${rc})`);
    this.m = m;
    return m;
  }

  private run(input: Buffer, action: number): void {
    const m = this.init();
    const inPtr = input.length ? m._malloc(input.length) : 0;
    try {
      if (input.length) m.HEAPU8.set(input, inPtr);
      m.setValue(this.strm + OFF_NEXT_IN, inPtr, "i32");
      m.setValue(this.strm + OFF_AVAIL_IN, input.length, "i32");
      for (;;) {
        if (this.ended) {
          if (m.getValue(this.strm + OFF_AVAIL_IN, "i32") > 0) throw new Error("trailing data after lzma stream");
          return;
        }
        m.setValue(this.strm + OFF_NEXT_OUT, this.outBuf, "i32");
        m.setValue(this.strm + OFF_AVAIL_OUT, OUT_SIZE, "i32");
        const rc = m._lzma_code(this.strm, action);
        const produced = OUT_SIZE - m.getValue(this.strm + OFF_AVAIL_OUT, "i32");
        if (produced > 0) this.push(Buffer.from(m.HEAPU8.subarray(this.outBuf, this.outBuf + produced)));
        if (rc === LZMA_STREAM_END) {
          this.ended = true;
          continue;
        }
        if (rc !== LZMA_OK) throw new Error(`lzma data is corrupt (liblzma error ${rc})`);
        const availIn = m.getValue(this.strm + OFF_AVAIL_IN, "i32");
        if (action === LZMA_RUN && availIn === 0 && produced < OUT_SIZE) return;
        if (action === LZMA_FINISH && produced === 0 && availIn === 0) throw new Error("lzma stream is truncated");
      }
    } finally {
      if (inPtr) m._free(inPtr);
    }
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    try {
      this.run(chunk, LZMA_RUN);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      if (!this.ended) this.run(Buffer.alloc(0), LZMA_FINISH);
      if (!this.ended) throw new Error("lzma stream is truncated");
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    if (this.m) {
      this.m._lzma_end(this.strm);
      this.m._free(this.strm);
      this.m._free(this.outBuf);
      this.m = undefined;
    }
    cb(err);
  }
}
