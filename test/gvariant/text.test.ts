import assert from "node:assert/strict";
import { test } from "node:test";
import {
  deserialize,
  isNormalForm,
  parseText,
  parseType,
  printValue,
  serialize,
  Variant,
} from "../../src/gvariant/index.js";

test("text values infer the types ostree's --add-metadata gives them", () => {
  const cases: [string, string][] = [
    ["'hello'", "s"],
    ["42", "i"],
    ["uint64 5", "t"],
    ["@t 5", "t"],
    ["true", "b"],
    ["['a', 'b']", "as"],
    ["[1, 2]", "ai"],
    ["(1, 'x')", "(is)"],
    ["{'k': <1>}", "a{sv}"],
    ["<'x'>", "v"],
    ["b'raw'", "ay"],
    ["@as []", "as"],
    ["1.5", "d"],
  ];
  for (const [text, type] of cases) assert.equal(parseText(text).typeString, type, text);
});

test("an expected type constrains untyped literals", () => {
  const v = parseText("[1, 2, 3]", "at");
  assert.deepEqual(v.value, [1n, 2n, 3n]);
  assert.equal(v.typeString, "at");
});

test("strings with escapes and quotes survive a print/parse round trip", () => {
  for (const s of ["plain", "it's", 'say "hi"', "tab\tnew\nline", "ünïcödé ✓"]) {
    const printed = printValue(parseText("''").type, s);
    assert.equal(parseText(printed).value, s);
  }
});

test("printing annotates non-default types like g_variant_print", () => {
  const v = parseText("{'a': <uint32 7>, 'b': <['x']>, 'c': <@as []>}");
  assert.equal(printValue(v.type, v.value), "{'a': <uint32 7>, 'b': <['x']>, 'c': <@as []>}");
});

test("malformed text is refused with a position", () => {
  assert.throws(() => parseText("[1, 2"), /position/);
  assert.throws(() => parseText("'unterminated"), /unterminated/);
  assert.throws(() => parseText("1 2"), /trailing/);
});

test("serialization picks the smallest framing-offset width (1, 2 and 4 bytes)", () => {
  for (const [count, len, width] of [
    [10, 20, 1],
    [100, 500, 2],
    [3, 70_000, 4],
  ] as const) {
    const items = Array.from({ length: count }, (_, i) => `${i}`.padEnd(len, "x"));
    const bytes = serialize("as", items);
    const body = items.reduce((n, s) => n + s.length + 1, 0);
    assert.equal(bytes.length, body + width * count, `count=${count} len=${len}`);
    assert.deepEqual(deserialize("as", bytes), items);
    assert.ok(isNormalForm("as", bytes));
  }
});

test("non-normal forms are rejected", () => {
  const good = serialize("(sas)", ["a", ["b", "c"]]);
  assert.ok(isNormalForm("(sas)", good));
  const padded = Buffer.concat([good.subarray(0, 1), Buffer.from([1]), good.subarray(1)]);
  assert.equal(isNormalForm("(sas)", padded), false);
  assert.throws(() => deserialize("s", Buffer.from("abc")), /NUL/);
  assert.throws(() => deserialize("b", Buffer.from([2])), /boolean/);
  assert.throws(() => deserialize("u", Buffer.from([1, 2])), /needs 4 bytes/);
});

test("variants, maybes and fixed tuples round-trip", () => {
  const cases: [string, unknown][] = [
    ["v", Variant.of("(ty)", [5n, 1])],
    ["ms", "x"],
    ["ms", null],
    ["mu", 7],
    ["(yu)", [1, 2]],
    ["()", []],
    [
      "a(yu)",
      [
        [1, 2],
        [3, 4],
      ],
    ],
    [
      "a{sv}",
      [
        ["k", Variant.of("s", "v")],
        ["n", Variant.of("t", 9n)],
      ],
    ],
  ];
  for (const [t, v] of cases) {
    const b = serialize(t, v as never);
    assert.deepEqual(serialize(t, deserialize(t, b)), b, t);
  }
  assert.equal(serialize("(yu)", [1, 2]).length, 8);
  assert.deepEqual(serialize("()", []), Buffer.from([0]));
});

test("bytestrings print as g_variant_print prints them (g_strescape, octal escapes)", () => {
  const ay = parseType("ay");
  // A commit checksum ending in its only NUL, as `ostree summary --view` printed it (GLib 2.74).
  const csum = Buffer.from("af8c06483a116a3343e2379785713a218907fb3a392a68aa957b914a5d67a500", "hex");
  assert.equal(
    printValue(ay, csum),
    "b'\\257\\214\\006H:\\021j3C\\3427\\227\\205q:!\\211\\007\\373:9*h\\252\\225{\\221J]g\\245'",
  );
  // With a ' inside: double quotes, and g_strescape escapes " and \ regardless.
  assert.equal(printValue(ay, Buffer.from('it\'s "q"\\\n\x7f\0', "latin1")), 'b"it\'s \\"q\\"\\\\\\n\\177"');
});
