// `tsostree static-delta list|show|delete|generate|apply-offline`, ostree's commands and output.
import type { Command } from "commander";
import { generateStaticDelta } from "../../delta/generate.js";
import { applyOffline, deleteDelta, listDeltas, showDelta } from "../../delta/store.js";
import { resolveRev } from "../../repo/refs.js";
import { openRepo, printJson, UsageError, withJson, withRepo } from "../common.js";
import { formatSize } from "../format.js";

interface GenerateOpts {
  repo?: string;
  from?: string;
  empty?: boolean;
  to?: string;
  inline?: boolean;
  disableBsdiff?: boolean;
  ifNotExists?: boolean;
  minFallbackSize?: string;
  maxBsdiffSize?: string;
  maxChunkSize?: string;
}

function megabytes(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${what} takes a whole number of megabytes, not '${v}'`);
  return Number(v);
}

export function registerStaticDelta(program: Command): void {
  const sd = program.command("static-delta").description("manage static delta files");

  withJson(withRepo(sd.command("list")))
    .description("list static delta files")
    .action((o: { repo?: string; json?: boolean }) => {
      const names = listDeltas(openRepo(o));
      if (o.json) printJson(names);
      else if (names.length === 0) process.stdout.write("(No static deltas)\n");
      else process.stdout.write(names.map((n) => `${n}\n`).join(""));
    });

  withRepo(sd.command("show"))
    .description("dump information on a delta")
    .argument("<delta>", "FROM-TO or TO, or a path to a superblock")
    .action(async (name: string, o: { repo?: string }) => {
      process.stdout.write(await showDelta(openRepo(o), name, formatSize));
    });

  withRepo(sd.command("delete"))
    .description("remove a delta")
    .argument("<delta>", "FROM-TO or TO")
    .action((name: string, o: { repo?: string }) => deleteDelta(openRepo(o), name));

  withRepo(sd.command("generate"))
    .description("generate static delta files")
    .argument("[to]")
    .option("--from <rev>", "create delta from revision REV (default: TO^)")
    .option("--empty", "create delta from scratch")
    .option("--inline", "inline delta parts into main delta")
    .option("--to <rev>", "create delta to revision REV")
    .option("--disable-bsdiff", "disable use of bsdiff")
    .option("-n, --if-not-exists", "only generate if a delta does not already exist")
    .option("--min-fallback-size <mb>", "minimum uncompressed size in megabytes for individual HTTP request")
    .option(
      "--max-bsdiff-size <mb>",
      "maximum size in megabytes to consider bsdiff compression for input files",
    )
    .option("--max-chunk-size <mb>", "maximum size of delta chunks in megabytes")
    .action((toArg: string | undefined, o: GenerateOpts) => {
      const repo = openRepo(o);
      const toRev = o.to ?? toArg;
      if (!toRev) throw new UsageError("TO revision must be specified");
      if (o.empty && o.from) throw new UsageError("Cannot specify both --empty and --from=REV");
      const fromRev = o.empty ? null : (o.from ?? `${toRev}^`);
      const from = fromRev ? resolveRev(repo, fromRev)! : null;
      const to = resolveRev(repo, toRev)!;
      const name = from ? `${from}-${to}` : to;
      if (o.ifNotExists && listDeltas(repo).includes(name)) {
        process.stdout.write(`Delta ${name} already exists.\n`);
        return;
      }
      process.stdout.write(`Generating static delta:\n  From: ${from ?? "empty"}\n  To:   ${to}\n`);
      const r = generateStaticDelta(repo, {
        from,
        to,
        inline: !!o.inline,
        bsdiff: !o.disableBsdiff,
        minFallbackSize: megabytes(o.minFallbackSize, "min-fallback-size"),
        maxBsdiffSize: megabytes(o.maxBsdiffSize, "max-bsdiff-size"),
        maxChunkSize: megabytes(o.maxChunkSize, "max-chunk-size"),
      });
      if (!r.compressed)
        process.stderr.write("note: the native xz encoder is not built; parts are stored uncompressed\n");
    });

  withRepo(sd.command("apply-offline"))
    .description("apply static delta file")
    .argument("<path>", "a delta directory or its superblock file")
    .action(async (path: string, o: { repo?: string }) => {
      await applyOffline(openRepo(o), path);
    });
}
