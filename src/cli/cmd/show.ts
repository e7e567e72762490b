// `tsostree show REV`: a commit's header and message, one metadata key, related objects, or (for
// a checksum) whichever object carries it.
import type { Command } from "commander";
import { contentChecksumOfCommit } from "../../repo/commit-info.js";
import {
  isChecksum,
  metadataGet,
  parseMetadata,
  S_IFLNK,
  S_IFMT,
  T_DIRMETA,
  T_DIRTREE,
} from "../../repo/objects.js";
import { resolveRev } from "../../repo/refs.js";
import { RepoError } from "../../repo/repo.js";
import { openRepo, printJson, withJson, withRepo } from "../common.js";
import { formatCommit, formatVariant, xattrsText } from "../format.js";
import { commitJson, rawCommit, rawVariant } from "./log.js";

interface ShowOpts {
  repo?: string;
  json?: boolean;
  raw?: boolean;
  printRelated?: boolean;
  printMetadataKey?: string;
  printDetachedMetadataKey?: string;
}

export function registerShow(program: Command): void {
  withJson(withRepo(program.command("show")))
    .description("output a metadata object")
    .argument("<object>", "commit, ref or object checksum")
    .option("--print-related", 'show the "related" commits')
    .option("--print-metadata-key <key>", "print the value of a commit metadata key")
    .option("--print-detached-metadata-key <key>", "print the value of a detached metadata key")
    .option("--raw", "show raw variant data")
    .action((rev: string, opts: ShowOpts) => {
      const repo = openRepo(opts);
      const write = (s: string) => process.stdout.write(s);
      const key = opts.printMetadataKey ?? opts.printDetachedMetadataKey;
      if (key !== undefined) {
        const csum = resolveRev(repo, rev) as string;
        let meta = repo.loadCommit(csum).metadata;
        if (opts.printDetachedMetadataKey !== undefined) {
          if (!repo.hasObject(csum, "commitmeta"))
            throw new RepoError(`No detached metadata for commit ${csum}`);
          meta = parseMetadata(repo.readMetadataBytes(csum, "commitmeta"));
        }
        const v = metadataGet(meta, key);
        if (!v) throw new RepoError(`No such metadata key '${key}'`);
        if (opts.json) printJson({ key, type: v.typeString, value: formatVariant(v) });
        else write(`${formatVariant(v)}\n`);
        return;
      }
      if (opts.printRelated) {
        const c = repo.loadCommit(resolveRev(repo, rev) as string);
        if (opts.json) printJson(c.related.map(([name, checksum]) => ({ name, checksum })));
        else write(c.related.map(([n, cs]) => `${n} ${cs}\n`).join(""));
        return;
      }
      if (!isChecksum(rev) || repo.hasObject(rev, "commit")) {
        const csum = resolveRev(repo, rev) as string;
        const c = repo.loadCommit(csum);
        if (opts.json) printJson(commitJson(repo, csum));
        else write(opts.raw ? rawCommit(repo, csum) : formatCommit(csum, c, contentChecksumOfCommit(c)));
        return;
      }
      for (const type of ["dirmeta", "dirtree"] as const)
        if (repo.hasObject(rev, type)) {
          if (opts.json) printJson({ checksum: rev, type });
          else
            write(
              `${type} ${rev}\n${opts.raw ? rawVariant(type === "dirtree" ? T_DIRTREE : T_DIRMETA, repo.readMetadataBytes(rev, type)) : ""}`,
            );
          return;
        }
      const f = repo.loadFile(rev);
      const isLink = (f.meta.mode & S_IFMT) === S_IFLNK;
      if (opts.json) {
        printJson({
          checksum: rev,
          type: "file",
          mode: f.meta.mode,
          uid: f.meta.uid,
          gid: f.meta.gid,
          size: f.size,
          target: isLink ? f.meta.symlinkTarget : undefined,
        });
        return;
      }
      write(
        `Object: ${rev}\nType: file\nFile Type: ${isLink ? `symlink\nTarget: ${f.meta.symlinkTarget}` : `regular\nSize: ${f.size}`}\n` +
          `Mode: 0${f.meta.mode.toString(8)}\nUid: ${f.meta.uid}\nGid: ${f.meta.gid}\nExtended Attributes: { ${xattrsText(f.meta.xattrs)} }\n`,
      );
    });
}
