// Deleting unreachable objects under the exclusive repo lock, as `ostree prune` does. Reachability
// starts from every commit object (default) or only from refs (`refsOnly`, `keepYoungerThan`),
// following parents to `depth`.
import { lstatSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { listRefs } from "./refs.js";
import { type Repo, RepoError } from "./repo.js";
import { listObjects, type ObjectName, parseObjectName, traverseCommit } from "./traverse.js";

export interface PruneOptions {
  refsOnly?: boolean;
  /** Parents to keep per commit: -1 (default) = all. */
  depth?: number;
  /** Unix seconds: along each ref, keep only commits at least this recent (implies refsOnly). */
  keepYoungerThan?: number;
  /** Delete this commit first (refused while a ref points at it). */
  deleteCommit?: string;
  /** Only count what would be deleted. */
  noPrune?: boolean;
}

export interface PruneResult {
  total: number;
  pruned: number;
  freedBytes: number;
  deleted: ObjectName[];
}

export class PruneError extends RepoError {
  override name = "PruneError";
}

function storageSize(repo: Repo, name: ObjectName): number {
  const { checksum, type } = parseObjectName(name);
  try {
    return lstatSync(repo.objectPath(checksum, type)).size;
  } catch {
    return 0;
  }
}

/** Removes a commit object with its detached metadata and partial marker. */
function deleteCommitObject(repo: Repo, csum: string): void {
  unlinkSync(repo.objectPath(csum, "commit"));
  rmSync(repo.objectPath(csum, "commitmeta"), { force: true });
  rmSync(join(repo.path, "state", `${csum}.commitpartial`), { force: true });
}

export async function prune(repo: Repo, opts: PruneOptions = {}): Promise<PruneResult> {
  if (opts.deleteCommit && opts.noPrune)
    throw new PruneError("Cannot specify both --delete-commit and --no-prune");
  const lock = await repo.lock(opts.noPrune ? "shared" : "exclusive");
  try {
    if (opts.deleteCommit) {
      const c = opts.deleteCommit;
      for (const [ref, target] of listRefs(repo))
        if (target === c) throw new PruneError(`Commit '${c}' is referenced by '${ref}'`);
      if (!repo.hasObject(c, "commit")) throw new PruneError(`No such commit ${c}`);
      deleteCommitObject(repo, c);
    }
    const depth = opts.depth ?? -1;
    const reachable = new Set<ObjectName>();
    const objects = listObjects(repo);
    if (opts.refsOnly || opts.keepYoungerThan !== undefined) {
      for (const [, csum] of listRefs(repo)) {
        if (opts.keepYoungerThan !== undefined) keepYounger(repo, csum, opts.keepYoungerThan, reachable);
        else traverseCommit(repo, csum, reachable, { depth });
      }
    } else {
      for (const name of objects)
        if (name.endsWith(".commit"))
          traverseCommit(repo, parseObjectName(name).checksum, reachable, { depth });
    }
    const result: PruneResult = { total: objects.length, pruned: 0, freedBytes: 0, deleted: [] };
    for (const name of objects) {
      if (reachable.has(name)) continue;
      result.pruned++;
      result.freedBytes += storageSize(repo, name);
      if (opts.noPrune) continue;
      const { checksum, type } = parseObjectName(name);
      if (type === "commit") deleteCommitObject(repo, checksum);
      else unlinkSync(repo.objectPath(checksum, type));
      result.deleted.push(name);
    }
    return result;
  } finally {
    lock.release();
  }
}

/** The ref's commit always stays; ancestors stay while they are at least `since` recent. */
function keepYounger(repo: Repo, csum: string, since: number, reachable: Set<ObjectName>): void {
  traverseCommit(repo, csum, reachable, { depth: 0 });
  let next: string | null = csum;
  while (next && repo.hasObject(next, "commit")) {
    const c = repo.loadCommit(next);
    if (c.timestamp < since) break;
    traverseCommit(repo, next, reachable, { depth: 0 });
    next = c.parent;
  }
}

/**
 * Parses the dates `--keep-younger-than` accepts: `N UNIT[s] ago` (second … year), `@EPOCH`, or
 * anything Date.parse understands (`2024-01-31`, `2024-01-31 12:00:00Z`).
 */
export function parseDateSpec(spec: string, now = Date.now() / 1000): number {
  const s = spec.trim();
  const rel = /^(\d+)\s*(second|minute|hour|day|week|month|year)s?\s+ago$/i.exec(s);
  if (rel) {
    const unit: Record<string, number> = {
      second: 1,
      minute: 60,
      hour: 3600,
      day: 86400,
      week: 604800,
      month: 2592000,
      year: 31536000,
    };
    return Math.floor(now - Number(rel[1]) * unit[rel[2]!.toLowerCase()]!);
  }
  if (/^@\d+$/.test(s)) return Number(s.slice(1));
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new PruneError(`Could not parse '${spec}'`);
  return Math.floor(t / 1000);
}
