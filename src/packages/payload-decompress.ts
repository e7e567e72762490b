// Streaming decompression of package payloads (deb data.tar.*, rpm cpio payloads). Unlike the
// whole-buffer decompress.ts used for repository indexes, payloads can be gigabytes, so everything here
// is a Transform stream with bounded memory, plus a byte cap against decompression bombs.
//
// Bounded memory needs output backpressure *within* one input chunk: 4 KiB of zstd or xz can expand to
// hundreds of MiB, and the stock stream wrappers push all of it at once. zlib's Transform already waits
// for the reader; zstd and xz/lzma are driven here step by step (PumpTransform), pausing whenever the
// reader has enough. bzip2 decodes one block (at most ~45 MiB even for pathological input) at a time.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pipeline, type Readable, Transform, type TransformCallback } from "node:stream";
import { createGunzip } from "node:zlib";

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

/** A Transform that decompresses `kind`. Call {@link prepareDecompression} once before using it. */
export function decompressor(kind: PayloadCompression): Transform {
  switch (kind) {
    case "gzip":
      return createGunzip();
    case "zstd":
      return new ZstdTransform();
    case "bzip2":
      return bunzip2Transform();
    case "xz":
    case "lzma":
      return new LzmaTransform();
    case "none":
      return new Transform({ transform: (c, _e, cb) => cb(null, c) });
  }
}

