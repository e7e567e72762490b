import { existsSync, lstatSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { prune } from "../repo/prune.js";
import { deleteRef, listRefs, writeRef } from "../repo/refs.js";
import { removeTreeAsync } from "../util/remove-tree.js";
import { deploymentId } from "./deployment.js";
import { faultPoint } from "./fault.js";
import { parseBootcsumDirName, parseDeployName } from "./layout.js";
import type { Sysroot } from "./sysroot.js";

export interface CleanupStats {
  deploymentsRemoved: string[];
  bootDirsRemoved: string[];
}

function cleanupOtherBootversions(s: Sysroot): void {
  const ob = s.bootversion === 0 ? 1 : 0;
  const os = s.subbootversion === 0 ? 1 : 0;
  for (const rel of [
    `boot/loader.${ob}`,
    `ostree/boot.${ob}`,
    `ostree/boot.${ob}.0`,
    `ostree/boot.${ob}.1`,
    `ostree/boot.${s.bootversion}.${os}`,
    "boot/loader.tmp",
  ])
    rmSync(join(s.path, rel), { recursive: true, force: true });
}

/** Starts removing the deployments no list entry has (on the pool); returns the removals. */
function cleanupOldDeployments(s: Sysroot, stats: CleanupStats): Promise<void>[] {
  const removals: Promise<void>[] = [];
  const active = new Set(s.deployments.map((d) => `${d.osname}/${deploymentId(d)}`));
  const activeBoot = new Set(s.deployments.map((d) => d.bootcsum));
  const deployRoot = join(s.path, "ostree/deploy");
  for (const os of readdirSync(deployRoot)) {
    const dir = join(deployRoot, os, "deploy");
    if (!existsSync(dir) || !lstatSync(join(deployRoot, os)).isDirectory()) continue;
    for (const ent of readdirSync(dir, { withFileTypes: true })) {
      const name = ent.name;
      // Origin files sit beside the directories; anything unparsable is not ours to delete.
      if (!ent.isDirectory() || !/^[0-9a-f]+\.[0-9]+$/.test(name)) continue;
      const { csum, serial } = parseDeployName(name);
      if (active.has(`${os}/${csum}.${serial}`)) continue;
      if (s.booted && s.booted.osname === os && s.booted.csum === csum && s.booted.deployserial === serial)
        continue;
      rmSync(join(dir, `${name}.origin`), { force: true });
      const removal = removeTreeAsync(join(dir, name));
      removal.catch(() => {}); // awaited by cleanupSysroot
      removals.push(removal);
      rmSync(join(deployRoot, os, "backing", name), { recursive: true, force: true });
      stats.deploymentsRemoved.push(`${os}/${name}`);
    }
  }
  const bootOstree = join(s.path, "boot/ostree");
  if (!existsSync(bootOstree)) return removals;
  for (const name of readdirSync(bootOstree)) {
    const parsed = parseBootcsumDirName(name);
    if (!parsed || !lstatSync(join(bootOstree, name)).isDirectory()) continue;
    if (activeBoot.has(parsed.bootcsum)) continue;
    rmSync(join(bootOstree, name), { recursive: true, force: true });
    stats.bootDirsRemoved.push(name);
  }
  return removals;
}

/** Keeps `ostree/B/M/I` = deployment I's commit, and drops the refs of other (sub)bootversions. */
export function generateDeploymentRefs(s: Sysroot): void {
  const ob = s.bootversion === 0 ? 1 : 0;
  const os = s.subbootversion === 0 ? 1 : 0;
  const stale = [`ostree/${ob}/0/`, `ostree/${ob}/1/`, `ostree/${s.bootversion}/${os}/`];
  const current = `ostree/${s.bootversion}/${s.subbootversion}/`;
  const want = new Map(s.deployments.map((d, i) => [`${current}${i}`, d.csum]));
  for (const [ref, csum] of listRefs(s.repo, { remotes: false })) {
    if (stale.some((p) => ref.startsWith(p))) deleteRef(s.repo, ref);
    else if (ref.startsWith(current)) {
      if (!want.has(ref)) deleteRef(s.repo, ref);
      else if (want.get(ref) === csum) want.delete(ref);
    }
  }
  for (const [ref, csum] of want) writeRef(s.repo, ref, csum);
}

/**
 * The whole cleanup. With `prune` (ostree's final cleanup) unreachable objects are deleted too:
 * reachability is refs only, depth 0 — the deployment refs written just before keep every
 * deployed commit.
 */
export async function cleanupSysroot(s: Sysroot, opts: { prune?: boolean } = {}): Promise<CleanupStats> {
  const stats: CleanupStats = { deploymentsRemoved: [], bootDirsRemoved: [] };
  cleanupOtherBootversions(s);
  // The old deployments' directories are removed on the pool while this thread writes the refs
  // and prunes: both grow with the base, and the one is kernel work, the other JavaScript.
  const removed = Promise.allSettled(cleanupOldDeployments(s, stats));
  try {
    generateDeploymentRefs(s);
    faultPoint("refs-written");
    if (opts.prune) {
      const r = await prune(s.repo, { refsOnly: true, depth: 0 });
      if (r.freedBytes > 0 && !process.env.TSOSTREE_QUIET)
        process.stdout.write(`Freed objects: ${formatSize(r.freedBytes)}\n`);
      faultPoint("pruned");
    }
  } catch (e) {
    await removed; // never leave a removal running behind a failure
    throw e;
  }
  const failed = (await removed).find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  faultPoint("deployments-removed");
  return stats;
}

/** g_format_size: SI units with one decimal ("1.2 MB"), bytes below 1000. */
export function formatSize(n: number): string {
  if (n < 1000) return `${n} bytes`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
