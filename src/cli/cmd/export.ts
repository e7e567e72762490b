// `tsostree export --output=FILE.tar REV [--subpath=P]`: a commit as a tar archive.
import type { Command } from "commander";
import { exportTar } from "../../repo/export.js";
import { openRepo, UsageError, withRepo } from "../common.js";

export function registerExport(program: Command): void {
  withRepo(program.command("export"))
    .description("stream COMMIT to stdout in tar format")
    .argument("<rev>", "commit or ref")
    .option("--output <file>", "output to FILE")
    .option("--subpath <path>", "checkout sub-directory PATH")
    .action(async (rev: string, opts: { repo?: string; output?: string; subpath?: string }) => {
      if (!opts.output)
        throw new UsageError("--output=FILE is required (writing to stdout is not supported)");
      await exportTar(openRepo(opts), rev, opts.output, { subpath: opts.subpath });
    });
}
