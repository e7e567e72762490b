// `tsostree prune`: delete unreachable objects, with ostree's flags and summary lines.
import type { Command } from "commander";
import { parseDateSpec, prune } from "../../repo/prune.js";
import { resolveRev } from "../../repo/refs.js";
import { openRepo, printJson, withJson, withRepo } from "../common.js";
import { formatSize } from "../format.js";

interface PruneCliOpts {
  repo?: string;
  json?: boolean;
  noPrune?: boolean;
  refsOnly?: boolean;
  depth?: string;
  deleteCommit?: string;
  keepYoungerThan?: string;
}

export function registerPrune(program: Command): void {
  withJson(withRepo(program.command("prune")))
    .description("search for unreachable objects and delete them")
    .option("--no-prune", "only display unreachable objects; don't delete")
    .option("--refs-only", "only compute reachability via refs")
    .option("--depth <depth>", "only traverse DEPTH parents for each commit (default: -1=infinite)")
    .option("--delete-commit <commit>", "specify a commit to delete")
    .option("--keep-younger-than <date>", "prune all commits older than the specified date")
    .action(async (opts: PruneCliOpts) => {
      const repo = openRepo(opts);
      // commander turns --no-prune into prune=false.
      const noPrune = (opts as { prune?: boolean }).prune === false;
      const r = await prune(repo, {
        noPrune,
        refsOnly: opts.refsOnly,
        depth: opts.depth === undefined ? -1 : Number.parseInt(opts.depth, 10),
        deleteCommit: opts.deleteCommit ? (resolveRev(repo, opts.deleteCommit) as string) : undefined,
        keepYoungerThan: opts.keepYoungerThan ? parseDateSpec(opts.keepYoungerThan) : undefined,
      });
      if (opts.json) return printJson(r);
      let out = `Total objects: ${r.total}\n`;
      if (r.pruned === 0) out += "No unreachable objects\n";
      else if (noPrune) out += `Would delete: ${r.pruned} objects, freeing ${formatSize(r.freedBytes)}\n`;
      else out += `Deleted ${r.pruned} objects, ${formatSize(r.freedBytes)} freed\n`;
      process.stdout.write(out);
    });
}
