// `tsostree summary -u` (write REPO/summary exactly as ostree) and `summary --view [--raw]`.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { byteswapValue } from "../../gvariant/byteswap.js";
import { deserialize, parseText, printValue, type Variant } from "../../gvariant/index.js";
import { RepoError } from "../../repo/repo.js";
import { parseSummary, T_SUMMARY, updateSummary } from "../../repo/summary.js";
import { openRepo, printJson, UsageError, withJson, withRepo } from "../common.js";
import { formatIsoUtc, formatSize } from "../format.js";

function be64(v: Variant): number {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v.value as bigint);
  return Number(b.readBigUInt64BE());
}

/** ostree's `summary --view` text. */
export function formatSummary(bytes: Buffer): string {
  const s = parseSummary(bytes);
  let out = "";
  for (const r of s.refs) {
    out += `* ${r.name}\n    Latest Commit (${formatSize(r.commitSize)}):\n      ${r.checksum}\n`;
    for (const [k, v] of r.metadata) {
      if (k === "ostree.commit.timestamp") out += `    Timestamp (${k}): ${formatIsoUtc(be64(v))}\n`;
      else if (k === "ostree.commit.version") out += `    Version (${k}): ${v.value as string}\n`;
      else out += `    ${k}: ${printValue(v.type, v.value, false)}\n`;
    }
    out += "\n";
  }
  const pretty: Record<string, string> = {
    "ostree.static-deltas": "Static Deltas",
    "ostree.summary.last-modified": "Last-Modified",
    "ostree.summary.expires": "Expires",
    "ostree.summary.collection-id": "Collection ID",
    "ostree.summary.mode": "Repository Mode",
    "ostree.summary.tombstone-commits": "Has Tombstone Commits",
  };
  for (const [k, v] of s.metadata) {
    let value: string;
    if (k === "ostree.summary.last-modified" || k === "ostree.summary.expires") value = formatIsoUtc(be64(v));
    else if (k === "ostree.summary.mode" || k === "ostree.summary.collection-id") value = v.value as string;
    else if (k === "ostree.summary.tombstone-commits") value = v.value ? "Yes" : "No";
    else value = printValue(v.type, v.value, false);
    out += pretty[k] ? `${pretty[k]} (${k}): ${value}\n` : `${k}: ${value}\n`;
  }
  return out;
}

interface SummaryCliOpts {
  repo?: string;
  json?: boolean;
  update?: boolean;
  view?: boolean;
  raw?: boolean;
  addMetadata?: string[];
  gpgSign?: string[];
  gpgHomedir?: string;
  sign?: string[];
  signType?: string;
}

export function registerSummary(program: Command): void {
  withJson(withRepo(program.command("summary")))
    .description("manage summary metadata")
    .option("-u, --update", "update the summary")
    .option("--view", "view the local summary file")
    .option("--raw", "view the raw bytes of the summary file")
    .option(
      "-m, --add-metadata <key=value>",
      "additional metadata field to add to the summary",
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option("--gpg-sign <key-id>", "GPG key ID to sign the summary with", (v: string, acc: string[] = []) => [
      ...acc,
      v,
    ])
    .option("--gpg-homedir <homedir>", "GPG homedir to use when looking for keyrings")
    .option(
      "--sign <key>",
      "base64 ed25519 secret key to sign the summary with",
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option("--sign-type <name>", "signature type to use (defaults to 'ed25519')")
    .action(async (opts: SummaryCliOpts) => {
      const repo = openRepo(opts);
      if (opts.update) {
        const extra = (opts.addMetadata ?? []).map((kv): [string, Variant] => {
          const i = kv.indexOf("=");
          if (i <= 0) throw new UsageError(`Missing '=' in KEY=VALUE metadata '${kv}'`);
          return [kv.slice(0, i), parseText(kv.slice(i + 1))];
        });
        const signed = opts.gpgSign?.length || opts.sign?.length;
        if (opts.sign?.length) (await import("./sign.js")).requireEd25519(opts.signType);
        await updateSummary(repo, { extra });
        if (signed) {
          const { parseSecretKey } = await import("../../sign/ed25519.js");
          const { signSummary } = await import("../../sign/summary-sign.js");
          await signSummary(repo, {
            gpg: opts.gpgSign?.length ? { keyIds: opts.gpgSign, homedir: opts.gpgHomedir } : undefined,
            ed25519: opts.sign?.length ? { secretKeys: opts.sign.map(parseSecretKey) } : undefined,
          });
        }
        return;
      }
      if (!opts.view && !opts.raw) throw new UsageError("No option specified; use -u to update summary");
      let bytes: Buffer;
      try {
        bytes = readFileSync(join(repo.path, "summary"));
      } catch {
        throw new RepoError("No summary file; create one with `summary -u`");
      }
      if (opts.json) {
        const s = parseSummary(bytes);
        printJson({
          refs: s.refs.map((r) => ({
            ...r,
            metadata: Object.fromEntries(r.metadata.map(([k, v]) => [k, printValue(v.type, v.value)])),
          })),
          metadata: Object.fromEntries(s.metadata.map(([k, v]) => [k, printValue(v.type, v.value)])),
        });
      } else if (opts.raw) {
        const v = deserialize(T_SUMMARY, bytes);
        process.stdout.write(`${printValue(T_SUMMARY, byteswapValue(T_SUMMARY, v))}\n`);
      } else process.stdout.write(formatSummary(bytes));
    });
}
