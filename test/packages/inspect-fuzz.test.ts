// Bounded fuzzing: random mutations of valid packages of both kinds must end in success or a
// PackageFormatError — never another exception, a hang, or a file written anywhere.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { backendFor } from "../../src/packages/backends.js";
import { PackageFormatError } from "../../src/packages/errors.js";
import { buildDeb, demoTree } from "../backends/deb/build.js";
import { buildRpm } from "../backends/rpm/build.js";
import { haveTools, scratch } from "../helpers.js";

/** mulberry32: a tiny seeded PRNG, so a failure reproduces from its iteration number. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(src: Buffer, rnd: () => number): Buffer {
  const b = Buffer.from(src);
  const at = () => Math.floor(rnd() * b.length);
  switch (Math.floor(rnd() * 4)) {
    case 0: // flip a few bits
      for (let i = 0, n = 1 + Math.floor(rnd() * 4); i < n; i++) b[at()] ^= 1 << Math.floor(rnd() * 8);
      return b;
    case 1: // truncate
      return b.subarray(0, at());
    case 2: // an absurd 32-bit value somewhere (counts, sizes, offsets)
      {
        const p = Math.min(at(), b.length - 4);
        b.writeUInt32BE([0xffffffff, 0x7fffffff, 0x10000, 0][Math.floor(rnd() * 4)], Math.max(0, p));
      }
      return b;
    default: {
      // the head of the file, mostly intact: mutate within the first 2 KiB (headers live there)
      const p = Math.floor(rnd() * Math.min(2048, b.length));
      b[p] = Math.floor(rnd() * 256);
      return b;
    }
  }
}

/** read() and payload() each, independently: payload() must cope with what read() would refuse. */
async function consume(path: string): Promise<void> {
  const backend = await backendFor(path);
  const steps = [
    async () => {
      await backend.read(path);
    },
    async () => {
      for await (const e of backend.payload(path)) {
        if (e.data && !Buffer.isBuffer(e.data))
          for await (const _ of e.data) {
            // drain
          }
      }
    },
  ];
  let first: unknown;
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      if (!(e instanceof PackageFormatError)) throw e;
      first ??= e;
    }
  }
  if (first) throw first;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: hung for ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

test("300 random mutations of real .deb and .rpm files: PackageFormatError or success, nothing else", async (t) => {
  if (!haveTools(t, "dpkg-deb", "rpmbuild")) return;
  const dir = scratch(t);
  demoTree(dir);
  const seeds = [
    buildDeb(dir, "gzip"),
    buildDeb(dir, "xz"),
    buildDeb(dir, "zstd"),
    buildRpm(dir, "gzip"),
    buildRpm(dir, "zstd"),
    buildRpm(dir, "xz"),
  ].map((p) => readFileSync(p));
  const work = scratch(t, "tsostree-fuzz-");
  const target = join(work, "fuzz.pkg");
  const rnd = prng(0x7505);
  const started = Date.now();
  let failures = 0;
  for (let i = 0; i < 300; i++) {
    const src = seeds[i % seeds.length];
    writeFileSync(target, mutate(src, rnd));
    try {
      await withTimeout(consume(target), 5000, `iteration ${i}`);
    } catch (e) {
      if (!(e instanceof PackageFormatError)) {
        writeFileSync(join(dir, `failing-${i}.pkg`), readFileSync(target));
        assert.fail(`iteration ${i}: ${String(e)}\n${(e as Error).stack}`);
      }
      assert.ok(e.message.startsWith(target), e.message);
      failures++;
    }
    assert.deepEqual(readdirSync(work), ["fuzz.pkg"], "reading never writes files");
  }
  assert.ok(failures > 100, `most mutations are detected (${failures}/300)`);
  assert.ok(Date.now() - started < 20_000, "fuzzing stays within its time budget");
});
