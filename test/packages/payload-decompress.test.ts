// The payload decompressors against the real xz and zstd: round trips (multi-block xz decoded on
// liblzma's threads, lzma-alone, concatenated streams), truncation, corruption, trailing garbage,
// bombs (bounded buffering, byteCap), and destroying a stream while a native step is in flight.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createReadStream, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  byteCap,
  chain,
  decompressor,
  type PayloadCompression,
} from "../../src/packages/payload-decompress.js";
import { type DecoderKind, decodeBuffer } from "../../src/util/decode.js";
import { Decoder, type DecodeStep } from "../../src/util/native.js";
import { haveTools, scratch, sh } from "../helpers.js";

/** ~12 MiB that compresses like real files: text runs with incompressible stretches between. */
function sampleInput(): Buffer {
  const parts: Buffer[] = [];
  let seed = 1;
  const random = (n: number) => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      b[i] = seed >>> 24;
    }
    return b;
  };
  for (let i = 0; i < 48; i++) {
    const lines: string[] = [];
    for (let j = 0; j < 4000; j++) lines.push(`block ${i} line ${j}: ${(i * 7919 + j * 104729) % 99991}\n`);
    parts.push(Buffer.from(lines.join("")), random(64 * 1024));
  }
  return Buffer.concat(parts);
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Compresses `input` with a real tool, e.g. compress(dir, "a", data, "xz -T2 --block-size=1MiB"). */
function compress(dir: string, name: string, input: Buffer, command: string): string {
  const src = join(dir, `${name}.raw`);
  const out = join(dir, name);
  writeFileSync(src, input);
  sh("sh", ["-c", `${command} -c < '${src}' > '${out}'`]);
  return out;
}

async function drain(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Decodes a file, or bytes (fed in 64 KiB chunks), through decompressor(kind). */
function decodeStream(kind: PayloadCompression, input: string | Buffer): Readable {
  const path = typeof input === "string" ? input : undefined;
  const source = path ? createReadStream(path) : chunked(input as Buffer);
  return chain(source, decompressor(kind));
}

function chunked(b: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < b.length; i += 65536) chunks.push(b.subarray(i, i + 65536));
  return Readable.from(chunks, { objectMode: false });
}

const FORMATS: { kind: PayloadCompression; name: string; command: string }[] = [
  { kind: "xz", name: "plain.xz", command: "xz -6" },
  { kind: "xz", name: "blocks.xz", command: "xz -6 -T2 --block-size=1MiB" },
  { kind: "lzma", name: "alone.lzma", command: "xz --format=lzma" },
  { kind: "zstd", name: "frame.zst", command: "zstd -q -3" },
];

test("round trips through the real xz, xz --format=lzma and zstd are byte-identical", async (t) => {
  if (!haveTools(t, "xz", "zstd")) return;
  const dir = scratch(t);
  const input = sampleInput();
  for (const f of FORMATS) {
    const file = compress(dir, f.name, input, f.command);
    const out = await drain(decodeStream(f.kind, file));
    assert.equal(out.length, input.length, f.name);
    assert.equal(sha(out), sha(input), f.name);
    // The whole-buffer form (indexes) decodes the same.
    const whole = decodeBuffer(f.kind as DecoderKind, readFileSync(file));
    assert.equal(sha(whole), sha(input), `${f.name} as one buffer`);
    assert.throws(
      () => decodeBuffer(f.kind as DecoderKind, readFileSync(file).subarray(0, 5000)),
      /truncated/,
    );
  }
  // The multi-threaded decoder only splits work between blocks; make sure the file has them.
  const list = sh("xz", ["--robot", "--list", join(dir, "blocks.xz")]);
  const blocks = Number(/^totals\t\d+\t(\d+)/m.exec(list)?.[1]);
  assert.ok(blocks > 4, `expected several blocks, xz --list says ${blocks}`);
});

test("concatenated xz streams and zstd frames decode as one, as xz(1) and zstd(1) do", async (t) => {
  if (!haveTools(t, "xz", "zstd")) return;
  const dir = scratch(t);
  const a = Buffer.from("first stream\n".repeat(1000));
  const b = sampleInput().subarray(0, 3 << 20);
  for (const [kind, command] of [
    ["xz", "xz"],
    ["xz", "xz -T2 --block-size=512KiB"],
    ["zstd", "zstd -q"],
  ] as const) {
    const both = Buffer.concat([
      readFileSync(compress(dir, "a", a, command)),
      readFileSync(compress(dir, "b", b, command)),
    ]);
    const out = await drain(decodeStream(kind, both));
    assert.equal(sha(out), sha(Buffer.concat([a, b])), command);
  }
});

test("truncated input fails at every cut, never ends quietly", async (t) => {
  if (!haveTools(t, "xz", "zstd")) return;
  const dir = scratch(t);
  const input = sampleInput().subarray(0, 4 << 20);
  for (const f of FORMATS) {
    const whole = readFileSync(compress(dir, f.name, input, f.command));
    for (const cut of [0, 1, 13, whole.length >> 1, whole.length - 20, whole.length - 1]) {
      await assert.rejects(
        drain(decodeStream(f.kind, whole.subarray(0, cut))),
        /truncated|empty|corrupt|unexpected end/,
        `${f.name} cut at ${cut}`,
      );
    }
  }
});

