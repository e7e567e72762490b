import assert from "node:assert/strict";
import { test } from "node:test";
import { field, parseDeb822 } from "../../../backends/deb/deb822.js";
import { formatDebDep, parseDebRelations } from "../../../backends/deb/relations.js";

test("relationship fields: alternatives, operators, legacy operators, qualifiers, folding", () => {
  const deps = parseDebRelations(
    "libc6 (>= 2.36), foo:any | bar (<< 3),\n baz:native (>> 1:2-3) [amd64] <!nocheck>, q (< 1), r (> 2), s (=1.0)",
  );
  assert.deepEqual(deps, [
    { kind: "atom", atom: { name: "libc6", op: ">=", version: "2.36" } },
    {
      kind: "or",
      terms: [
        { kind: "atom", atom: { name: "foo", archQualifier: "any" } },
        { kind: "atom", atom: { name: "bar", op: "<", version: "3" } },
      ],
    },
    { kind: "atom", atom: { name: "baz", archQualifier: "native", op: ">", version: "1:2-3" } },
    { kind: "atom", atom: { name: "q", op: "<=", version: "1" } },
    { kind: "atom", atom: { name: "r", op: ">=", version: "2" } },
    { kind: "atom", atom: { name: "s", op: "=", version: "1.0" } },
  ]);
  assert.equal(
    deps.map(formatDebDep).join(", "),
    "libc6 (>= 2.36), foo:any | bar (<< 3), baz:native (>> 1:2-3), q (<= 1), r (>= 2), s (= 1.0)",
  );
  assert.deepEqual(parseDebRelations(""), []);
  assert.throws(() => parseDebRelations("foo (>= )"), /cannot parse/);
  assert.throws(() => parseDebRelations("foo (~ 1)"), /cannot parse/);
});

test("deb822: stanzas, folded fields, comments, case-insensitive lookup", () => {
  const s = parseDeb822(
    "# comment\nPackage: a\nDescription: short\n long\n .\n more\n\n\nPackage: b\nversion: 1\n",
  );
  assert.equal(s.length, 2);
  assert.equal(s[0].Description, "short\n long\n .\n more");
  assert.equal(field(s[1], "Version"), "1");
  assert.throws(() => parseDeb822(" leading continuation"), /continuation/);
  assert.throws(() => parseDeb822("A: 1\na: 2\n"), /duplicate/);
  assert.throws(() => parseDeb822("no colon here\n"), /Field: value/);
});
