// `tsostree-pkg import --repo=REPO FILE…`: each package becomes one commit under its own ref.
import type { Command } from "commander";
import { type ImportResult, importPackages } from "../../packages/import.js";
import { Repo } from "../../repo/repo.js";
import { errorLine } from "../../util/errno.js";
import { printJson } from "../common.js";

export function registerImport(program: Command): void {
  program
    .command("import")
    .description(
      "import .deb/.rpm files into an OSTree repository, one commit per package under tsostree/pkg/KIND/NAME/EVR.ARCH; files already imported are skipped",
    )
    .requiredOption("--repo <path>", "the OSTree repository to import into")
    .option("--json", "print one JSON array of results")
    .argument("<files...>", ".deb or .rpm files")
    .action(async (files: string[], opts: { repo: string; json?: boolean }) => {
      const repo = Repo.open(opts.repo);
      const tty = process.stderr.isTTY && !opts.json;
      let done = 0;
      const progress = (r: ImportResult) => {
        done++;
        if (tty) process.stderr.write(`\r[${done}/${files.length}] ${r.name} ${r.version}\x1b[K`);
      };
      const { results, errors } = await importPackages(repo, files, progress);
      if (tty) process.stderr.write("\r\x1b[K");
      const ok = results.filter((r) => r !== undefined);
      if (opts.json) printJson(ok);
      else
        for (const r of ok)
          process.stdout.write(
            `${r.unchanged ? "unchanged" : "imported "} ${r.name} ${r.version} ${r.arch} ${r.ref} ${r.commit}\n`,
          );
      // Every package that could be imported was; each failure is one line, and the exit code says
      // that something was refused.
      if (errors.length > 0) {
        for (const e of errors.slice(0, -1)) process.stderr.write(`tsostree-pkg: ${errorLine(e)}\n`);
        throw errors[errors.length - 1];
      }
    });
}