/** Loads what a decompressor needs asynchronously (the lzma-alone decoder is WebAssembly). */
export async function prepareDecompression(kind: PayloadCompression): Promise<void> {
  if (kind === "lzma" || kind === "xz") await loadLzmaWasm();
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

/**
 * Piped source → transforms, as one Readable. Any stage's error surfaces on the result, and destroying
 * the result (a reader that stops early) closes the whole chain, file descriptor included.
 */
export function chain(source: Readable, ...stages: Transform[]): Readable {
  if (stages.length === 0) return source;
  const last = stages[stages.length - 1];
  pipeline([source, ...stages], (err) => {
    // pipeline has already destroyed every stage with `err`; the reader sees it on `last`.
    if (err && !last.destroyed) last.destroy(err);
  });
  return last;
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

/**
 * A Transform driven one bounded step at a time: `step` consumes some input and produces at most one
 * output buffer. When the reader's buffer is full the pump stops and resumes from `_read`, so output
 * never piles up, however much one input chunk expands.
 */
abstract class PumpTransform extends Transform {
  private input: Buffer | undefined;
  private done: TransformCallback | undefined;
  private finishing = false;
  private flushed: TransformCallback | undefined;

  /** Decodes from `input`; returns the bytes consumed and produced (`end` when the stream ended). */
  protected abstract step(input: Buffer, finish: boolean): { consumed: number; out?: Buffer; end?: boolean };
  /** Called once all input was given and drained; throws when the compressed stream was cut short. */
  protected abstract checkEnd(): void;

  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.input = chunk;
    this.done = cb;
    this.pump();
  }

  override _flush(cb: TransformCallback): void {
    this.finishing = true;
    this.input = Buffer.alloc(0);
    this.flushed = cb;
    this.pump();
  }

  override _read(size: number): void {
    if (this.input) this.pump();
    // Once the pending chunk is done, let Transform release the writer's callback it may hold back;
    // without this a _read that pushed nothing would leave both sides waiting.
    if (!this.input) super._read(size);
  }

  private pump(): void {
    try {
      while (this.input) {
        const { consumed, out, end } = this.step(this.input, this.finishing);
        this.input = this.input.subarray(consumed);
        const more = out && out.length > 0 ? this.push(out) : true;
        const progress = consumed > 0 || (out !== undefined && out.length > 0);
        if (
          end ||
          (this.input.length === 0 && !progress) ||
          (!this.finishing && this.input.length === 0 && !out)
        ) {
          this.input = undefined;
          if (this.finishing) {
            this.checkEnd();
            this.flushed?.();
          } else this.done?.();
          return;
        }
        if (!more) return; // resumed by _read
      }
    } catch (e) {
      this.input = undefined;
      const cb = this.finishing ? this.flushed : this.done;
      if (cb) cb(e as Error);
      else this.destroy(e as Error);
    }
  }
}

// --- zstd through zstd-napi's low-level context, one ZSTD_decompressStream call per step.

interface ZstdDCtx {
  decompressStream(dst: Uint8Array, src: Uint8Array): [number, number, number];
}

class ZstdTransform extends PumpTransform {
  private readonly dctx: ZstdDCtx;
  private readonly outSize: number;
  /** ZSTD_decompressStream's hint: 0 once a frame is complete. */
  private hint = 0;
  private started = false;

  constructor() {
    super();
    const require = createRequire(import.meta.url);
    const binding = require("zstd-napi/binding") as { DCtx: new () => ZstdDCtx; dStreamOutSize(): number };
    this.dctx = new binding.DCtx();
    this.outSize = binding.dStreamOutSize();
  }

  protected step(input: Buffer): { consumed: number; out?: Buffer } {
    if (input.length) this.started = true;
    const out = Buffer.allocUnsafe(this.outSize);
    const [hint, produced, consumed] = this.dctx.decompressStream(out, input);
    // An idle call (nothing in, nothing out) reports the next frame's header size; keep the last real hint.
    if (consumed > 0 || produced > 0) this.hint = hint;
    return { consumed, out: produced ? out.subarray(0, produced) : undefined };
  }

  protected checkEnd(): void {
    if (!this.started) throw new Error("zstd stream is empty");
    if (this.hint !== 0) throw new Error("zstd stream is truncated");
  }
}

// --- xz and lzma-alone (".lzma", rpm "w.lzdio", old deb data.tar.lzma). node-liblzma's native binding
// only decodes .xz, and pushes a whole chunk's output at once; its WebAssembly build exports
// lzma_auto_decoder, which takes both formats and lets us run lzma_code one bounded step at a time.

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
const LZMA_CONCATENATED = 0x08;
const OUT_SIZE = 128 * 1024;
const IN_SIZE = 64 * 1024;

class LzmaTransform extends PumpTransform {
  private readonly m: LzmaWasm;
  private readonly strm: number;
  private readonly outBuf: number;
  private readonly inBuf: number;
  private ended = false;
  private freed = false;
  private lastFull = false;

  constructor() {
    super();
    if (!lzmaWasm) throw new Error("lzma decoder not loaded (prepareDecompression was not called)");
    const m = lzmaWasm;
    this.m = m;
    this.strm = m._malloc(STREAM_SIZE);
    m.HEAPU8.fill(0, this.strm, this.strm + STREAM_SIZE);
    this.outBuf = m._malloc(OUT_SIZE);
    this.inBuf = m._malloc(IN_SIZE);
    // 256 MiB memory limit: far above what real xz/lzma dictionaries need, below what hurts the host.
    // CONCATENATED: xz files may hold several streams, as xz(1) accepts.
    const rc = m._lzma_auto_decoder(this.strm, 256 * 1024 * 1024, 0, LZMA_CONCATENATED);
    if (rc !== LZMA_OK) throw new Error(`lzma decoder init failed (${rc})`);
  }

  protected step(input: Buffer, finish: boolean): { consumed: number; out?: Buffer; end?: boolean } {
    if (this.ended) {
      if (input.length) throw new Error("trailing data after the compressed stream");
      return { consumed: 0, end: true };
    }
    const m = this.m;
    const n = Math.min(input.length, IN_SIZE);
    // Out of input mid-stream: only call liblzma again if the last step filled the output buffer
    // (it may hold more); otherwise wait for the next chunk.
    if (n === 0 && !finish && !this.lastFull) return { consumed: 0 };
    m.HEAPU8.set(input.subarray(0, n), this.inBuf);
    m.setValue(this.strm + OFF_NEXT_IN, this.inBuf, "i32");
    m.setValue(this.strm + OFF_AVAIL_IN, n, "i32");
    m.setValue(this.strm + OFF_NEXT_OUT, this.outBuf, "i32");
    m.setValue(this.strm + OFF_AVAIL_OUT, OUT_SIZE, "i32");
    const rc = m._lzma_code(this.strm, finish && n === input.length ? LZMA_FINISH : LZMA_RUN);
    const consumed = n - m.getValue(this.strm + OFF_AVAIL_IN, "i32");
    const produced = OUT_SIZE - m.getValue(this.strm + OFF_AVAIL_OUT, "i32");
    const out = produced ? Buffer.from(m.HEAPU8.subarray(this.outBuf, this.outBuf + produced)) : undefined;
    this.lastFull = produced === OUT_SIZE;
    if (rc === LZMA_STREAM_END) {
      this.ended = true;
      if (input.length > consumed) throw new Error("trailing data after the compressed stream");
      return { consumed, out, end: finish };
    }
    if (rc !== LZMA_OK) throw new Error(`compressed data is corrupt (liblzma error ${rc})`);
    return { consumed, out };
  }

  protected checkEnd(): void {
    if (!this.ended) throw new Error("compressed stream is truncated");
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    if (!this.freed) {
      this.freed = true;
      this.m._lzma_end(this.strm);
      this.m._free(this.strm);
      this.m._free(this.outBuf);
      this.m._free(this.inBuf);
    }
    cb(err);
  }
}
