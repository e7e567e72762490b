// `tsostree refs [PREFIX]`: list refs; `--create=NEW REV`, `--delete PREFIX…`, `--list` as ostree.
// ostree prints refs in hash-table order; we print them sorted (a stable superset of that order).
import type { Command } from "commander";
import { deleteRef, listRefs, readRef, resolveRev, writeRef } from "../../repo/refs.js";
import type { Repo } from "../../repo/repo.js";
import { RepoError } from "../../repo/repo.js";
import { openRepo, printJson, UsageError, withJson, withRepo } from "../common.js";

interface RefsOpts {
  repo?: string;
  json?: boolean;
  delete?: boolean;
  list?: boolean;
  create?: string;
  force?: boolean;
}

/** Refs under `prefix` (a ref itself, a `dir/` of refs, or `REMOTE:`); names keep the prefix. */
export function refsMatching(repo: Repo, prefix: string | undefined): [string, string][] {
  const all = listRefs(repo);
  if (!prefix) return all;
  const p = prefix.replace(/\/+$/, "");
  return all.filter(([name]) => name === p || name.startsWith(p.endsWith(":") ? p : `${p}/`));
}

export function registerRefs(program: Command): void {
  withJson(withRepo(program.command("refs")))
    .description("list refs, or create or delete them")
    .argument("[prefixes...]", "only refs under these prefixes (for --create: the commit)")
    .option("--delete", "delete refs which match PREFIX, rather than listing them")
    .option("--list", "do not remove the prefix from the refs")
    .option("--create <newref>", "create a new ref for an existing commit")
    .option("--force", "overwrite existing refs when creating")
    .action((prefixes: string[], opts: RefsOpts) => {
      const repo = openRepo(opts);
      if (opts.create) {
        if (prefixes.length !== 1) throw new UsageError("--create requires exactly one REV (the commit)");
        if (!opts.force && readRef(repo, opts.create))
          throw new RepoError(`--create specified but ref ${opts.create} already exists`);
        writeRef(repo, opts.create, resolveRev(repo, prefixes[0]!) as string);
        return;
      }
      if (opts.delete) {
        if (prefixes.length === 0) throw new UsageError("At least one PREFIX is required when deleting refs");
        for (const p of prefixes) for (const [name] of refsMatching(repo, p)) deleteRef(repo, name);
        return;
      }
      const rows: [string, string][] = [];
      for (const p of prefixes.length ? prefixes : [undefined]) {
        for (const [name, csum] of refsMatching(repo, p)) {
          // Without --list ostree strips the prefix directory ("refs os" on os/stable prints "stable").
          const shown =
            p && !opts.list && name !== p.replace(/\/+$/, "")
              ? name.slice(p.replace(/\/+$/, "").length + 1)
              : name;
          rows.push([shown, csum]);
        }
      }
      if (opts.json) printJson(rows.map(([ref, checksum]) => ({ ref, checksum })));
      else process.stdout.write(rows.map(([r]) => `${r}\n`).join(""));
    });
}
