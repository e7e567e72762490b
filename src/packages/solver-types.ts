// The resolver's inputs and outputs: requests, options, the transaction, and the error carrying the
// chain of why no solution exists.
import type { PkgVersion } from "./index.js";

export interface InstallRequest {
  name: string;
  arch?: string;
  /** Exact version (apt `pkg=version`, dnf `pkg-version`). */
  version?: string;
}

export interface SolveOptions {
  recommends: boolean;
}

export interface Upgrade {
  from: PkgVersion;
  to: PkgVersion;
}

export interface Transaction {
  install: PkgVersion[];
  upgrade: Upgrade[];
  remove: PkgVersion[];
  /** Requested packages that are already installed at their candidate version. */
  unchanged: PkgVersion[];
}

export class UnsolvableError extends Error {
  override name = "UnsolvableError";
  constructor(readonly chain: string[]) {
    super(chain.join("\n  "));
  }
}

/** The difference between the target state and the installed set, sorted by name. */
export function buildTransaction(
  state: ReadonlyMap<string, PkgVersion | null>,
  original: ReadonlyMap<string, PkgVersion>,
  unchanged: PkgVersion[],
): Transaction {
  const t: Transaction = { install: [], upgrade: [], remove: [], unchanged };
  for (const [slot, v] of state) {
    const old = original.get(slot);
    if (v === null) {
      if (old) t.remove.push(old);
    } else if (!old) t.install.push(v);
    else if (old.evr !== v.evr || old.arch !== v.arch) t.upgrade.push({ from: old, to: v });
  }
  const byName = (a: PkgVersion, b: PkgVersion) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  t.install.sort(byName);
  t.remove.sort(byName);
  t.upgrade.sort((a, b) => byName(a.to, b.to));
  return t;
}
