// The installed set of an rpm tree from rpmdb.sqlite (rpm ≥ 4.16) without running rpm: each row of
// the Packages table is one exported header blob.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Sqlite, sqliteFromBytes } from "../../src/packages/pkgdb-sqlite.js";
import { rpmPaths } from "./files.js";
import { HEADER_MAGIC, RpmHeader } from "./header.js";
import { rpmMeta } from "./meta.js";
import { parseRpmRich } from "./relations.js";
import { RpmPackageSet, type RpmRecord } from "./rpmmd-packageset.js";

export class RpmdbError extends Error {
  override name = "RpmdbError";
}

export const RPMDB_PATHS = [
  "usr/lib/sysimage/rpm/rpmdb.sqlite",
  "var/lib/rpm/rpmdb.sqlite",
  "usr/share/rpm/rpmdb.sqlite",
];

export function findRpmdb(root: string): string | undefined {
  for (const rel of RPMDB_PATHS) if (existsSync(join(root, rel))) return join(root, rel);
  return undefined;
}

/** An exported header lacks the 8-byte magic/reserved prefix that RpmHeader expects. */
function withMagic(blob: Buffer): Buffer {
  return blob.subarray(0, 3).equals(HEADER_MAGIC.subarray(0, 3))
    ? blob
    : Buffer.concat([HEADER_MAGIC, Buffer.alloc(4), blob]);
}

/**
 * The headers of an rpmdb.sqlite file, or of its bytes (a commit's copy), in install order;
 * gpg-pubkey pseudo-packages included.
 */
export function rpmdbHeaders(source: string | Buffer): RpmHeader[] {
  const path = typeof source === "string" ? source : "rpmdb.sqlite";
  let rows: { hnum: number; blob: Buffer }[];
  try {
    const db =
      typeof source === "string"
        ? new Sqlite(source, { readonly: true, fileMustExist: true })
        : sqliteFromBytes(source);
    try {
      rows = db.prepare("SELECT hnum, blob FROM Packages ORDER BY hnum").all() as typeof rows;
    } finally {
      db.close();
    }
  } catch (e) {
    throw new RpmdbError(
      `cannot read rpmdb ${path}: ${(e as Error).message}; pass --rpmdb=PATH to an rpmdb.sqlite (rpm ≥ 4.16)`,
    );
  }
  return rows.map((r) => new RpmHeader(withMagic(r.blob), `${path} header #${r.hnum}`));
}

/** The resolver's record of one installed (or local) package header. */
export function headerRecord(h: RpmHeader): RpmRecord {
  const m = rpmMeta(h);
  return {
    name: m.name,
    arch: m.arch,
    epoch: m.epoch,
    version: m.version,
    release: m.release,
    relations: m.relations,
    files: rpmPaths(h),
    sourceRpm: m.source,
  };
}

/** The installed set from an rpmdb.sqlite file, or from its bytes (a commit's copy). */
export function readRpmdb(source: string | Buffer): RpmPackageSet {
  const records = rpmdbHeaders(source)
    .map(headerRecord)
    .filter((r) => r.name !== "gpg-pubkey");
  return new RpmPackageSet(records, { id: "@installed", installed: true, pin: -1e9 }, parseRpmRich);
}

/**
 * Package files given on the command line, as a repository the resolver may choose from: headers as
 * package commits carry them (`tsostree.pkg.rpm-header`, without the 8-byte magic).
 */
export function localRpmSet(headers: Buffer[]): RpmPackageSet {
  const records = headers.map((b, i) => headerRecord(new RpmHeader(withMagic(b), `local package #${i}`)));
  return new RpmPackageSet(records, { id: "@local", installed: false, pin: 1e9 }, parseRpmRich);
}
