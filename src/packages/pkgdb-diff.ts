// What changed between two package sets (`db diff A B`, `status`): packages are the same "slot" when
// name and arch agree, and a version change is an upgrade or a downgrade by the backend's own order.

/** One side of a change; `version` is the evr. */
export interface DbDiffEntry {
  name: string;
  version: string;
  arch: string;
}

export interface DbDiff {
  added: DbDiffEntry[];
  removed: DbDiffEntry[];
  /** With the new version. */
  upgraded: DbDiffEntry[];
  /** With the new version. */
  downgraded: DbDiffEntry[];
}

interface Versioned {
  name: string;
  arch: string;
  evr: string;
}

const slot = (p: Versioned) => `${p.name}\0${p.arch}`;
const entry = (p: Versioned): DbDiffEntry => ({ name: p.name, version: p.evr, arch: p.arch });
const byNameArch = (a: DbDiffEntry, b: DbDiffEntry) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0;

/**
 * The difference from `from` to `to`; `compare` is the backend's version order on evr strings
 * (compareDebVersions, compareEVR). Every list is sorted by name, then arch.
 */
export function diffPackages(
  from: readonly Versioned[],
  to: readonly Versioned[],
  compare: (a: string, b: string) => number,
): DbDiff {
  const old = new Map(from.map((p) => [slot(p), p]));
  const out: DbDiff = { added: [], removed: [], upgraded: [], downgraded: [] };
  const seen = new Set<string>();
  for (const p of to) {
    const k = slot(p);
    seen.add(k);
    const o = old.get(k);
    if (!o) out.added.push(entry(p));
    else {
      const c = compare(o.evr, p.evr);
      if (c < 0) out.upgraded.push(entry(p));
      else if (c > 0) out.downgraded.push(entry(p));
    }
  }
  for (const [k, o] of old) if (!seen.has(k)) out.removed.push(entry(o));
  for (const list of Object.values(out)) list.sort(byNameArch);
  return out;
}
