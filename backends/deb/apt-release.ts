// apt's Release / InRelease files: which indexes a suite has, their checksums, and how long the
// signed statement is valid.
import { field, parseDeb822 } from "./deb822.js";

export class ReleaseError extends Error {
  override name = "ReleaseError";
}

export interface ReleaseEntry {
  sha256: string;
  size: number;
}

export interface Release {
  suite?: string;
  codename?: string;
  /** Origin, Label and Version: what `Pin: release o= l= v=` test. */
  origin?: string;
  label?: string;
  version?: string;
  date?: Date;
  validUntil?: Date;
  notAutomatic: boolean;
  butAutomaticUpgrades: boolean;
  /** Index path (relative to the Release file) → checksum and size. */
  files: Map<string, ReleaseEntry>;
}

function date(v: string | undefined): Date | undefined {
  if (!v) return undefined;
  const d = new Date(v.replace(/\bUTC\b/, "GMT"));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function parseRelease(text: string, what: string): Release {
  let st: Record<string, string> | undefined;
  try {
    [st] = parseDeb822(text);
  } catch (e) {
    throw new ReleaseError(`${what}: malformed Release file (${(e as Error).message})`);
  }
  if (!st) throw new ReleaseError(`${what}: empty Release file`);
  const files = new Map<string, ReleaseEntry>();
  for (const line of (field(st, "SHA256") ?? "").split("\n")) {
    const w = line.trim().split(/\s+/);
    if (w.length === 3) files.set(w[2], { sha256: w[0].toLowerCase(), size: Number(w[1]) });
  }
  if (files.size === 0)
    throw new ReleaseError(`${what}: the Release file lists no SHA256 checksums; apt would refuse it too`);
  return {
    suite: field(st, "Suite"),
    codename: field(st, "Codename"),
    origin: field(st, "Origin"),
    label: field(st, "Label"),
    version: field(st, "Version"),
    date: date(field(st, "Date")),
    validUntil: date(field(st, "Valid-Until")),
    notAutomatic: field(st, "NotAutomatic") === "yes",
    butAutomaticUpgrades: field(st, "ButAutomaticUpgrades") === "yes",
    files,
  };
}

/** apt's default pin priority for a suite's packages. */
export function releasePin(r: Release): number {
  if (r.notAutomatic) return r.butAutomaticUpgrades ? 100 : 1;
  return 500;
}

export function checkValidUntil(r: Release, what: string, now = new Date()): void {
  if (r.validUntil && r.validUntil.getTime() < now.getTime())
    throw new ReleaseError(
      `${what}: the Release file expired on ${r.validUntil.toISOString()} (Valid-Until); the mirror is stale or replayed — refresh from an up-to-date mirror`,
    );
}

/** The best compressed variant of an index the Release offers, most compact first. */
export function pickIndex(r: Release, base: string): { path: string; entry: ReleaseEntry } | undefined {
  for (const ext of [".xz", ".zst", ".gz", ".bz2", ".lz4", ""]) {
    const entry = r.files.get(base + ext);
    if (entry) return { path: base + ext, entry };
  }
  return undefined;
}
