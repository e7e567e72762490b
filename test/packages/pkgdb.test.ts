import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type DbPackage,
  type DbPackageSummary,
  PackageDb,
  PackageDbError,
  shellGlobToSqlite,
} from "../../src/packages/pkgdb.js";
import { Sqlite } from "../../src/packages/pkgdb-sqlite.js";
import { pkg } from "./pkgdb-fixture.js";

const strace = pkg("strace", "6.1-0.1", {
  origin: "layered",
  requested: true,
  commit: "a".repeat(64),
  sha256: "b".repeat(64),
  installedSize: 2049,
  provides: [{ name: "strace-virtual", version: "1" }],
  requires: [
    { kind: "depends", text: "libc6 (>= 2.34)" },
    { kind: "depends", text: "libunwind8 | libunwind-dev" },
    { kind: "pre-depends", text: "dpkg (>= 1.19)" },
  ],
  scripts: [
    { phase: "postinst", interpreter: "/bin/sh", body: "#!/bin/sh\necho hi\n" },
    { phase: "prerm", interpreter: "/bin/sh", body: "#!/bin/sh\n" },
  ],
  files: [
    { path: "/usr/bin/strace", type: "file", mode: 0o755, user: "root", group: "root", digest: "md5:00ff" },
    { path: "/usr", type: "dir", mode: 0o755, user: "root", group: "root" },
    { path: "/usr/bin", type: "dir", mode: 0o755, user: "root", group: "root" },
    {
      path: "/usr/bin/strace-log",
      type: "symlink",
      mode: 0o777,
      user: "root",
      group: "root",
      target: "strace",
    },
    {
      path: "/etc/strace.conf",
      type: "file",
      mode: 0o644,
      user: "root",
      group: "adm",
      digest: "sha256:" + "c".repeat(64),
      conffile: true,
    },
  ],
});
const libc = pkg("libc6", "2.36-9+deb12u4", {
  files: [
    { path: "/usr", type: "dir", mode: 0o755, user: "root", group: "root" },
    { path: "/usr/lib/x86_64-linux-gnu/libc.so.6", type: "file", mode: 0o755, user: "root", group: "root" },
  ],
});
const libcI386 = pkg("libc6", "2.36-9+deb12u4", {
  arch: "i386",
  files: [
    { path: "/usr/lib/i386-linux-gnu/libc.so.6", type: "file", mode: 0o755, user: "root", group: "root" },
  ],
});
const lib32 = pkg("lib32gcc-s1", "12.2.0-14");

const sortedFiles = (p: DbPackage) => [...p.files].sort((a, b) => (a.path < b.path ? -1 : 1));

test("pkgdb: a package survives the round trip through bytes, files sorted by path", () => {
  const db = PackageDb.create();
  db.add(strace);
  db.add(libc);
  const bytes = db.serialize();
  db.close();
  assert.equal(bytes.subarray(0, 16).toString("latin1"), "SQLite format 3\0");
  const back = PackageDb.fromBytes(bytes);
  assert.deepEqual(back.get("strace"), { ...strace, files: sortedFiles(strace) });
  assert.deepEqual(back.get("libc6", "amd64"), libc);
  assert.equal(back.get("nope"), undefined);
  assert.deepEqual(back.packages(), [stripLists(libc), stripLists(strace)]);
  back.close();
});

function stripLists(p: DbPackage): DbPackageSummary {
  const { files: _f, scripts: _s, provides: _p, requires: _r, ...summary } = p;
  return summary;
}

test("pkgdb: add replaces the same kind/name/arch, keeps other archs; remove returns what went", () => {
  const db = PackageDb.create();
  db.add(libc);
  db.add(libcI386);
  db.add(strace);
  db.add({ ...libc, evr: "2.36-10", release: "10", files: [libc.files[1]] });
  assert.deepEqual(
    db.packages().map((p) => `${p.name}:${p.arch}=${p.evr}`),
    ["libc6:amd64=2.36-10", "libc6:i386=2.36-9+deb12u4", "strace:amd64=6.1-0.1"],
  );
  assert.deepEqual(db.files("libc6", "amd64"), [libc.files[1]]);
  // No file of the replaced version is left behind.
  assert.deepEqual(db.owners("/usr"), [stripLists(strace)]);
  // Without an arch: the first arch in sort order.
  assert.equal(db.get("libc6")?.arch, "amd64");

  assert.deepEqual(
    db.remove("libc6", "i386").map((p) => p.arch),
    ["i386"],
  );
  assert.deepEqual(db.remove("nope"), []);
  db.add(libcI386);
  assert.deepEqual(
    db.remove("libc6").map((p) => p.arch),
    ["amd64", "i386"],
  );
  assert.deepEqual(db.owners("/usr/lib/i386-linux-gnu/libc.so.6"), []);
  assert.deepEqual(db.files("libc6"), []);
  const back = PackageDb.fromBytes(db.serialize());
  assert.deepEqual(
    back.packages().map((p) => p.name),
    ["strace"],
  );
  back.close();
  db.close();
});

