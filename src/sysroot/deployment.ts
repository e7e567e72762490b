// A deployment: one checked-out OS tree of a stateroot, with its boot entry and origin. Identity
// is (stateroot, commit, deployserial), exactly as `ostree_deployment_equal` compares them.

import type { KeyFile } from "../util/keyfile.js";
import { BootConfig } from "./bls.js";
import type { BootCounter } from "./boot-counting.js";
import { deploymentRelPath, originRelPath } from "./layout.js";
import { isPinned } from "./origin.js";

export type UnlockedState = "none" | "development" | "transient" | "hotfix";

export interface Deployment {
  osname: string;
  csum: string;
  deployserial: number;
  bootcsum: string;
  /** Assigned when the deployment list is written: index among deployments sharing a bootcsum. */
  bootserial: number;
  origin: KeyFile | null;
  /** The BLS entry (for a new deployment: only `options`, the rest is filled in when written). */
  bootconfig: BootConfig;
  index: number;
  staged: boolean;
  unlocked: UnlockedState;
  /** The boot counter in its entry's file name (systemd's boot assessment), null when not on trial. */
  bootCounter: BootCounter | null;
}

export function newDeployment(
  osname: string,
  csum: string,
  deployserial: number,
  bootcsum: string,
  origin: KeyFile | null,
  kargs: string | null,
): Deployment {
  const bootconfig = new BootConfig();
  if (kargs !== null) bootconfig.set("options", kargs);
  return {
    osname,
    csum,
    deployserial,
    bootcsum,
    bootserial: -1,
    origin,
    bootconfig,
    index: -1,
    staged: false,
    unlocked: "none",
    bootCounter: null,
  };
}

export function sameDeployment(a: Deployment | null | undefined, b: Deployment | null | undefined): boolean {
  return !!a && !!b && a.osname === b.osname && a.csum === b.csum && a.deployserial === b.deployserial;
}

export function deploymentId(d: Pick<Deployment, "csum" | "deployserial">): string {
  return `${d.csum}.${d.deployserial}`;
}

export function deploymentPath(sysroot: string, d: Deployment): string {
  return `${sysroot}/${deploymentRelPath(d.osname, d.csum, d.deployserial)}`;
}

export function originPath(sysroot: string, d: Deployment): string {
  return `${sysroot}/${originRelPath(d.osname, d.csum, d.deployserial)}`;
}

export function deploymentPinned(d: Deployment): boolean {
  return isPinned(d.origin);
}

/** A shallow copy whose boot config can be changed without touching the original. */
export function cloneDeployment(d: Deployment): Deployment {
  return { ...d, bootconfig: d.bootconfig.clone() };
}
