// The staged-deployment state file (RUN/ostree/staged-deployment): ostree's a{sv} GVariant with
// `target` and `merge-deployment` (each {name: CSUM.SERIAL, osname, bootcsum}) and `kargs`.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { deserialize, type GVValue, serialize, Variant } from "../gvariant/index.js";
import { runDir } from "./booted.js";
import type { Deployment } from "./deployment.js";
import { parseDeployName } from "./layout.js";

export class StagedStateError extends Error {
  override name = "StagedStateError";
}

export interface StagedPlan {
  target: { osname: string; csum: string; serial: number; bootcsum: string };
  merge: { osname: string; csum: string; serial: number } | null;
  kargs: string[] | null;
}

export function stagedPath(sysroot: string): string {
  return join(runDir(sysroot), "ostree/staged-deployment");
}

export function stagedLockedPath(sysroot: string): string {
  return join(runDir(sysroot), "ostree/staged-deployment-locked");
}

function deploymentDict(d: Deployment): Variant {
  return Variant.of("a{sv}", [
    ["name", Variant.of("s", `${d.csum}.${d.deployserial}`)],
    ["osname", Variant.of("s", d.osname)],
    ["bootcsum", Variant.of("s", d.bootcsum)],
  ]);
}

export function serializePlan(target: Deployment, merge: Deployment | null, kargs: string[] | null): Buffer {
  const entries: [string, Variant][] = [["target", deploymentDict(target)]];
  if (merge) entries.push(["merge-deployment", deploymentDict(merge)]);
  if (kargs) entries.push(["kargs", Variant.of("as", kargs)]);
  return serialize("a{sv}", entries as unknown as GVValue);
}

function dictGet(entries: [string, Variant][], key: string): GVValue | undefined {
  return entries.find(([k]) => k === key)?.[1].value;
}

export function parsePlan(data: Buffer): StagedPlan {
  const top = deserialize("a{sv}", data) as [string, Variant][];
  const dep = (v: GVValue | undefined) => {
    if (!v) return null;
    const e = v as [string, Variant][];
    const name = dictGet(e, "name") as string | undefined;
    const osname = dictGet(e, "osname") as string | undefined;
    if (!name || !osname) throw new StagedStateError("staged deployment state is missing name/osname");
    const { csum, serial } = parseDeployName(name);
    return { osname, csum, serial, bootcsum: (dictGet(e, "bootcsum") as string | undefined) ?? "" };
  };
  const target = dep(dictGet(top, "target"));
  if (!target) throw new StagedStateError("staged deployment state has no target");
  return {
    target,
    merge: dep(dictGet(top, "merge-deployment")),
    kargs: (dictGet(top, "kargs") as string[]) ?? null,
  };
}

export function readPlan(sysroot: string): StagedPlan | null {
  const p = stagedPath(sysroot);
  return existsSync(p) ? parsePlan(readFileSync(p)) : null;
}
