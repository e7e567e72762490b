// `tsostree diff [REV_OR_DIR] REV_OR_DIR`: ostree's `M`/`A`/`D` lines (`--fs-diff`, the default) and
// object-count statistics (`--stats`). An argument starting with `/` or `./` is a directory.

import { lstatSync } from "node:fs";
import type { Command } from "commander";
import { diffRevOrDir } from "../../repo/diff.js";
import { resolveRev } from "../../repo/refs.js";
import type { Repo } from "../../repo/repo.js";
import { type ObjectName, parseObjectName, traverseCommit } from "../../repo/traverse.js";
import { openRepo, printJson, withJson, withRepo } from "../common.js";
import { formatSize } from "../format.js";

type Arg = { rev: string } | { dir: string };

function parseArg(s: string): Arg {
  return s.startsWith("/") || s.startsWith("./") ? { dir: s } : { rev: s };
}

function reachable(repo: Repo, rev: string): Set<ObjectName> {
  const set = new Set<ObjectName>();
  traverseCommit(repo, resolveRev(repo, rev) as string, set, { depth: 0 });
  return set;
}

export function registerDiff(program: Command): void {
  withJson(withRepo(program.command("diff")))
    .description("compare directory TARGETDIR against revision REV")
    .argument("<a>", "revision or directory (alone: compare REV^ with REV)")
    .argument("[b]", "revision or directory")
    .option("--stats", "print various statistics")
    .option("--fs-diff", "print filesystem diff")
    .option("--no-xattrs", "skip output of extended attributes")
    .action(
      (
        a: string,
        b: string | undefined,
        opts: { repo?: string; json?: boolean; stats?: boolean; fsDiff?: boolean; xattrs?: boolean },
      ) => {
        const repo = openRepo(opts);
        const [src, target] = b === undefined ? [`${a}^`, a] : [a, b];
        const fsDiff = opts.fsDiff || !opts.stats;
        const A = parseArg(src);
        const B = parseArg(target);
        const result: Record<string, unknown> = {};
        let out = "";
        if (fsDiff) {
          const d = diffRevOrDir(repo, A, B, { xattrs: opts.xattrs });
          // ostree prints paths of a local directory relative to it, and tree paths absolute.
          const show = (side: Arg, p: string) => ("dir" in side ? p.slice(1) : p);
          out += d.modified.map((p) => `M    ${show(A, p)}\n`).join("");
          out += d.removed.map((p) => `D    ${show(A, p)}\n`).join("");
          out += d.added.map((p) => `A    ${show(B, p)}\n`).join("");
          Object.assign(result, d);
        }
        if (opts.stats) {
          const ra = reachable(repo, src);
          const rb = reachable(repo, target);
          const common = [...ra].filter((n) => rb.has(n));
          let size = 0;
          for (const n of common) {
            const { checksum, type } = parseObjectName(n);
            try {
              size += lstatSync(repo.objectPath(checksum, type)).size;
            } catch {}
          }
          out += `[A] Object Count: ${ra.size}\n[B] Object Count: ${rb.size}\nCommon Object Count: ${common.length}\nCommon Object Size: ${formatSize(size)}\n`;
          Object.assign(result, {
            stats: { a: ra.size, b: rb.size, common: common.length, commonSize: size },
          });
        }
        if (opts.json) printJson(result);
        else process.stdout.write(out);
      },
    );
}
