// `tsostree-pkg cleanup -p|-r|-b|-m`: rpm-ostree's cleanup verbs. Deployments go through the
// sysroot's own list writer (so the boot entries swap atomically); package commits that no
// deployment layers any more lose their refs and the repository is pruned under its lock.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { escapeRefFragment } from "../packages/import.js";
import { prune } from "../repo/prune.js";
import { deleteRef, listRefs } from "../repo/refs.js";
import { commitDeploymentList } from "../sysroot/deploy.js";
import { stateroot } from "../sysroot/layout.js";
import { withLockedSysroot } from "../sysroot/ops.js";
import { layeredPackagesOf } from "./layered-commit.js";
import { dropBaseLowers } from "./lower.js";

export interface CleanupRequest {
  osname?: string;
  pending: boolean;
  rollback: boolean;
  base: boolean;
  repomd: boolean;
}

export async function cleanupLayering(path: string, r: CleanupRequest): Promise<{ messages: string[] }> {
  const messages: string[] = [];
  await withLockedSysroot(path, async (s) => {
    const os = s.resolveOsname(r.osname);
    let list = s.deployments;
    const dropped = new Set<string>();
    if (r.pending || r.rollback) {
      const booted = s.booted?.osname === os ? s.booted : s.deployments.find((d) => d.osname === os);
      const q =
        s.booted?.osname === os
          ? s.queryDeploymentsFor(os)
          : {
              pending: null,
              rollback: s.deployments.filter((d) => d.osname === os)[1] ?? null,
            };
      for (const [want, d, what] of [
        [r.pending, q.pending, "pending"],
        [r.rollback, q.rollback, "rollback"],
      ] as const) {
        if (!want) continue;
        if (!d || d === booted) messages.push(`No ${what} deployment to remove`);
        else {
          dropped.add(`${d.csum}.${d.deployserial}`);
          messages.push(`Removed ${what} deployment ${d.csum}.${d.deployserial}`);
        }
      }
      list = list.filter((d) => !dropped.has(`${d.csum}.${d.deployserial}`));
      if (dropped.size) s = await commitDeploymentList(s, list);
    }
    if (r.base) {
      const used = new Set<string>();
      for (const d of s.deployments)
        for (const p of layeredPackagesOf(s.repo, d.csum))
          used.add(`${escapeRefFragment(p.name)}/${escapeRefFragment(`${p.version}.${p.arch}`)}`);
      let n = 0;
      for (const [ref] of listRefs(s.repo)) {
        if (!ref.startsWith("tsostree/pkg/")) continue;
        const key = ref.split("/").slice(3).join("/");
        if (used.has(key)) continue;
        deleteRef(s.repo, ref);
        n++;
      }
      // The base checkouts the script sandbox keeps (lower.ts) are a cache too.
      dropBaseLowers(s.repo);
      const pr = await prune(s.repo, { refsOnly: true });
      messages.push(
        `Removed ${n} unused package commit ref${n === 1 ? "" : "s"}; pruned ${pr.pruned} objects`,
      );
    }
    if (r.repomd) {
      rmSync(join(stateroot(s.path, os), "var/cache/tsostree/md"), { recursive: true, force: true });
      messages.push("Deleted the cached repository metadata");
    }
  });
  return { messages };
}
