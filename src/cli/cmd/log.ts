// `tsostree log REV`: the commit and its ancestors, as `ostree log` prints them.
import type { Command } from "commander";
import { byteswapValue } from "../../gvariant/byteswap.js";
import { deserialize, type GVType, printValue } from "../../gvariant/index.js";
import { contentChecksumOfCommit } from "../../repo/commit-info.js";
import { T_COMMIT } from "../../repo/objects.js";
import { resolveRev } from "../../repo/refs.js";
import type { Repo } from "../../repo/repo.js";
import { openRepo, printJson, withJson, withRepo } from "../common.js";
import { commitVersion, formatCommit } from "../format.js";

/** A commit as JSON for `--json` (log and show share it). */
export function commitJson(repo: Repo, csum: string) {
  const c = repo.loadCommit(csum);
  return {
    checksum: csum,
    parent: c.parent,
    contentChecksum: contentChecksumOfCommit(c),
    timestamp: c.timestamp,
    date: new Date(c.timestamp * 1000).toISOString(),
    version: commitVersion(c),
    subject: c.subject,
    body: c.body,
    rootTree: c.rootTree,
    rootMeta: c.rootMeta,
    metadata: Object.fromEntries(c.metadata.map(([k, v]) => [k, printValue(v.type, v.value)])),
  };
}

/** A metadata object as ostree's `--raw` prints it: byte-swapped, in GVariant text form. */
export function rawVariant(type: GVType, bytes: Buffer): string {
  return `${printValue(type, byteswapValue(type, deserialize(type, bytes)))}\n`;
}

/** `ostree show --raw` / `log --raw`: `commit CSUM` then the byte-swapped commit variant. */
export function rawCommit(repo: Repo, csum: string): string {
  return `commit ${csum}\n${rawVariant(T_COMMIT, repo.readMetadataBytes(csum, "commit"))}`;
}

export function registerLog(program: Command): void {
  withJson(withRepo(program.command("log")))
    .description("show log starting at commit or ref")
    .argument("<rev>", "commit or ref")
    .option("--raw", "show raw variant data")
    .action((rev: string, opts: { repo?: string; json?: boolean; raw?: boolean }) => {
      const repo = openRepo(opts);
      let csum: string | null = resolveRev(repo, rev) as string;
      const json: unknown[] = [];
      let out = "";
      let first = true;
      while (csum) {
        if (!repo.hasObject(csum, "commit") && !first) {
          if (!opts.json) out += "<< History beyond this commit not fetched >>\n";
          break;
        }
        const c = repo.loadCommit(csum);
        if (opts.json) json.push(commitJson(repo, csum));
        else out += opts.raw ? rawCommit(repo, csum) : formatCommit(csum, c, contentChecksumOfCommit(c));
        csum = c.parent;
        first = false;
      }
      if (opts.json) printJson(json);
      else process.stdout.write(out);
    });
}
