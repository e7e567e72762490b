// The steps of a layered assembly wired together: relocation of each package tree, the native
// package database (dpkg status and info, or the rpmdb), the scripts, our SQLite package database,
// and the commit metadata that `status` and `db` read without a checkout.
import { createHash } from "node:crypto";
import { Variant } from "../gvariant/index.js";
import type { Repo } from "../repo/repo.js";
import { type AssemblySteps, assemble, type LayerPackage } from "./assemble.js";
import type { LayerRequest } from "./origin.js";

export interface LayeredOptions {
  noScripts: boolean;
  progress(msg: string): void;
}

/** sha256 over the sorted `kind name evr arch` lines: equal package sets, equal digests. */
export function packageSetDigest(pkgs: readonly LayerPackage[]): string {
  const lines = pkgs.map((p) => `${p.kind} ${p.name} ${p.evr} ${p.arch}\n`).sort();
  return createHash("sha256").update(lines.join("")).digest("hex");
}

export async function assembleLayered(
  repo: Repo,
  base: string,
  packages: LayerPackage[],
  request: LayerRequest,
  o: LayeredOptions,
): Promise<string> {
  const steps: AssemblySteps = { after: [] };
  const layered = packages.map((p) => [p.name, p.evr, p.arch]);
  return assemble({
    repo,
    base,
    packages,
    steps,
    subject: `Layered ${request.packages.join(", ")}`,
    metadata: [
      ["tsostree.clientlayer", Variant.of("b", true)],
      ["tsostree.base-commit", Variant.of("s", base)],
      ["tsostree.requested-packages", Variant.of("as", request.packages)],
      ["tsostree.layered-packages", Variant.of("a(sss)", layered)],
      ["tsostree.packageset-digest", Variant.of("s", packageSetDigest(packages))],
      ["tsostree.scripts", Variant.of("b", !o.noScripts)],
    ],
    progress: o.progress,
  });
}
