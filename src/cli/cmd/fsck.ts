// `tsostree fsck [--delete] [--quiet]`: verify every object's checksum; messages as ostree's.
import type { Command } from "commander";
import { fsck } from "../../repo/fsck.js";
import { RepoError } from "../../repo/repo.js";
import { openRepo, printJson, withJson, withRepo } from "../common.js";

export function registerFsck(program: Command): void {
  withJson(withRepo(program.command("fsck")))
    .description("check the repository for consistency")
    .option("-q, --quiet", "only print error messages")
    .option("--delete", "remove corrupted objects (and mark their commits partial)")
    .option("-a, --all", "don't stop on first error (always the case here)")
    .action(async (opts: { repo?: string; json?: boolean; quiet?: boolean; delete?: boolean }) => {
      const repo = openRepo(opts);
      const lock = await repo.lock(opts.delete ? "exclusive" : "shared");
      const say = (l: string) => {
        if (!opts.quiet && !opts.json) process.stdout.write(`${l}\n`);
      };
      let r: ReturnType<typeof fsck>;
      try {
        r = fsck(repo, { delete: opts.delete, onProgress: say });
      } finally {
        lock.release();
      }
      if (opts.json) printJson(r);
      else {
        for (const p of r.problems) process.stderr.write(`${p.message}\n`);
        for (const c of r.markedPartial) process.stderr.write(`Marking commit as partial: ${c}\n`);
        if (r.partialCommits > 0) say(`${r.partialCommits} partial commits not verified`);
      }
      if (r.problems.length) throw new RepoError("Repository corruption encountered");
      if (!opts.json)
        process.stdout.write(
          `object fsck of ${r.commits} commits completed successfully - no errors found.\n`,
        );
    });
}
