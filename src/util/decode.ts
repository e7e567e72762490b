// xz, lzma-alone and zstd decoding through the native decoder (native/decoder.c): a Transform for
// streams that may be gigabytes (package payloads, tar commits) and a whole-buffer form for indexes.
//
// Bounded memory needs output backpressure *within* one input chunk: 4 KiB of zstd or xz can expand to
// hundreds of MiB, and a stock stream wrapper pushes all of it at once. Here each step writes into one
// output buffer and the next step starts only while the reader wants more. Steps run on libuv's
// thread pool, so the JS thread hashes and writes what came out while the next megabyte is decoded.
import { Transform, type TransformCallback } from "node:stream";
import { Decoder, type DecoderKind, type DecoderOptions, type DecodeStep } from "./native.js";

export type { DecoderKind } from "./native.js";

/** Output of one step: large enough that a step's trip through the thread pool costs nothing. */
const STEP_OUT = 1 << 20;
/** Decoded bytes the readable side may hold: how far decoding runs ahead of a busy consumer. */
const READ_AHEAD = 4 << 20;
const EMPTY = Buffer.alloc(0);

/**
 * Decodes `kind` one bounded step at a time: at most one output buffer per step, no new step while
 * the reader has enough (resumed from `_read`), truncation and trailing garbage are errors, and
 * destroying the stream ends the decoder (at once, or when the step in flight completes).
 */
export class DecoderTransform extends Transform {
  private readonly decoder: Decoder;
  /** The chunk being decoded (EMPTY while flushing) and how much of it was consumed. */
  private input: Buffer | undefined;
  private offset = 0;
  /** The callback of the pending chunk or of the flush. */
  private done: TransformCallback | undefined;
  private finishing = false;
  private running = false;
  private ended = false;
  private out = Buffer.allocUnsafe(STEP_OUT);

  constructor(kind: DecoderKind, opts?: DecoderOptions) {
    super({ readableHighWaterMark: READ_AHEAD });
    this.decoder = new Decoder(kind, opts);
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.input = chunk;
    this.offset = 0;
    this.done = cb;
    this.pump();
  }

  override _flush(cb: TransformCallback): void {
    this.finishing = true;
    this.input = EMPTY;
    this.offset = 0;
    this.done = cb;
    this.pump();
  }

  override _read(size: number): void {
    if (this.input) this.pump();
    // Once the pending chunk is done, let Transform release the writer's callback it may hold back;
    // without this a _read that pushed nothing would leave both sides waiting.
    else super._read(size);
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    this.input = undefined;
    this.decoder.end();
    cb(err);
  }

  private pump(): void {
    if (this.running || !this.input || this.destroyed) return;
    const input = this.input;
    const out = this.out;
    this.running = true;
    this.decoder.step(input, this.offset, out, this.finishing, (err, r) => {
      this.running = false;
      if (this.destroyed) return;
      if (err || !r) return this.complete(err ?? new Error("decoder step failed"));
      this.offset += r.consumed;
      const more = r.produced > 0 ? this.push(this.handOver(r.produced)) : true;
      if (this.destroyed) return; // a 'data' listener may destroy us synchronously
      const rest = input.length - this.offset;
      const full = r.produced === out.length;
      const progress = r.consumed > 0 || r.produced > 0;
      if (r.end) {
        this.ended = this.finishing;
        return this.complete(null);
      }
      if (!progress && !full) {
        // Under `finish` the native side reports truncation itself; this is the safety net.
        if (this.finishing) return this.complete(new Error("compressed stream is truncated"));
        if (rest > 0) return this.complete(new Error("the decoder made no progress"));
      }
      // Out of input and nothing held back: wait for the next chunk.
      if (!this.finishing && rest === 0 && !full) return this.complete(null);
      if (more) this.pump();
      // else resumed by _read
    });
  }

  /** Hands over a mostly full output buffer; copies a small output so that the readable's memory
   * stays what its length says (a 1 MiB buffer behind every 10 KiB chunk would not). */
  private handOver(n: number): Buffer {
    if (n < this.out.length / 2) return Buffer.from(this.out.subarray(0, n));
    const b = this.out.subarray(0, n);
    this.out = Buffer.allocUnsafe(STEP_OUT);
    return b;
  }

  private complete(err: Error | null): void {
    const cb = this.done;
    this.input = undefined;
    this.done = undefined;
    if (this.finishing || err) this.decoder.end(); // liblzma's threads and buffers go now, not at GC
    if (!err && this.finishing && !this.ended) err = new Error("compressed stream is truncated");
    if (cb) cb(err);
    else if (err) this.destroy(err);
  }
}

/**
 * Decodes a whole buffer (repository indexes). Synchronous: indexes are small and read whole anyway.
 */
export function decodeBuffer(kind: DecoderKind, buf: Buffer, opts?: DecoderOptions): Buffer {
  const d = new Decoder(kind, opts);
  try {
    const out = new WholeOutput(buf.length);
    for (;;)
      if (out.add(buf, d.stepSync(buf, out.offset, out.room(), out.offset === buf.length))) return out.done();
  } finally {
    d.end();
  }
}

/** decodeBuffer with every step on libuv's thread pool: several buffers decode at once, off this thread. */
export async function decodeBufferAsync(
  kind: DecoderKind,
  buf: Buffer,
  opts?: DecoderOptions,
): Promise<Buffer> {
  const d = new Decoder(kind, opts);
  try {
    const out = new WholeOutput(buf.length);
    for (;;) {
      const r = await new Promise<DecodeStep>((resolve, reject) =>
        d.step(buf, out.offset, out.room(), out.offset === buf.length, (err, step) =>
          err || !step ? reject(err ?? new Error("decoder step returned nothing")) : resolve(step),
        ),
      );
      if (out.add(buf, r)) return out.done();
    }
  } finally {
    d.end();
  }
}

/** The growing output of a whole-buffer decode and where its input stands. */
class WholeOutput {
  private out: Buffer;
  private written = 0;
  offset = 0;

  constructor(inputLength: number) {
    this.out = Buffer.allocUnsafe(Math.max(64 * 1024, inputLength * 4));
  }

  /**
   * Where the next step writes. LZMA_FINISH is passed only once all input is in: given everything
   * at once with room for all the output, liblzma's threaded decoder works through the blocks one
   * at a time (measured).
   */
  room(): Buffer {
    if (this.written === this.out.length) {
      const bigger = Buffer.allocUnsafe(this.out.length * 2);
      this.out.copy(bigger, 0, 0, this.written);
      this.out = bigger;
    }
    return this.out.subarray(this.written);
  }

  /** Takes a step's result; true at the end of the stream. */
  add(input: Buffer, r: DecodeStep): boolean {
    this.offset += r.consumed;
    this.written += r.produced;
    if (r.end) return true;
    if (!r.consumed && !r.produced && this.written < this.out.length && this.offset === input.length)
      throw new Error("compressed stream is truncated");
    return false;
  }

  done(): Buffer {
    return this.out.subarray(0, this.written);
  }
}
