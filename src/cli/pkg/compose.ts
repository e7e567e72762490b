// `tsostree-pkg compose rootfs DIR --repo=REPO --branch=REF`: a debootstrap / dnf --installroot /
// rpm --root tree becomes an ostree-ready base commit (src/compose/rootfs.ts).
import type { Command } from "commander";
import { composeRootfs } from "../../compose/rootfs.js";
import { Repo } from "../../repo/repo.js";
import { printJson, UsageError } from "../common.js";
import { parseTimestamp } from "../timestamp.js";

interface RootfsOpts {
  repo: string;
  branch: string;
  subject?: string;
  body?: string;
  version?: string;
  addMetadataString: string[];
  timestamp?: string;
  requireKernel?: boolean;
  json?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerCompose(program: Command): void {
  const compose = program.command("compose").description("make OSTree commits from package trees");
  compose
    .command("rootfs")
    .description(
      "commit a root filesystem made by debootstrap, dnf --installroot or rpm --root as an ostree-ready base: /etc → usr/etc, /var → tmpfiles.d, the dpkg/rpm database under /usr and in the package database; DIR is only read",
    )
    .argument("<dir>", "the root filesystem")
    .requiredOption("--repo <path>", "the OSTree repository to commit into")
    .requiredOption("-b, --branch <ref>", "the branch (ref) to point at the new commit")
    .option("-s, --subject <subject>", "one line subject")
    .option("-m, --body <body>", "full description")
    .option("--version <version>", "the commit's version metadata (what `ostree admin status` shows)")
    .option("--add-metadata-string <kv>", "add a KEY=VALUE string to the metadata", collect, [])
    .option(
      "--timestamp <timestamp>",
      "the commit's timestamp (default now); a fixed one makes it reproducible",
    )
    .option(
      "--require-kernel",
      "fail when the tree has no kernel (default: warn, the base cannot be deployed)",
    )
    .option("--json", "print {commit, branch, packages, files, dropped, kernel, warnings}")
    .action(async (dir: string, opts: RootfsOpts) => {
      const repo = Repo.open(opts.repo);
      const metadata = opts.addMetadataString.map((kv): [string, string] => {
        const eq = kv.indexOf("=");
        if (eq <= 0) throw new UsageError(`--add-metadata-string wants KEY=VALUE, got '${kv}'`);
        return [kv.slice(0, eq), kv.slice(eq + 1)];
      });
      const tty = process.stderr.isTTY && !opts.json;
      const { commit, stats } = await composeRootfs({
        repo,
        dir,
        branch: opts.branch,
        subject: opts.subject,
        body: opts.body,
        version: opts.version,
        metadata,
        timestamp: opts.timestamp === undefined ? undefined : parseTimestamp(opts.timestamp),
        requireKernel: opts.requireKernel,
        progress: tty ? (line) => process.stderr.write(`${line}\n`) : undefined,
      });
      for (const w of stats.warnings) process.stderr.write(`tsostree-pkg: warning: ${w}\n`);
      if (opts.json)
        printJson({
          commit,
          branch: opts.branch,
          packages: stats.packages,
          files: stats.files,
          dropped: stats.dropped,
          kernel: stats.kernel,
          warnings: stats.warnings,
        });
      else
        process.stdout.write(
          `${opts.branch} ${commit}: ${stats.files} files, ${stats.packages} packages` +
            `${stats.packageKind ? ` (${stats.packageKind})` : ""}, kernel ${stats.kernel ?? "none"}` +
            `${stats.dropped ? `, ${stats.dropped} device nodes/fifos/sockets left out` : ""}\n`,
        );
    });
}
