// `tsostree-pkg status`: every deployment with its base, what was requested and what is actually
// layered, read from origin files and commit metadata (no checkout, no package database read).
import { metadataGet } from "../repo/objects.js";
import { type DeploymentStatus, deploymentStatuses } from "../sysroot/status.js";
import type { Sysroot } from "../sysroot/sysroot.js";
import { baseOf, type LayeredPackageStatus, layeredPackagesOf } from "./layered-commit.js";
import { parseLayerRequest } from "./origin.js";

export interface PkgDeploymentStatus extends DeploymentStatus {
  baseRefspec: string | null;
  baseCommit: string;
  /** Package requests in the origin, as the user typed them. */
  requestedPackages: string[];
  /** Package files requested (`install ./foo.deb`), as NAME-VERSION.ARCH. */
  requestedLocalPackages: string[];
  /** What the commit really layers (requests and their dependencies). */
  layeredPackages: LayeredPackageStatus[];
  /** Requests for packages the base already has (kept in case the base drops them). */
  inactiveRequests: string[];
  overrides: { remove: string[]; replace: string[] };
  /** False when the commit was made with --no-scripts. */
  scripts: boolean;
}

export function pkgDeploymentStatuses(s: Sysroot): PkgDeploymentStatus[] {
  return deploymentStatuses(s).map((st, i) => {
    const d = s.deployments[i]!;
    const req = parseLayerRequest(d.origin);
    const layered = layeredPackagesOf(s.repo, d.csum);
    const have = new Set(layered.map((p) => p.name));
    const requested = req?.packages ?? [];
    const meta = s.repo.loadCommit(d.csum).metadata;
    return {
      ...st,
      origin: st.origin ?? req?.baseRefspec ?? null,
      baseRefspec: req?.baseRefspec ?? null,
      baseCommit: baseOf(s.repo, d.csum),
      requestedPackages: requested,
      requestedLocalPackages: (req?.localPackages ?? []).map((l) => l.nevra),
      layeredPackages: layered,
      inactiveRequests: layered.length ? requested.filter((r) => !have.has(r.split(/[=:]/)[0]!)) : [],
      overrides: {
        remove: req?.removals ?? [],
        replace: (req?.replacements ?? []).map((p) => p.nevra),
      },
      scripts: metadataGet(meta, "tsostree.scripts")?.value !== false,
    };
  });
}

const LABEL_WIDTH = 20;

function line(label: string, value: string): string {
  return `${label.padStart(LABEL_WIDTH)}: ${value}\n`;
}

/** rpm-ostree's status layout: one block per deployment, the booted one marked with ●. */
export function formatPkgStatus(
  list: PkgDeploymentStatus[],
  booted: boolean,
  verbose: boolean,
  /** More rows of a deployment (the live state of the booted one). */
  extraRows: (st: PkgDeploymentStatus) => [string, string][] = () => [],
): string {
  if (!list.length) return "No deployments.\n";
  let out = booted ? "" : "Not booted (sandbox sysroot): the default deployment stands for the booted one.\n";
  out += "Deployments:\n";
  for (const st of list) {
    const marks = [
      st.defaultNextBoot && !st.booted ? "next boot" : "",
      st.pending ? "pending" : "",
      st.rollback ? "rollback" : "",
      st.staged ? "staged" : "",
      st.pinned ? "pinned" : "",
    ].filter(Boolean);
    out += `${st.booted ? "●" : " "} ${st.stateroot}:${st.baseRefspec ?? "(no origin)"}${marks.length ? ` (${marks.join(", ")})` : ""}\n`;
    if (st.version) out += line("Version", st.version);
    if (st.baseCommit !== st.checksum) {
      out += line("BaseCommit", st.baseCommit);
      out += line("Commit", `${st.checksum}.${st.serial}`);
    } else out += line("Commit", `${st.checksum}.${st.serial}`);
    if (st.requestedPackages.length) out += line("LayeredPackages", st.requestedPackages.join(" "));
    if (st.requestedLocalPackages.length) out += line("LocalPackages", st.requestedLocalPackages.join(" "));
    if (st.inactiveRequests.length) out += line("InactiveRequests", st.inactiveRequests.join(" "));
    if (st.overrides.remove.length) out += line("RemovedBasePackages", st.overrides.remove.join(" "));
    if (st.overrides.replace.length) out += line("ReplacedBasePackages", st.overrides.replace.join(" "));
    if (verbose && st.layeredPackages.length)
      out += line(
        "Installed",
        st.layeredPackages
          .map((p) => `${p.name}-${p.version}.${p.arch}`)
          .join("\n" + " ".repeat(LABEL_WIDTH + 2)),
      );
    if (!st.scripts) out += line("Scripts", "not run (--no-scripts)");
    if (st.unlocked !== "none") out += line("Unlocked", st.unlocked);
    const bc = st.bootCounting;
    if (bc?.failed)
      out += line(
        "BootFailed",
        `no boot completed in ${bc.triesDone} tries; the bootloader starts the next entry`,
      );
    else if (bc)
      out += line("BootCounting", `not yet confirmed (${bc.triesLeft} tries left, ${bc.triesDone} done)`);
    for (const [label, value] of extraRows(st)) out += line(label, value);
  }
  return out;
}
