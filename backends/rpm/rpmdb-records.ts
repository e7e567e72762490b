// Package database records for the packages an rpm tree already has, from its rpmdb.sqlite: every
// installed header read with the same header, file-list and metadata readers that read a .rpm.
import type { Dep } from "../../src/packages/model.js";
import type { DbFile, DbPackage } from "../../src/packages/pkgdb.js";
import { rpmFiles } from "./files.js";
import type { RpmHeader } from "./header.js";
import { rpmMeta, rpmScripts } from "./meta.js";
import { formatRpmDep } from "./relations.js";
import { rpmdbHeaders } from "./rpmdb.js";
import { formatRpmVersion } from "./version.js";

/** Relation kinds rpm records, in the order rpm -q --requires/--conflicts/… would list them. */
const REQUIRE_KINDS = [
  "pre-depends",
  "depends",
  "recommends",
  "suggests",
  "supplements",
  "enhances",
  "conflicts",
  "obsoletes",
] as const;

/**
 * One record per installed package of an rpmdb.sqlite image (gpg-pubkey entries are keys, not
 * packages). rpm keeps the database in WAL mode but checkpoints it on a clean exit, leaving an empty
 * rpmdb.sqlite-wal; a non-empty one (rpm was killed) holds pages this image lacks.
 */
export function rpmdbRecords(dbBytes: Buffer): DbPackage[] {
  return rpmdbHeaders(dbBytes)
    .map(rpmRecord)
    .filter((p) => p.name !== "gpg-pubkey")
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : 1));
}

/** The record of one installed header: origin "base", not requested. */
export function rpmRecord(h: RpmHeader): DbPackage {
  const m = rpmMeta(h);
  const rel = m.relations;
  return {
    kind: "rpm",
    name: m.name,
    epoch: m.epoch,
    version: m.version,
    release: m.release,
    evr: formatRpmVersion(m),
    arch: m.arch,
    summary: m.summary,
    origin: "base",
    requested: false,
    ...(m.installedSize === undefined ? {} : { installedSize: m.installedSize }),
    provides: (rel.provides ?? []).flatMap((d: Dep) =>
      d.kind === "atom" ? [{ name: d.atom.name, version: d.atom.version ?? "" }] : [],
    ),
    requires: REQUIRE_KINDS.flatMap((kind) =>
      (rel[kind] ?? []).map((d) => ({ kind, text: formatRpmDep(d) })),
    ),
    scripts: rpmScripts(h),
    files: rpmFiles(h).files.map((f): DbFile => {
      // A hardlink is a regular file that shares its content; the record keeps it as one.
      const type = f.type === "hardlink" ? "file" : f.type;
      const out: DbFile = { path: f.path, type, mode: f.mode, user: f.user, group: f.group };
      if (f.digest) out.digest = `${f.digest.algo}:${f.digest.hex}`;
      if (f.type === "symlink" && f.linkTarget !== undefined) out.target = f.linkTarget;
      if (f.config) out.conffile = true;
      return out;
    }),
  };
}
