// `tsostree reset REF REV`: point an existing ref at another commit.
import type { Command } from "commander";
import { readRef, resolveRev, writeRef } from "../../repo/refs.js";
import { RepoError } from "../../repo/repo.js";
import { openRepo, withRepo } from "../common.js";

export function registerReset(program: Command): void {
  withRepo(program.command("reset"))
    .description("reset a REF to a previous COMMIT")
    .argument("<ref>", "existing ref")
    .argument("<rev>", "commit or ref to point it at")
    .action(async (ref: string, rev: string, opts: { repo?: string }) => {
      const repo = openRepo(opts);
      if (!readRef(repo, ref)) throw new RepoError(`Refspec '${ref}' not found`);
      const target = resolveRev(repo, rev) as string;
      repo.loadCommit(target);
      const lock = await repo.lock("shared");
      try {
        writeRef(repo, ref, target);
      } finally {
        lock.release();
      }
    });
}
