// `tsostree pull REMOTE[:REF] [REF…]` and `tsostree pull-local SRC_REPO [REF…]`, as ostree's.
import { availableParallelism } from "node:os";
import type { Command } from "commander";
import { pullHooks } from "../../pull/hooks.js";
import { newPullProgress, ttyProgress } from "../../pull/progress.js";
import { type PullOptions, type PullResult, pull } from "../../pull/pull.js";
import { getRemote, validateRemoteName } from "../../pull/remotes.js";
import { LocalSource, remoteSource } from "../../pull/source.js";
import type { Repo } from "../../repo/repo.js";
import { openRepo, printJson, UsageError, withJson, withRepo } from "../common.js";
import { formatSize } from "../format.js";
import { openRemoteScope } from "./remote.js";

const collect = (v: string, acc: string[] = []) => [...acc, v];

function parseDepth(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < -1)
    throw new UsageError(`--depth: '${v}' is not a number of commits (-1 = all)`);
  return n;
}

async function runPull(repo: Repo, opts: Omit<PullOptions, "progress">, json: boolean): Promise<void> {
  const progress = newPullProgress();
  const display = json ? { stop() {} } : ttyProgress(() => progress);
  let result: PullResult;
  try {
    result = await pull(repo, { ...opts, progress });
  } finally {
    display.stop();
    await opts.source.close();
  }
  if (json) printJson(result);
  else if (process.stderr.isTTY) {
    const parts = result.deltas.reduce((n, d) => n + d.parts, 0);
    const viaDelta = result.deltas.length ? `${parts} delta parts, ` : "";
    process.stderr.write(
      `${viaDelta}${result.metadataFetched} metadata, ${result.contentFetched} content objects fetched; ${formatSize(result.bytes)} transferred in ${Math.round(result.seconds)} seconds\n`,
    );
  }
}

/**
 * libuv's pool has 4 threads by default. A pull keeps its pool busy verifying and writing objects
 * (native/inflate_hash.c, native/assemble.c); with fewer cores than threads they only take turns
 * with the JS thread that receives (a minbase pull on 2 cores: 2381 → 2238 ms with 2 threads, 6
 * alternating runs). Takes effect when set before the pool's first job; UV_THREADPOOL_SIZE wins.
 */
function sizePoolToCores(): void {
  process.env.UV_THREADPOOL_SIZE ??= String(Math.min(4, Math.max(2, availableParallelism())));
}

export function registerPull(program: Command): void {
  withJson(withRepo(program.command("pull")))
    .description("download data from a remote repository")
    .argument("<remote>", "REMOTE or REMOTE:REF")
    .argument("[refs...]")
    .option("--depth <n>", "traverse N parents (-1 = all)", parseDepth, 0)
    .option("--commit-metadata-only", "fetch only the commit metadata")
    .option("--mirror", "write refs as local branches (refs/heads), all refs when none are given")
    .option("--subpath <path>", "only pull the given subpath (repeatable)", collect)
    .option("--disable-static-deltas", "do not use static deltas")
    .option("--require-static-deltas", "fail unless static deltas serve every requested commit")
    .option("--sysroot <path>", "use the sysroot at PATH (its repo and etc/ostree/remotes.d)")
    .action(async (spec: string, refs: string[], opts) => {
      sizePoolToCores();
      const { repo, sysroot } = openRemoteScope(opts);
      const i = spec.indexOf(":");
      const name = i < 0 ? spec : spec.slice(0, i);
      if (i >= 0) refs = [spec.slice(i + 1), ...refs];
      validateRemoteName(name);
      const remote = getRemote(repo, name, sysroot);
      await runPull(
        repo,
        {
          source: remoteSource(remote),
          remote,
          refRemote: name,
          refs,
          mirror: opts.mirror,
          depth: opts.depth,
          commitMetadataOnly: opts.commitMetadataOnly,
          subpaths: opts.subpath,
          disableStaticDeltas: opts.disableStaticDeltas,
          requireStaticDeltas: opts.requireStaticDeltas,
          requireArchive: true,
          hooks: pullHooks,
        },
        Boolean(opts.json),
      );
    });

  withJson(withRepo(program.command("pull-local")))
    .description("copy data from a repository on this machine")
    .argument("<src_repo>")
    .argument("[refs...]")
    .option("--remote <name>", "write refs as refs/remotes/NAME/REF")
    .option("--depth <n>", "traverse N parents (-1 = all)", parseDepth, 0)
    .option("--commit-metadata-only", "fetch only the commit metadata")
    .action(async (src: string, refs: string[], opts) => {
      const repo = openRepo(opts);
      if (opts.remote) validateRemoteName(opts.remote);
      const source = new LocalSource(src);
      // With no refs, everything the source has under refs/heads, as ostree pull-local does.
      if (refs.length === 0) {
        const { listRefs } = await import("../../repo/refs.js");
        refs = listRefs(source.repo, { remotes: false }).map(([r]) => r);
      }
      await runPull(
        repo,
        {
          source,
          refRemote: opts.remote ?? null,
          refs,
          depth: opts.depth,
          commitMetadataOnly: opts.commitMetadataOnly,
          disableStaticDeltas: true,
        },
        Boolean(opts.json),
      );
    });
}
