// The rpmdb writer against rpm 4.18 itself: the same schema as `rpm --initdb`, the same rows as
// `rpm -i --justdb`, and rpm's own queries and checks on the image we write.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { rpmBackend } from "../../../backends/rpm/index.js";
import { richNames, rpmdbCreate, rpmdbInstall, rpmdbRemove } from "../../../backends/rpm/rpmdb-write.js";
import { haveTools, scratch } from "../../helpers.js";
import { buildRpm, SPEC } from "./build.js";
import { DBPATH, rpmAt, rpmdbFile, rpmdbSchema, rpmdbTables, rpmJustDb } from "./rpmdb-oracle.js";

const SMALL = `Name: tso-small
Version: 1.0
Release: 1
Summary: small
License: MIT
BuildArch: noarch
Provides: small-cap = 1.0
Requires: tso-demo
%description
small
%install
mkdir -p %{buildroot}/usr/share/tso-small
echo hi > %{buildroot}/usr/share/tso-small/hello
%files
/usr/share/tso-small/hello
`;

/** The demo package (rich dependencies, triggers, file triggers) and a small one that requires it. */
function twoRpms(dir: string): { demo: string; small: string } {
  return { demo: buildRpm(join(dir, "a"), "gzip", SPEC), small: buildRpm(join(dir, "b"), "gzip", SMALL) };
}

async function header(rpm: string): Promise<Buffer> {
  const o = await rpmBackend.open(rpm);
  o.close();
  return o.info.native!.header!;
}

/** The tables of an rpmdb image without SQLite's own bookkeeping (rpm's PRAGMA optimize adds sqlite_stat1). */
function tables(image: Buffer): Record<string, unknown[]> {
  const t = rpmdbTables(image);
  t.delete("sqlite_stat1");
  return Object.fromEntries(t);
}

/** An appended INT32 tag of an exported header (INSTALLTIME 1008, INSTALLTID 1128). */
function int32Tag(blob: Buffer, tag: number): number {
  const il = blob.readUInt32BE(0);
  for (let i = 0; i < il; i++)
    if (blob.readUInt32BE(8 + i * 16) === tag)
      return blob.readUInt32BE(8 + il * 16 + blob.readInt32BE(16 + i * 16));
  throw new Error(`no tag ${tag}`);
}

/** The install options that reproduce rpm's own blob (its install time and transaction id). */
function asInstalled(blob: Buffer) {
  return { installTime: int32Tag(blob, 1008), tid: int32Tag(blob, 1128), color: 3 };
}

function place(root: string, image: Buffer): void {
  mkdirSync(join(root, DBPATH), { recursive: true });
  writeFileSync(rpmdbFile(root), image);
}

function q(root: string, args: string[]): string {
  const r = rpmAt(root, args);
  assert.equal(r.status, 0, `rpm ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

test("rpmdbCreate makes the tables and indexes rpm --initdb makes", (t) => {
  if (!haveTools(t, "rpm")) return;
  const root = scratch(t);
  q(root, ["--initdb"]);
  const theirs = rpmdbSchema(readFileSync(rpmdbFile(root)));
  assert.ok(theirs.length > 30, "rpm made its tables");
  assert.deepEqual(rpmdbSchema(rpmdbCreate()), theirs);
});

test("rpmdbInstall writes the rows rpm -i --justdb writes, and rpm reads them", async (t) => {
  if (!haveTools(t, "rpm", "rpmbuild")) return;
  const dir = scratch(t);
  const { demo, small } = twoRpms(dir);
  const theirs = join(dir, "theirs");
  rpmJustDb(theirs, [demo]);
  rpmJustDb(theirs, [small]);
  const real = tables(readFileSync(rpmdbFile(theirs)));
  const blobs = real.Packages as { hnum: number; blob: Buffer }[];
  let image = rpmdbInstall(rpmdbCreate(), [await header(demo)], asInstalled(blobs[0]!.blob));
  image = rpmdbInstall(image, [await header(small)], asInstalled(blobs[1]!.blob));
  const ours = tables(image);
  for (const [i, row] of (ours.Packages as { blob: Buffer }[]).entries())
    assert.equal(row.blob.toString("hex"), blobs[i]!.blob.toString("hex"), `header #${i + 1}, byte for byte`);
  assert.deepEqual(ours, real);

  const root = join(dir, "ours");
  place(root, image);
  assert.equal(q(root, ["-qa", "--qf", "%{NAME}\\n"]).split("\n").sort().join(" "), "tso-demo tso-small");
  assert.equal(q(root, ["-q", "tso-demo"]), "tso-demo-2.0~rc1-3.fc40.noarch");
  assert.equal(q(root, ["-qf", "/usr/bin/demo"]), "tso-demo-2.0~rc1-3.fc40.noarch");
  assert.equal(q(root, ["-q", "--whatprovides", "demo-virtual"]), "tso-demo-2.0~rc1-3.fc40.noarch");
  assert.equal(q(root, ["-q", "--whatrequires", "tso-demo"]), "tso-small-1.0-1.noarch");
  assert.equal(
    q(root, ["-q", "--whatrequires", "bar"]),
    "tso-demo-2.0~rc1-3.fc40.noarch",
    "a name inside a rich dependency",
  );
  q(root, ["--verifydb"]);
  q(root, ["--rebuilddb"]);
  assert.equal(q(root, ["-qf", "/usr/share/tso-small/hello"]), "tso-small-1.0-1.noarch");
});

test("rpmdbRemove leaves what rpm -e --justdb leaves", async (t) => {
  if (!haveTools(t, "rpm", "rpmbuild")) return;
  const dir = scratch(t);
  const { demo, small } = twoRpms(dir);
  const theirs = join(dir, "theirs");
  rpmJustDb(theirs, [demo, small]);
  const blobs = tables(readFileSync(rpmdbFile(theirs))).Packages as { blob: Buffer }[];
  q(theirs, ["-e", "--justdb", "--nodeps", "--noscripts", "tso-demo"]);
  // One transaction for both, as rpm did (one INSTALLTID, each package its own INSTALLTIME).
  let image = rpmdbInstall(rpmdbCreate(), [await header(demo)], asInstalled(blobs[0]!.blob));
  image = rpmdbInstall(image, [await header(small)], asInstalled(blobs[1]!.blob));
  image = rpmdbRemove(image, [{ name: "tso-demo", arch: "noarch" }]);
  assert.deepEqual(tables(image), tables(readFileSync(rpmdbFile(theirs))));
  const root = join(dir, "ours");
  place(root, image);
  assert.equal(q(root, ["-qa", "--qf", "%{NAME}\\n"]), "tso-small");
  assert.notEqual(rpmAt(root, ["-qf", "/usr/bin/demo"]).status, 0, "no owner any more");
  q(root, ["--verifydb"]);
  assert.deepEqual(
    tables(rpmdbRemove(image, [{ name: "tso-small", arch: "x86_64" }])),
    tables(image),
    "another arch stays",
  );
});

test("richNames indexes the names inside a rich dependency as rpm does", () => {
  assert.deepEqual(richNames("(foo or bar >= 2)"), ["bar", "foo"]);
  // Sorted with their prefix: " name" (kept as "name") before "!name".
  assert.deepEqual(richNames("(pkgA if pkgB else pkgC)"), ["pkgA", "pkgB", "pkgC", "!pkgB"]);
  assert.deepEqual(richNames("(a unless b)"), ["a", "!b"]);
  assert.deepEqual(richNames("(rpmlib(X) and a)"), ["a"]);
});
