// The package database's SQLite schema, and the canonical copy that makes its bytes a function of its
// content: a commit's checksum covers the database file, so two composes of the same package set must
// write the same bytes whatever order they added the packages in.
import type { SqliteDb } from "./pkgdb-sqlite.js";

/** Bumped when a reader of the old layout would misread the new one. */
export const PKGDB_SCHEMA_VERSION = 1;

/** Fixed, so the image does not depend on the SQLite build's default. */
const PAGE_SIZE = 4096;

/** The tables and indexes, created in `schema` ("main", or an attached database). */
export function schemaSql(schema: string): string {
  const s = `${schema}.`;
  return `
CREATE TABLE ${s}meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE ${s}packages (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, epoch INTEGER NOT NULL,
  version TEXT NOT NULL, release TEXT NOT NULL, evr TEXT NOT NULL, arch TEXT NOT NULL,
  summary TEXT NOT NULL, origin TEXT NOT NULL, requested INTEGER NOT NULL,
  pkg_commit TEXT, sha256 TEXT, installed_size INTEGER,
  UNIQUE (kind, name, arch));
CREATE INDEX ${s}packages_name ON packages (name);
CREATE TABLE ${s}files (
  pkg INTEGER NOT NULL, path TEXT NOT NULL, type TEXT NOT NULL, mode INTEGER NOT NULL,
  user TEXT NOT NULL, grp TEXT NOT NULL, digest TEXT, target TEXT, conffile INTEGER NOT NULL);
CREATE INDEX ${s}files_path ON files (path);
CREATE INDEX ${s}files_pkg ON files (pkg);
CREATE TABLE ${s}provides (pkg INTEGER NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL);
CREATE INDEX ${s}provides_pkg ON provides (pkg);
CREATE TABLE ${s}requires (pkg INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL);
CREATE INDEX ${s}requires_pkg ON requires (pkg);
CREATE TABLE ${s}scripts (
  pkg INTEGER NOT NULL, seq INTEGER NOT NULL, phase TEXT NOT NULL, interpreter TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX ${s}scripts_pkg ON scripts (pkg);
INSERT INTO ${s}meta (key, value) VALUES ('schema_version', '${PKGDB_SCHEMA_VERSION}');
`;
}

/** Prepares an empty database (or attached one) and creates the schema in it. */
export function createSchema(db: SqliteDb, schema = "main"): void {
  // page_size only takes effect before the first table exists; no journal keeps no state outside the image.
  db.pragma(`${schema}.page_size = ${PAGE_SIZE}`);
  db.pragma(`${schema}.journal_mode = OFF`);
  db.exec(`BEGIN; ${schemaSql(schema)} COMMIT;`);
}

const PKG_COLS =
  "kind, name, epoch, version, release, evr, arch, summary, origin, requested, pkg_commit, sha256, installed_size";

/**
 * The database image with every row inserted afresh in sorted order into a new database: packages
 * renumbered by (name, arch, kind), their files by path, relations and scripts in their own order.
 * Nothing of the working database's history (freed pages, old rowids, change counters) survives.
 */
export function canonicalImage(db: SqliteDb): Buffer {
  db.exec("ATTACH DATABASE ':memory:' AS canon");
  try {
    createSchema(db, "canon");
    db.exec(`BEGIN;
CREATE TEMP TABLE renumber AS
  SELECT id AS old, ROW_NUMBER() OVER (ORDER BY name, arch, kind) AS new FROM main.packages;
INSERT INTO canon.packages (id, ${PKG_COLS})
  SELECT r.new, ${PKG_COLS} FROM main.packages p JOIN temp.renumber r ON r.old = p.id ORDER BY r.new;
INSERT INTO canon.files SELECT r.new, path, type, mode, user, grp, digest, target, conffile
  FROM main.files f JOIN temp.renumber r ON r.old = f.pkg
  ORDER BY r.new, path, type, mode, user, grp, digest, target, conffile;
INSERT INTO canon.provides SELECT r.new, seq, name, version
  FROM main.provides x JOIN temp.renumber r ON r.old = x.pkg ORDER BY r.new, seq;
INSERT INTO canon.requires SELECT r.new, seq, kind, text
  FROM main.requires x JOIN temp.renumber r ON r.old = x.pkg ORDER BY r.new, seq;
INSERT INTO canon.scripts SELECT r.new, seq, phase, interpreter, body
  FROM main.scripts x JOIN temp.renumber r ON r.old = x.pkg ORDER BY r.new, seq;
INSERT OR REPLACE INTO canon.meta SELECT key, value FROM main.meta ORDER BY key;
DROP TABLE temp.renumber;
COMMIT;`);
    return db.serialize({ attached: "canon" });
  } finally {
    db.exec("DETACH DATABASE canon");
  }
}
