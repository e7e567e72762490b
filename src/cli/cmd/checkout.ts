// `tsostree checkout [-H] [-C] [-U] [--union] [--union-add] [--subpath=P] REV [DEST]`.
import type { Command } from "commander";
import { type CheckoutOptions, checkout } from "../../repo/checkout.js";
import { openRepo, UsageError, withRepo } from "../common.js";

/** The command's options are the library's, plus where the repo is. */
interface CheckoutCliOpts extends CheckoutOptions {
  repo?: string;
}

export function registerCheckout(program: Command): void {
  withRepo(program.command("checkout"))
    .description("check out a commit into a filesystem tree")
    .argument("<rev>", "commit or ref")
    .argument("[dest]", "destination directory (default: the ref name's last component)")
    .option("-U, --user-mode", "do not change file ownership or initialize extended attributes")
    .option("--union", "keep existing directories, overwrite existing files")
    .option("--union-add", "keep existing files and directories, only add new ones")
    .option("--subpath <path>", "check out this subpath only")
    .option("-C, --force-copy", "never hardlink (but may reflink if available)")
    .option("-H, --require-hardlinks", "do not fall back to full copies if hardlinking fails")
    .option("--allow-noent", "do nothing if the subpath does not exist")
    .action(async (rev: string, dest: string | undefined, opts: CheckoutCliOpts) => {
      if (opts.union && opts.unionAdd) throw new UsageError("Cannot specify both --union and --union-add");
      const repo = openRepo(opts);
      await checkout(repo, rev, dest ?? rev.split(/[/:]/).pop()!, opts);
    });
}
