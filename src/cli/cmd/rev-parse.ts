// `tsostree rev-parse REV`: print the commit checksum a ref, checksum prefix or REV^ names.
import type { Command } from "commander";
import { resolveRev } from "../../repo/refs.js";
import { openRepo, printJson, withJson, withRepo } from "../common.js";

export function registerRevParse(program: Command): void {
  withJson(withRepo(program.command("rev-parse")))
    .description("output the target of a rev")
    .argument("<rev>", "ref, REMOTE:REF, checksum or unique checksum prefix; REV^ for the parent")
    .action((rev: string, opts: { repo?: string; json?: boolean }) => {
      const repo = openRepo(opts);
      const csum = resolveRev(repo, rev) as string;
      if (opts.json) printJson({ rev, checksum: csum });
      else process.stdout.write(`${csum}\n`);
    });
}
