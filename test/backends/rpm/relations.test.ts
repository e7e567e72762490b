import assert from "node:assert/strict";
import { test } from "node:test";
import { isPreRequire } from "../../../backends/rpm/meta.js";
import { formatRpmDep, opFromFlags, parseRpmRich, rpmDep } from "../../../backends/rpm/relations.js";

test("rich dependencies parse into the model's tree and print back", () => {
  const cases: [string, unknown][] = [
    [
      "(a or b >= 2)",
      {
        kind: "or",
        terms: [
          { kind: "atom", atom: { name: "a" } },
          { kind: "atom", atom: { name: "b", op: ">=", version: "2" } },
        ],
      },
    ],
    [
      "(a and (b or c))",
      {
        kind: "and",
        terms: [
          { kind: "atom", atom: { name: "a" } },
          {
            kind: "or",
            terms: [
              { kind: "atom", atom: { name: "b" } },
              { kind: "atom", atom: { name: "c" } },
            ],
          },
        ],
      },
    ],
    [
      "(a if b else c)",
      {
        kind: "if",
        cond: { kind: "atom", atom: { name: "b" } },
        // biome-ignore lint/suspicious/noThenProperty: the model's conditional term names its branch "then"
        then: { kind: "atom", atom: { name: "a" } },
        else: { kind: "atom", atom: { name: "c" } },
      },
    ],
    [
      "(a unless b)",
      {
        kind: "unless",
        cond: { kind: "atom", atom: { name: "b" } },
        // biome-ignore lint/suspicious/noThenProperty: the model's conditional term names its branch "then"
        then: { kind: "atom", atom: { name: "a" } },
      },
    ],
    [
      "(a with b)",
      {
        kind: "with",
        terms: [
          { kind: "atom", atom: { name: "a" } },
          { kind: "atom", atom: { name: "b" } },
        ],
      },
    ],
    [
      "(a without b)",
      {
        kind: "without",
        terms: [
          { kind: "atom", atom: { name: "a" } },
          { kind: "atom", atom: { name: "b" } },
        ],
      },
    ],
    [
      "(libc.so.6()(64bit) or foo = 1:2-3)",
      {
        kind: "or",
        terms: [
          { kind: "atom", atom: { name: "libc.so.6()(64bit)" } },
          { kind: "atom", atom: { name: "foo", op: "=", version: "1:2-3" } },
        ],
      },
    ],
  ];
  for (const [text, tree] of cases) {
    assert.deepEqual(parseRpmRich(text), tree, text);
    assert.equal(formatRpmDep(parseRpmRich(text)), text);
  }
  for (const bad of ["(a or b", "(a or b and c)", "(a b)", "a or b", "(a if b if c)", "(a or b) x", "()"])
    assert.throws(() => parseRpmRich(bad), /rich dependency/, bad);
});

test("plain dependencies from NAME/FLAGS/VERSION triples", () => {
  assert.equal(opFromFlags(2 | 8), "<=");
  assert.equal(opFromFlags(4), ">");
  assert.equal(opFromFlags(0), undefined);
  assert.deepEqual(rpmDep("foo", 12, "1.0"), {
    kind: "atom",
    atom: { name: "foo", op: ">=", version: "1.0" },
  });
  assert.deepEqual(rpmDep("foo", 0, ""), { kind: "atom", atom: { name: "foo" } });
  assert.equal(rpmDep("(x or y)", 0, "").kind, "or");
  // Requires(pre) 512, Requires(pre,post) 512|1024, pretrans 128, legacy PreReq 64 → before unpack;
  // Requires(post) 1024|64, interpreters 256|1024 → ordinary requirements.
  for (const f of [512, 512 | 1024, 128, 64, 768]) assert.equal(isPreRequire(f), true, String(f));
  for (const f of [0, 1024 | 64, 1280, 2304, 16384, 288]) assert.equal(isPreRequire(f), false, String(f));
});