test("a flipped byte is corrupt data (xz: CRC64, zstd: content checksum)", async (t) => {
  if (!haveTools(t, "xz", "zstd")) return;
  const dir = scratch(t);
  const input = sampleInput().subarray(0, 2 << 20);
  // lzma-alone has no integrity check: a flipped byte may decode to other bytes; not tested here.
  for (const f of FORMATS.filter((x) => x.kind !== "lzma")) {
    const whole = readFileSync(compress(dir, f.name, input, f.command));
    for (const at of [whole.length >> 2, whole.length >> 1, whole.length - 12]) {
      const bad = Buffer.from(whole);
      bad[at] ^= 0x10;
      await assert.rejects(drain(decodeStream(f.kind, bad)), /corrupt|checksum|error/i, `${f.name} @${at}`);
    }
  }
});

test("trailing garbage after the compressed stream is refused", async (t) => {
  if (!haveTools(t, "xz", "zstd")) return;
  const dir = scratch(t);
  const input = Buffer.from("payload\n".repeat(5000));
  const garbage = Buffer.from("this is not a compressed stream");
  for (const f of FORMATS) {
    const whole = readFileSync(compress(dir, f.name, input, f.command));
    await assert.rejects(
      drain(decodeStream(f.kind, Buffer.concat([whole, garbage]))),
      /trailing|corrupt|unknown frame/i,
      f.name,
    );
  }
});

test("a 200 MiB bomb is decoded with a few MiB buffered and stopped by byteCap", async (t) => {
  if (!haveTools(t, "xz", "zstd")) return;
  const dir = scratch(t);
  const zeros = join(dir, "zeros");
  sh("sh", ["-c", `head -c 200M /dev/zero > '${zeros}'`]);
  for (const [kind, command] of [
    ["xz", "xz -T2"],
    ["zstd", "zstd -q -19"],
  ] as const) {
    const bomb = join(dir, `bomb.${kind}`);
    sh("sh", ["-c", `${command} -c < '${zeros}' > '${bomb}'`]);
    const decoder = decompressor(kind);
    const cap = byteCap(64 << 20, "bomb");
    const stream = chain(createReadStream(bomb), decoder, cap);
    let buffered = 0;
    let seen = 0;
    const read = (async () => {
      for await (const c of stream) {
        seen += (c as Buffer).length;
        buffered = Math.max(buffered, decoder.readableLength + cap.readableLength);
        await sleep(1); // a slow consumer: decoding must wait for it, not pile up output
      }
    })();
    await assert.rejects(read, /decompression bomb/, kind);
    assert.ok(seen <= 64 << 20, `${kind}: ${seen} bytes got past the cap`);
    assert.ok(buffered < 8 << 20, `${kind}: ${buffered} bytes buffered at once`);
  }
});

test("destroying a stream mid-decode frees the decoder, also with a step in flight", async (t) => {
  if (!haveTools(t, "xz", "zstd")) return;
  const dir = scratch(t);
  const input = sampleInput();
  for (const f of FORMATS) {
    const file = compress(dir, f.name, input, f.command);
    // Right after the first output: the next step is usually running on the thread pool.
    for (const after of [0, 1, 3]) {
      const s = decodeStream(f.kind, file);
      let n = 0;
      const errors: Error[] = [];
      s.on("error", (e) => errors.push(e));
      await new Promise<void>((resolve) => {
        s.on("data", () => {
          if (n++ === after) {
            s.destroy();
            resolve();
          }
        });
      });
      await sleep(20); // let the step in flight complete into a destroyed stream
      assert.deepEqual(errors, [], `${f.name}: destroy is not an error`);
    }
    // Before any input arrived.
    decompressor(f.kind).destroy();
  }
  // The decoders still work afterwards.
  const file = compress(dir, "again.xz", input, "xz -T2 --block-size=1MiB");
  assert.equal(sha(await drain(decodeStream("xz", file))), sha(input));
});

test("a native decoder runs one step at a time, and end() during a step waits for it", async (t) => {
  if (!haveTools(t, "xz")) return;
  const dir = scratch(t);
  const input = sampleInput();
  const file = readFileSync(compress(dir, "one.xz", input, "xz -T2 --block-size=1MiB"));
  const d = new Decoder("xz");
  const out = Buffer.allocUnsafe(1 << 20);
  const first = new Promise<DecodeStep>((resolve, reject) =>
    d.step(file, 0, out, false, (err, r) => (err ? reject(err) : resolve(r!))),
  );
  assert.throws(() => d.step(file, 0, out, false, () => {}), /already running/);
  assert.throws(() => d.stepSync(file, 0, out, false), /already running/);
  d.end(); // frees once the step completes
  const r = await first;
  assert.ok(r.produced > 0);
  assert.throws(() => d.stepSync(file, r.consumed, out, false), /ended/);
});