test("pkgdb: packages() takes a shell glob on the name", () => {
  const db = PackageDb.create();
  for (const p of [libc, libcI386, strace, lib32, pkg("lib*weird", "1"), pkg("libz", "1")]) db.add(p);
  const names = (pat?: string) => db.packages(pat).map((p) => `${p.name}:${p.arch}`);
  assert.deepEqual(names(), [
    "lib*weird:amd64",
    "lib32gcc-s1:amd64",
    "libc6:amd64",
    "libc6:i386",
    "libz:amd64",
    "strace:amd64",
  ]);
  assert.deepEqual(names("lib?6"), ["libc6:amd64", "libc6:i386"]);
  assert.deepEqual(names("lib[0-9]*"), ["lib32gcc-s1:amd64"]);
  assert.deepEqual(names("lib[!0-9c]*"), ["lib*weird:amd64", "libz:amd64"]);
  assert.deepEqual(names("lib\\*weird"), ["lib*weird:amd64"]);
  assert.deepEqual(names("LIBC6"), [], "case-sensitive, like dpkg -l");
  assert.deepEqual(names("strace"), ["strace:amd64"]);
  assert.equal(shellGlobToSqlite("a\\?b[!x]"), "a[?]b[^x]");
  db.close();
});

test("pkgdb: owners() finds every package listing a path, with or without the leading slash", () => {
  const db = PackageDb.create();
  db.add(strace);
  db.add(libc);
  db.add(libcI386);
  assert.deepEqual(
    db.owners("/usr").map((p) => p.name),
    ["libc6", "strace"],
  );
  assert.deepEqual(
    db.owners("usr/bin/strace").map((p) => p.name),
    ["strace"],
  );
  assert.deepEqual(
    db.owners("/usr/lib/i386-linux-gnu/libc.so.6").map((p) => p.arch),
    ["i386"],
  );
  assert.deepEqual(db.owners("/usr/bin"), db.owners("/usr/bin/"));
  assert.deepEqual(db.owners("/nowhere"), []);
  db.close();
});

test("pkgdb: the same content gives the same bytes, whatever the order and history", () => {
  const a = PackageDb.create();
  for (const p of [strace, libc, libcI386, lib32]) a.add(p);
  const b = PackageDb.create();
  // Other order, files shuffled, a package added and removed, one replaced twice.
  b.add(
    pkg("gone", "1", { files: [{ path: "/gone", type: "file", mode: 0o644, user: "root", group: "root" }] }),
  );
  b.add(lib32);
  b.add({ ...libcI386, evr: "0" });
  b.add({ ...strace, files: [...strace.files].reverse() });
  b.add(libc);
  b.add(libcI386);
  b.remove("gone");
  const ia = a.serialize();
  const ib = b.serialize();
  assert.ok(ia.equals(ib), "images differ");
  assert.ok(a.serialize().equals(ia), "serialize twice");
  const c = PackageDb.fromBytes(ib);
  assert.ok(c.serialize().equals(ia), "after a round trip");
  // Different content, different bytes.
  c.add({ ...lib32, summary: "changed" });
  assert.ok(!c.serialize().equals(ia));
  assert.ok(PackageDb.create().serialize().equals(PackageDb.create().serialize()));
  for (const db of [a, b, c]) db.close();
});

test("pkgdb: the image has a fixed page size, no journal, and the schema the brief names", () => {
  const db = PackageDb.create();
  db.add(strace);
  const raw = new Sqlite(db.serialize());
  const tables = (
    raw.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[]
  ).map((r) => r.name);
  assert.deepEqual(tables, ["files", "meta", "packages", "provides", "requires", "scripts"]);
  const indexes = raw
    .prepare("SELECT tbl_name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL")
    .all() as {
    tbl_name: string;
    sql: string;
  }[];
  assert.ok(indexes.some((i) => i.tbl_name === "files" && /\(path\)/.test(i.sql)));
  assert.ok(indexes.some((i) => i.tbl_name === "packages" && /\(name\)/.test(i.sql)));
  assert.equal(raw.pragma("page_size", { simple: true }), 4096);
  assert.deepEqual(raw.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get(), { value: "1" });
  raw.close();
  db.close();
});

test("pkgdb: fromBytes refuses what is not a package database, naming what to do", () => {
  assert.throws(
    () => PackageDb.fromBytes(Buffer.from("not sqlite at all, not even close".repeat(10))),
    PackageDbError,
  );
  const other = new Sqlite(":memory:");
  other.exec("CREATE TABLE x (y)");
  assert.throws(() => PackageDb.fromBytes(other.serialize()), /not a tsostree package database/);
  other.exec(
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('schema_version', '99')",
  );
  assert.throws(
    () => PackageDb.fromBytes(other.serialize()),
    /schema version 99 is not 1; use the tsostree that wrote it/,
  );
  other.close();
  assert.throws(() => PackageDb.create().add(pkg("", "1")), /needs a name/);
});
