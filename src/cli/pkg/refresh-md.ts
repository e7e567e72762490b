// `tsostree-pkg refresh-md [--force]`: bring the metadata cache up to date with the repositories.
import type { Command } from "commander";
import { loadAptSource, sourceId } from "../../../backends/deb/apt-repo.js";
import { treeTrustedKeyrings } from "../../../backends/deb/apt-sources.js";
import { aptSources } from "../../../backends/deb/apt-world.js";
import { addRepoOptions, cacheFor, type RepoCliOptions } from "./resolve.js";

export function registerRefreshMd(program: Command): void {
  addRepoOptions(program.command("refresh-md").description("refresh the repository metadata cache"))
    .option("--force", "fetch everything again, even when the cache is fresh")
    .action(async (o: RepoCliOptions & { force?: boolean }) => {
      const cache = cacheFor(o);
      const sources = aptSources({ root: o.root, sourcesLists: o.sourcesList, repoUrls: o.repoUrl });
      if (sources.length === 0)
        throw new Error("no repositories configured; pass --root, --sources-list or --repo-url");
      const keyrings = o.root ? treeTrustedKeyrings(o.root) : [];
      for (const src of sources) {
        const sets = await loadAptSource(src, {
          arch: o.arch,
          keyrings,
          extraKeyrings: o.keyring,
          cache,
          root: o.root,
          refresh: true,
          force: o.force,
        });
        const n = sets.reduce((a, s) => a + s.index.size, 0);
        process.stdout.write(`${sourceId(src)}: ${n} packages\n`);
      }
    });
}
