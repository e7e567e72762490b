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

/**
 * No solution: `chain` says why, outermost first. The message is one line (the chain, then what to
 * do unless the last reason says it already), as a command prints it.
 */
export class UnsolvableError extends Error {
  override name = "UnsolvableError";
  constructor(readonly chain: string[]) {
    super(`${chain.join("; ")}${unsolvableAdvice(chain.at(-1) ?? "")}`);
  }
}

function unsolvableAdvice(last: string): string {
  if (last.includes("; ")) return "";
  if (last.startsWith("unable to locate package"))
    return "; check the name, or configure a repository that has it";
  return "; configure a repository that has what is missing, or leave the package out of the request";
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
