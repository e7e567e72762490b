// apt-preferences.ts on its own: parsing, matching, and which pin wins.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  AptPolicy,
  AptPreferencesError,
  expressionMatches,
  fileMatches,
  packageMatches,
  parsePreferences,
  STATUS_FACTS,
} from "../../../backends/deb/apt-preferences.js";

const STABLE = {
  archive: "stable",
  codename: "bookworm",
  version: "12.5",
  origin: "Debian",
  label: "Debian",
  component: "main",
  arch: "amd64",
  site: "deb.debian.org",
};
const EXP = { ...STABLE, archive: "experimental", codename: "rc-buggy", version: undefined };
const foo = (evr: string, arch = "amd64") => ({ name: "foo", arch, evr, source: { name: "foo-src" } });

test("parse: stanzas, comments, continuation, skipped stanzas", () => {
  const s = parsePreferences(
    [
      "# comment",
      "Explanation: why",
      "Explanation: more",
      "Package: foo bar",
      "Pin: release a=stable, n=bookworm",
      "Pin-Priority: 900",
      "",
      "Package: *",
      "Pin: version 1.0", // a version pin needs a package: apt ignores it
      "Pin-Priority: 1",
      "",
      "Package: baz",
      "Pin: release a=x",
      "Pin-Priority: 0", // zero: ignored
      "",
      "Package: *",
      'Pin: origin "deb.example.org"',
      "Pin-Priority: -1",
    ].join("\n"),
    "t",
  );
  assert.equal(s.length, 2);
  assert.deepEqual(s[0], {
    packages: ["foo", "bar"],
    pin: { kind: "release", all: false, terms: { a: "stable", n: "bookworm" } },
    priority: 900,
  });
  assert.deepEqual(s[1], { packages: null, pin: { kind: "origin", site: "deb.example.org" }, priority: -1 });
  assert.throws(() => parsePreferences("Pin: release a=x\nPin-Priority: 5\n", "t"), AptPreferencesError);
});

test("match: globs, regexes, release terms, origin, status file", () => {
  assert.ok(expressionMatches("sta*", "stable"));
  assert.ok(!expressionMatches("sta*", "oldstable"));
  assert.ok(expressionMatches("/^OLD/", "oldstable"));
  assert.ok(expressionMatches("[!x]table", "stable"));
  const rel = (d: string) => parsePreferences(`Package: *\nPin: release ${d}\nPin-Priority: 1\n`, "t")[0].pin;
  assert.ok(fileMatches(rel("a=stable, c=main, b=amd64"), STABLE));
  assert.ok(!fileMatches(rel("a=stable, c=contrib"), STABLE));
  assert.ok(fileMatches(rel("bookworm"), STABLE)); // a bare word: suite or codename
  assert.ok(fileMatches(rel("12*"), STABLE)); // a bare number: the version, prefix with '*'
  assert.ok(fileMatches(rel("o=Debian,l=/^deb/"), STABLE));
  assert.ok(!fileMatches(rel("v=12*"), EXP));
  assert.ok(fileMatches(rel("*"), STATUS_FACTS));
  assert.ok(fileMatches(rel("a=now"), STATUS_FACTS));
  const origin = (h: string) => ({ kind: "origin" as const, site: h });
  assert.ok(fileMatches(origin("deb.debian.org"), STABLE));
  assert.ok(fileMatches(origin(""), { ...STABLE, site: "" }));
  assert.ok(!fileMatches(origin(""), STATUS_FACTS));
  assert.ok(packageMatches("foo", foo("1"), "amd64"));
  assert.ok(packageMatches("foo", foo("1", "all"), "amd64"));
  assert.ok(!packageMatches("foo", foo("1", "i386"), "amd64"));
  assert.ok(packageMatches("foo:i386", foo("1", "i386"), "amd64"));
  assert.ok(packageMatches("f?o", foo("1"), "amd64"));
  assert.ok(packageMatches("/^F/", foo("1"), "amd64"));
  assert.ok(packageMatches("src:foo-src", foo("1"), "amd64"));
  assert.ok(!packageMatches("fo", foo("1"), "amd64"));
});

test("policy: first specific pin per version, else first general pin per file, else the default", () => {
  const p = new AptPolicy(
    parsePreferences(
      [
        "Package: *\nPin: release a=experimental\nPin-Priority: 50",
        "Package: *\nPin: release o=Debian\nPin-Priority: 700",
        "Package: foo\nPin: version 2.*\nPin-Priority: 1001",
        "Package: foo\nPin: version 2.0\nPin-Priority: 10",
        "Package: foo\nPin: release a=stable\nPin-Priority: -1",
      ].join("\n\n"),
      "t",
    ),
    "amd64",
  );
  assert.equal(p.filePriority(EXP, 500), 50);
  assert.equal(p.filePriority(STABLE, 500), 700);
  assert.equal(p.filePriority({ archive: "other" }, 500), 500);
  assert.equal(p.priority(foo("2.0"), EXP, 500), 1001);
  assert.equal(p.priority(foo("1.0"), STABLE, 500), -1);
  assert.equal(p.priority(foo("1.0"), EXP, 500), 50);
  assert.equal(p.priority({ ...foo("1.0"), name: "bar" }, STABLE, 500), 700);
  assert.ok(new AptPolicy([], "amd64").empty);
});
