// The real rpm as the rpmdb oracle: installs into a scratch root's sqlite rpmdb (--justdb, no
// scripts, no dependency checks: only the database is of interest) and queries it.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sqliteFromBytes } from "../../../src/packages/pkgdb-sqlite.js";
import { run, sh } from "../../helpers.js";

/** rpm's dbpath inside a layered tree; this host's %_dbpath is /root/.rpmdb, so always pass it. */
export const DBPATH = "/usr/lib/sysimage/rpm";

export function rpmdbFile(root: string): string {
  return join(root, DBPATH, "rpmdb.sqlite");
}

/** `rpm --root=ROOT --dbpath=… ARGS`: stdout, stderr and status. */
export function rpmAt(root: string, args: string[]) {
  return run("rpm", [`--root=${root}`, `--dbpath=${DBPATH}`, ...args]);
}

/** Installs `rpms` into ROOT's rpmdb only, as `rpm -i --justdb --nodeps --noscripts` does. */
export function rpmJustDb(root: string, rpms: string[]): void {
  mkdirSync(join(root, DBPATH), { recursive: true });
  sh("rpm", [`--root=${root}`, `--dbpath=${DBPATH}`, "-i", "--nodeps", "--noscripts", "--justdb", ...rpms]);
}

/** Every table of an rpmdb.sqlite image: name → rows (the Packages blobs included). */
export function rpmdbTables(image: Buffer): Map<string, unknown[]> {
  const db = sqliteFromBytes(image, { readonly: true });
  try {
    const out = new Map<string, unknown[]>();
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[];
    for (const { name } of tables) out.set(name, db.prepare(`SELECT * FROM '${name}' ORDER BY rowid`).all());
    return out;
  } finally {
    db.close();
  }
}

/** The header blobs of ROOT's rpmdb, by hnum. */
export function rpmdbBlobs(root: string): Buffer[] {
  const rows = rpmdbTables(readFileSync(rpmdbFile(root))).get("Packages") as { hnum: number; blob: Buffer }[];
  return rows.map((r) => r.blob);
}

/** sqlite_master of an image: what rpm created, in the order it created it. */
export function rpmdbSchema(image: Buffer): unknown[] {
  const db = sqliteFromBytes(image, { readonly: true });
  try {
    return db
      .prepare(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name != 'sqlite_stat1' ORDER BY rowid",
      )
      .all();
  } finally {
    db.close();
  }
}
