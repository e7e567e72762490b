// `tsostree-pkg refresh-md [--force]`: bring the metadata cache up to date with the repositories.
import type { Command } from "commander";
import { addRepoOptions, loadWorld, type RepoCliOptions, requireRepositories } from "./resolve.js";

export function registerRefreshMd(program: Command): void {
  addRepoOptions(program.command("refresh-md").description("refresh the repository metadata cache"))
    .option("--force", "fetch everything again, even when the cache is fresh")
    .action(async (o: RepoCliOptions & { force?: boolean }) => {
      const world = await loadWorld(o, { refresh: true, force: o.force });
      requireRepositories(world, o);
      for (const r of world.repos) process.stdout.write(`${r.id}: up to date\n`);
    });
}
