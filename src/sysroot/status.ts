// What `admin status` shows: ostree's text layout (so scripts that parse it keep working) plus a
// JSON form that states plainly what boots next and what a rollback would pick.
import { metadataGet } from "../repo/objects.js";
import type { Repo } from "../repo/repo.js";
import { triesUsedUp } from "./boot-counting.js";
import { type Deployment, deploymentPinned, sameDeployment } from "./deployment.js";
import { originRefspec } from "./origin.js";
import type { Sysroot } from "./sysroot.js";

export interface DeploymentStatus {
  index: number;
  stateroot: string;
  checksum: string;
  serial: number;
  booted: boolean;
  pending: boolean;
  rollback: boolean;
  staged: boolean;
  /** This deployment is what the bootloader starts by default next time. */
  defaultNextBoot: boolean;
  pinned: boolean;
  unlocked: string;
  version: string | null;
  sourceTitle: string | null;
  origin: string | null;
  bootcsum: string;
  kernelArgs: string;
  /**
   * Boot counting (systemd's boot assessment), null when the entry is not on trial: tries left and
   * done; `failed` when none are left, so the bootloader starts the next entry instead.
   */
  bootCounting: { triesLeft: number; triesDone: number; failed: boolean } | null;
}

/** What the bootloader starts next: the first entry whose tries are not used up (the first if all are). */
export function nextBootIndex(s: Sysroot): number {
  const i = s.deployments.findIndex((d) => !d.staged && !triesUsedUp(d.bootCounter));
  return Math.max(i, 0);
}

function meta(repo: Repo, csum: string, key: string): string | null {
  try {
    const v = metadataGet(repo.loadCommit(csum).metadata, key);
    return v && typeof v.value === "string" ? v.value : null;
  } catch {
    return null;
  }
}

export function deploymentStatuses(s: Sysroot): DeploymentStatus[] {
  const q = s.booted ? s.queryDeploymentsFor(s.booted.osname) : { pending: null, rollback: null };
  const next = nextBootIndex(s);
  return s.deployments.map((d: Deployment, i) => ({
    index: i,
    stateroot: d.osname,
    checksum: d.csum,
    serial: d.deployserial,
    booted: sameDeployment(d, s.booted),
    pending: sameDeployment(d, q.pending),
    rollback: sameDeployment(d, q.rollback),
    staged: d.staged,
    defaultNextBoot: i === next,
    pinned: deploymentPinned(d),
    unlocked: d.unlocked,
    version: meta(s.repo, d.csum, "version"),
    sourceTitle: meta(s.repo, d.csum, "ostree.source-title"),
    origin: d.origin ? originRefspec(d.origin) : null,
    bootcsum: d.bootcsum,
    kernelArgs: (d.bootconfig.get("options") ?? "")
      .split(" ")
      .filter((a) => a && !a.startsWith("ostree="))
      .join(" "),
    bootCounting: d.bootCounter
      ? { triesLeft: d.bootCounter.left, triesDone: d.bootCounter.done, failed: triesUsedUp(d.bootCounter) }
      : null,
  }));
}

/** ostree's `admin status` text, byte for byte for what we support (no GPG lines). */
export function formatStatus(s: Sysroot): string {
  const list = deploymentStatuses(s);
  if (list.length === 0) return "No deployments.\n";
  let out = "";
  for (const [i, st] of list.entries()) {
    const d = s.deployments[i]!;
    const tag = st.staged ? " (staged)" : st.pending ? " (pending)" : st.rollback ? " (rollback)" : "";
    out += `${st.booted ? "*" : " "} ${st.stateroot} ${st.checksum}.${st.serial}${tag}\n`;
    if (st.version) out += `    Version: ${st.version}\n`;
    if (st.unlocked !== "none") out += `    Unlocked: ${st.unlocked}\n`;
    if (st.pinned) out += "    Pinned: yes\n";
    const bc = st.bootCounting;
    if (bc?.failed)
      out += `    Boot failed: no boot reached boot-complete.target in ${bc.triesDone} tries; the bootloader starts the next entry\n`;
    else if (bc)
      out += `    Boot counting: not yet confirmed by a completed boot (${bc.triesLeft} tries left, ${bc.triesDone} done)\n`;
    if (!d.origin) out += "    origin: none\n";
    else {
      out +=
        st.origin === null ? "    origin: <unknown origin type>\n" : `    origin refspec: ${st.origin}\n`;
      if (st.sourceTitle) out += `    \`- ${st.sourceTitle}\n`;
    }
  }
  return out;
}

export interface SysrootStatus {
  booted: boolean;
  /** `STATEROOT CSUM.SERIAL` the bootloader starts next, or null without deployments. */
  nextBoot: string | null;
  /** What `admin rollback` would make the default, or null when there is nothing to roll back to. */
  rollbackTarget: string | null;
  deployments: DeploymentStatus[];
}

/** The JSON of `admin status --json`; `rollbackTarget` comes from the same rule `rollback` uses. */
export function sysrootStatus(
  s: Sysroot,
  rollbackPick: (s: Sysroot, osname: string) => Deployment | null,
): SysrootStatus {
  const id = (d: Deployment | null | undefined) => (d ? `${d.osname} ${d.csum}.${d.deployserial}` : null);
  const os = s.booted?.osname ?? s.deployments[0]?.osname;
  return {
    booted: !!s.booted,
    nextBoot: id(s.deployments[nextBootIndex(s)]),
    rollbackTarget: os ? id(rollbackPick(s, os)) : null,
    deployments: deploymentStatuses(s),
  };
}
