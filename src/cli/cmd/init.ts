// `tsostree init --mode=MODE`: create a repository (an existing one is left as it is, like ostree).
import type { Command } from "commander";
import { Repo, type RepoMode } from "../../repo/repo.js";
import { repoPath, UsageError, withRepo } from "../common.js";

const MODES: Record<string, RepoMode> = {
  bare: "bare",
  "bare-user": "bare-user",
  "bare-user-only": "bare-user-only",
  archive: "archive",
  "archive-z2": "archive",
};

export function registerInit(program: Command): void {
  withRepo(program.command("init"))
    .description("initialize a new empty repository")
    .option("--mode <mode>", "bare, bare-user, bare-user-only, archive or archive-z2", "bare")
    .option("--collection-id <id>", "globally unique ID for this repository's collection of refs")
    .action((opts: { repo?: string; mode: string; collectionId?: string }) => {
      const mode = MODES[opts.mode];
      if (!mode) throw new UsageError(`Invalid mode '${opts.mode}' in repository configuration`);
      const repo = Repo.init(repoPath(opts), mode);
      if (opts.collectionId) repo.setConfig("core", "collection-id", opts.collectionId);
    });
}
