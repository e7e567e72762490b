// The delta format's pure pieces: modified base64 names, varints, bsdiff/bspatch round trips.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { bsdiff, suffixArray } from "../../src/delta/bsdiff.js";
import { bspatch, offtin, offtout } from "../../src/delta/bspatch.js";
import { b64ToChecksum, checksumToB64, deltaFromDirs, superblockPath } from "../../src/delta/names.js";
import { OpReader, writeVarint } from "../../src/delta/ops.js";

test("delta paths use ostree's modified base64 ('/' as '_', no '=')", () => {
  // Checked against a delta ostree 2022.7 generated.
  const to = "4d220decced7e41aefc0b5a0cdf2fdf2f81d9d9008855fba16d1ed726f96220b";
  const from = "034e35406fa5d4b64975e93f5c0d11af3af8f05e4f79adcd5a84cfc09048e821";
  assert.equal(superblockPath(null, to), "deltas/TS/IN7M7X5BrvwLWgzfL98vgdnZAIhV+6FtHtcm+WIgs/superblock");
  assert.equal(
    superblockPath(from, to),
    "deltas/A0/41QG+l1LZJdek_XA0Rrzr48F5Pea3NWoTPwJBI6CE-TSIN7M7X5BrvwLWgzfL98vgdnZAIhV+6FtHtcm+WIgs/superblock",
  );
  assert.equal(b64ToChecksum(checksumToB64(from)), from);
  assert.deepEqual(
    deltaFromDirs(
      "A0",
      "41QG+l1LZJdek_XA0Rrzr48F5Pea3NWoTPwJBI6CE-TSIN7M7X5BrvwLWgzfL98vgdnZAIhV+6FtHtcm+WIgs",
    ),
    {
      from,
      to,
    },
  );
  assert.equal(deltaFromDirs("xx", "not-a-delta"), null);
});

test("varints and sign-magnitude offsets round-trip", () => {
  for (const n of [0, 1, 127, 128, 300, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
    const out: number[] = [];
    writeVarint(out, n);
    assert.equal(new OpReader(Buffer.from(out)).varint(), n);
    const b = Buffer.alloc(8);
    offtout(-n, b, 0);
    assert.equal(offtin(b, 0), -n || 0);
  }
  assert.throws(() => new OpReader(Buffer.from([0x80])).varint(), /Unexpected EOF/);
});

test("suffix arrays sort suffixes", () => {
  for (const s of ["banana", "", "aaaa", "mississippi", randomBytes(300).toString("latin1")]) {
    const b = Buffer.from(s, "latin1");
    const sa = [...suffixArray(b)];
    const naive = [...Array(b.length + 1).keys()].sort((x, y) =>
      Buffer.compare(b.subarray(x), b.subarray(y)),
    );
    assert.deepEqual(sa, naive, s.slice(0, 20));
  }
});

test("bsdiff patches rebuild the new file and are small for small edits", () => {
  const old = Buffer.from(Array.from({ length: 3000 }, (_, i) => `line ${i} ${i * 7}`).join("\n"));
  const edited = Buffer.from(
    old.toString().replace("line 1500", "LINE 1500 changed").replace("line 20 ", "l20 "),
  );
  const cases: [Buffer, Buffer][] = [
    [old, edited],
    [Buffer.alloc(0), edited],
    [old, Buffer.alloc(0)],
    [randomBytes(5000), randomBytes(4000)],
  ];
  for (const [a, b] of cases) assert.ok(bspatch(a, b.length, bsdiff(a, b)).equals(b));
  // Literal bytes in the patch are few; the differences are mostly zeros.
  const patch = bsdiff(old, edited);
  const nonzero = patch.filter((x) => x !== 0).length;
  assert.ok(nonzero < 400, `patch has ${nonzero} non-zero bytes`);
  assert.throws(() => bspatch(old, edited.length, patch.subarray(0, 30)), /ends early/);
});

test("bspatch adds old bytes only where the old file has them (seeks before its start and past its end)", () => {
  const old = randomBytes(1000);
  // Control entries [diff, extra, seek]: the old position goes from 0 to -300, then across its end.
  const controls: [number, number, number][] = [
    [200, 10, -500],
    [400, 0, 700],
    [300, 5, 0],
    [100, 0, 0],
  ];
  const parts: Buffer[] = [];
  for (const [diff, extra, seek] of controls) {
    const c = Buffer.alloc(24);
    offtout(diff, c, 0);
    offtout(extra, c, 8);
    offtout(seek, c, 16);
    parts.push(c, randomBytes(diff), randomBytes(extra));
  }
  const patch = Buffer.concat(parts);
  const size = controls.reduce((n, [d, e]) => n + d + e, 0);
  // The rule, byte by byte.
  const want = Buffer.alloc(size);
  let p = 0;
  let oldpos = 0;
  let newpos = 0;
  for (const [diff, extra, seek] of controls) {
    p += 24;
    for (let i = 0; i < diff; i++) {
      const o = oldpos + i;
      want[newpos + i] = (patch[p + i]! + (o >= 0 && o < old.length ? old[o]! : 0)) & 0xff;
    }
    p += diff;
    newpos += diff;
    oldpos += diff;
    patch.copy(want, newpos, p, p + extra);
    p += extra;
    newpos += extra;
    oldpos += seek;
  }
  assert.ok(bspatch(old, size, patch).equals(want));
});
