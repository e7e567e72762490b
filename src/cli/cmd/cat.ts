// `tsostree cat REV PATH…`: write regular files from a commit to stdout.
import type { Command } from "commander";
import { S_IFMT, S_IFREG } from "../../repo/objects.js";
import { resolveRev } from "../../repo/refs.js";
import { RepoError } from "../../repo/repo.js";
import { lookupPath, rootEntry } from "../../repo/walk.js";
import { openRepo, withRepo } from "../common.js";

export function registerCat(program: Command): void {
  withRepo(program.command("cat"))
    .description("concatenate contents of files")
    .argument("<rev>", "commit or ref")
    .argument("<paths...>", "files inside the commit")
    .action((rev: string, paths: string[], opts: { repo?: string }) => {
      const repo = openRepo(opts);
      const root = rootEntry(repo, resolveRev(repo, rev) as string);
      for (const p of paths) {
        const e = lookupPath(repo, root, p);
        if (e.kind !== "file") throw new RepoError(`${p}: is a directory`);
        const f = repo.loadFile(e.checksum);
        if ((f.meta.mode & S_IFMT) !== S_IFREG) throw new RepoError(`${p}: not a regular file`);
        process.stdout.write(f.read());
      }
    });
}
