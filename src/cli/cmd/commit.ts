// `tsostree commit`: ostree commit's flags and output. Trees (--tree=dir=|tar=|ref=, or the
// positional PATH, or ".") are overlaid in order into one MutableTree; the commit metadata is
// assembled in the order ostree 2022.7 serializes it (--add-metadata-string, --add-metadata,
// --keep-metadata, then ostree.ref-binding and ostree.collection-binding), so that the same inputs
// give the same commit checksum as the real tool.
import { createReadStream, readFileSync } from "node:fs";
import type { Command } from "commander";
import { parseText, Variant } from "../../gvariant/index.js";
import { type CommitProgress, commitFromDirectory, writeCommitObject } from "../../repo/commit.js";
import { resolveModifier } from "../../repo/commit-modifier.js";
import { MutableTree } from "../../repo/mtree.js";
import { isChecksum, metadataGet } from "../../repo/objects.js";
import { resolveRev } from "../../repo/refs.js";
import type { Repo } from "../../repo/repo.js";
import { RepoError } from "../../repo/repo.js";
import { Transaction } from "../../repo/transaction.js";
import { openRepo, UsageError, withRepo } from "../common.js";
import { parseTimestamp } from "../timestamp.js";

interface CommitOpts {
  repo?: string;
  branch?: string;
  subject?: string;
  body?: string;
  bodyFile?: string;
  parent?: string;
  orphan?: boolean;
  bindings: boolean;
  bindRef: string[];
  base?: string;
  tree: string[];
  addMetadataString: string[];
  addMetadata: string[];
  keepMetadata: string[];
  ownerUid?: string;
  ownerGid?: string;
  canonicalPermissions?: boolean;
  xattrs: boolean;
  linkCheckoutSpeedup?: boolean;
  devinoCanonical?: boolean;
  tarAutocreateParents?: boolean;
  skipIfUnchanged?: boolean;
  consume?: boolean;
  tableOutput?: boolean;
  fsync?: string;
  timestamp?: string;
  gpgSign: string[];
  gpgHomedir?: string;
  sign: string[];
  signType?: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerCommit(program: Command): void {
  withRepo(program.command("commit"))
    .description("commit a new revision")
    .argument("[path]", "directory to commit (default: the current directory)")
    .option("-b, --branch <branch>", "branch")
    .option("-s, --subject <subject>", "one line subject")
    .option("-m, --body <body>", "full description")
    .option("-F, --body-file <file>", "commit message from FILE path")
    .option("--parent <commit>", 'parent commit checksum, or "none"')
    .option("--orphan", "create a commit without writing a ref")
    .option("--no-bindings", "do not write any ref bindings")
    .option("--bind-ref <branch>", "add a ref to ref binding commit metadata", collect, [])
    .option("--base <rev>", "start from the given commit as a base (no modifiers apply)")
    .option("--tree <spec>", "overlay dir=PATH, tar=TARFILE or ref=COMMIT as a tree", collect, [])
    .option("--add-metadata-string <kv>", "add a KEY=VALUE string to the metadata", collect, [])
    .option(
      "--add-metadata <kv>",
      "add KEY=VALUE to the metadata, VALUE in GVariant text format",
      collect,
      [],
    )
    .option("--keep-metadata <key>", "keep metadata KEY and its value from the parent", collect, [])
    .option("--owner-uid <uid>", "set file ownership user id")
    .option("--owner-gid <gid>", "set file ownership group id")
    .option("--canonical-permissions", "canonicalize permissions as bare-user does for hardlinked files")
    .option("--no-xattrs", "do not import extended attributes")
    .option(
      "--link-checkout-speedup",
      "optimize for commits of trees composed of hardlinks into the repository",
    )
    .option(
      "-I, --devino-canonical",
      "assume hardlinked objects are unmodified (implies --link-checkout-speedup)",
    )
    .option("--tar-autocreate-parents", "when loading tar archives, automatically create parent directories")
    .option("--skip-if-unchanged", "if the contents are unchanged from the previous commit, do nothing")
    .option("--consume", "consume (delete) content after commit (for local directories)")
    .option("--table-output", "output more information in a KEY: VALUE format")
    .option("--fsync <policy>", "specify how to invoke fsync()")
    .option("--timestamp <timestamp>", "override the timestamp of the commit")
    .option("--gpg-sign <key-id>", "GPG key ID to sign the commit with", collect, [])
    .option("--gpg-homedir <homedir>", "GPG homedir to use when looking for keyrings")
    .option("--sign <key>", "sign the commit with this base64 ed25519 secret key", collect, [])
    .option("--sign-type <name>", "signature type to use (defaults to 'ed25519')")
    .action(async (path: string | undefined, opts: CommitOpts) => {
      const repo = openRepo(opts);
      await runCommit(repo, path, opts);
    });
}

async function runCommit(repo: Repo, path: string | undefined, opts: CommitOpts): Promise<void> {
  if (!opts.branch && !opts.orphan)
    throw new UsageError("A branch must be specified with --branch, or use --orphan");
  const parent = resolveParent(repo, opts);
  if (opts.keepMetadata.length && !parent)
    throw new UsageError("Either --branch or --parent must be specified when using --keep-metadata");
  const metadata = buildMetadata(repo, parent, opts);
  const body = opts.bodyFile ? readFileSync(opts.bodyFile, "utf8") : opts.body;
  const timestamp = opts.timestamp === undefined ? undefined : parseTimestamp(opts.timestamp);
  const modifier = {
    ownerUid: opts.ownerUid === undefined ? undefined : parseId(opts.ownerUid, "--owner-uid"),
    ownerGid: opts.ownerGid === undefined ? undefined : parseId(opts.ownerGid, "--owner-gid"),
    canonicalPermissions: opts.canonicalPermissions,
    noXattrs: !opts.xattrs,
  };
  const mod = resolveModifier(repo.mode, modifier);
  const trees = opts.tree.length ? opts.tree : [`dir=${path ?? "."}`];
  const progress = new ProgressLine();

  const tx = await Transaction.begin(repo, {
    fsync: opts.fsync === undefined ? undefined : parseFsync(opts.fsync),
  });
  try {
    const mtree = opts.base
      ? MutableTree.fromCommit(tx, resolveRev(repo, opts.base) as string)
      : MutableTree.empty(null, tx);
    for (const spec of trees) {
      const eq = spec.indexOf("=");
      if (eq < 0) throw new UsageError(`Missing type in tree specification '${spec}'`);
      const [kind, arg] = [spec.slice(0, eq), spec.slice(eq + 1)];
      if (kind === "dir") {
        await commitFromDirectory(tx, arg, {
          ...modifier,
          mtree,
          linkCheckoutSpeedup: opts.linkCheckoutSpeedup || opts.devinoCanonical,
          consume: opts.consume,
          onProgress: (p) => progress.show(p),
        });
      } else if (kind === "tar") {
        const input = arg === "-" ? process.stdin : createReadStream(arg);
        // Loaded on demand: tar-stream and the decompressors cost startup time every commit pays.
        const { commitFromTar } = await import("../../repo/commit-tar.js");
        await commitFromTar(tx, input, { ...modifier, mtree, autocreateParents: opts.tarAutocreateParents });
      } else if (kind === "ref") {
        // A committed tree already went through the modifier, unless one is given now.
        if (!mod.identity && repo.mode !== "bare-user-only")
          throw new UsageError(
            "--tree=ref= cannot be combined with --owner-uid, --owner-gid, --canonical-permissions or --no-xattrs yet",
          );
        const c = repo.loadCommit(resolveRev(repo, arg) as string);
        mtree.overlay(c.rootTree, c.rootMeta);
      } else throw new UsageError(`Invalid tree type specification '${kind}'`);
    }
    progress.done();
    if (mtree.metadataChecksum === null) throw new RepoError("Can't commit an empty tree");
    const root = mtree.write(tx);
    if (opts.skipIfUnchanged && parent) {
      const p = repo.loadCommit(parent);
      if (p.rootTree === root.tree && p.rootMeta === root.meta) {
        tx.abort();
        report(opts, parent, tx);
        return;
      }
    }
    const csum = writeCommitObject(tx, {
      parent,
      subject: opts.subject,
      body,
      timestamp,
      metadata,
      rootTree: root.tree,
      rootMeta: root.meta,
    });
    if (opts.sign.length || opts.gpgSign.length) await signStaged(tx, csum, opts);
    if (opts.branch) tx.setRef(opts.branch, csum);
    await tx.commit();
    report(opts, csum, tx);
  } catch (e) {
    progress.done();
    tx.abort();
    throw e;
  }
}

/** Signs the staged commit as ostree commit does (ed25519 first, then GPG), inside the transaction. */
async function signStaged(tx: Transaction, csum: string, opts: CommitOpts): Promise<void> {
  // Loaded on demand: openpgp and the signing code cost startup time an unsigned commit need not pay.
  const { transactionStore } = await import("../../sign/commitmeta.js");
  const { signCommitEd25519, signCommitGpg } = await import("../../sign/commit-sign.js");
  const { parseSecretKey } = await import("../../sign/ed25519.js");
  const store = transactionStore(tx);
  if (opts.sign.length) {
    const { requireEd25519 } = await import("./sign.js");
    requireEd25519(opts.signType);
    signCommitEd25519(store, csum, opts.sign.map(parseSecretKey));
  }
  if (opts.gpgSign.length) await signCommitGpg(store, csum, opts.gpgSign, opts.gpgHomedir);
}

function resolveParent(repo: Repo, opts: CommitOpts): string | null {
  if (opts.parent !== undefined) {
    if (opts.parent === "none") return null;
    if (!isChecksum(opts.parent)) throw new UsageError(`Invalid checksum '${opts.parent}'`);
    return opts.parent;
  }
  if (opts.orphan || !opts.branch) return null;
  return resolveRev(repo, opts.branch, true);
}

/** Metadata in ostree 2022.7's order (see ot-builtin-commit.c); duplicates are kept, as there. */
function buildMetadata(repo: Repo, parent: string | null, opts: CommitOpts): [string, Variant][] {
  const out: [string, Variant][] = [];
  const split = (kv: string) => {
    const eq = kv.indexOf("=");
    if (eq < 0) throw new UsageError(`Missing '=' in KEY=VALUE metadata '${kv}'`);
    return [kv.slice(0, eq), kv.slice(eq + 1)] as const;
  };
  for (const kv of opts.addMetadataString) {
    const [k, v] = split(kv);
    out.push([k, Variant.of("s", v)]);
  }
  for (const kv of opts.addMetadata) {
    const [k, v] = split(kv);
    try {
      out.push([k, parseText(v)]);
    } catch (e) {
      throw new UsageError(`Parsing ${kv}: ${(e as Error).message}`);
    }
  }
  if (opts.keepMetadata.length) {
    const pm = repo.loadCommit(parent as string).metadata;
    for (const key of opts.keepMetadata) {
      const v = metadataGet(pm, key);
      if (!v) throw new RepoError(`Missing metadata key '${key}' from commit '${parent}'`);
      out.push([key, v]);
    }
  }
  if (opts.bindings) {
    const refs = [...(opts.branch ? [opts.branch] : []), ...opts.bindRef].sort((a, b) =>
      Buffer.compare(Buffer.from(a), Buffer.from(b)),
    );
    out.push(["ostree.ref-binding", Variant.of("as", refs)]);
    const collection = repo.config.get("core", "collection-id");
    if (collection && !out.some(([k]) => k === "ostree.collection-binding"))
      out.push(["ostree.collection-binding", Variant.of("s", collection)]);
  }
  return out;
}

function report(opts: CommitOpts, csum: string, tx: Transaction): void {
  if (!opts.tableOutput) {
    process.stdout.write(`${csum}\n`);
    return;
  }
  const s = tx.stats;
  process.stdout.write(
    `Commit: ${csum}\nMetadata Total: ${s.metadataTotal}\nMetadata Written: ${s.metadataWritten}\n` +
      `Content Total: ${s.contentTotal}\nContent Written: ${s.contentWritten}\n` +
      `Content Bytes Written: ${s.contentBytesWritten}\n`,
  );
}

function parseId(v: string, flag: string): number {
  if (!/^-?\d+$/.test(v)) throw new UsageError(`Cannot parse integer value '${v}' for ${flag}`);
  return Number(v);
}

function parseFsync(v: string): boolean {
  if (/^(1|true|yes)$/i.test(v)) return true;
  if (/^(0|false|no)$/i.test(v)) return false;
  throw new UsageError(`Invalid boolean value '${v}' for --fsync`);
}

/** A one-line progress report on stderr, only when stderr is a terminal. */
class ProgressLine {
  private shown = false;
  private readonly tty = process.stderr.isTTY === true;
  show(p: CommitProgress): void {
    if (!this.tty) return;
    const mb = (p.bytes / 1e6).toFixed(1);
    process.stderr.write(
      `\rCommitting: ${p.files} files, ${mb} MB${p.devinoHits ? `, ${p.devinoHits} linked` : ""}\x1b[K`,
    );
    this.shown = true;
  }
  done(): void {
    if (this.shown) process.stderr.write("\r\x1b[K");
    this.shown = false;
  }
}
