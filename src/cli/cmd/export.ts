// `tsostree export REV [--output=FILE.tar] [--subpath=P]`: a commit as a tar archive, on stdout
// unless --output names a file. Like ostree, it refuses to write an archive to a terminal.
import { createWriteStream } from "node:fs";
import type { Command } from "commander";
import { exportTar } from "../../repo/export.js";
import { openRepo, UsageError, withRepo } from "../common.js";

export function registerExport(program: Command): void {
  withRepo(program.command("export"))
    .description("stream COMMIT to stdout in tar format (or to --output=FILE)")
    .argument("<rev>", "commit or ref")
    .option("--output <file>", "write the archive to FILE instead of stdout")
    .option("--subpath <path>", "checkout sub-directory PATH")
    .action(async (rev: string, opts: { repo?: string; output?: string; subpath?: string }) => {
      if (!opts.output && process.stdout.isTTY)
        throw new UsageError(
          "refusing to write a tar archive to a terminal: pass --output=FILE or redirect stdout (`> FILE.tar`)",
        );
      // fd 1 as it is (a pipe, or a file opened with > or >>): reopening /dev/stdout would truncate.
      const out = opts.output ?? createWriteStream("", { fd: 1, autoClose: false });
      await exportTar(openRepo(opts), rev, out, { subpath: opts.subpath });
    });
}
