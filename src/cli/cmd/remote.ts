// `tsostree remote add|list|delete|show-url|refs|summary|gpg-import`, as ostree's `remote` command.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { byteswapValue } from "../../gvariant/byteswap.js";
import { deserialize, printValue } from "../../gvariant/index.js";
import { importRemoteKeys } from "../../pull/keyring.js";
import { addRemote, deleteRemote, getRemote, listRemotes, signVerifyOption } from "../../pull/remotes.js";
import { remoteSource } from "../../pull/source.js";
import { Repo, RepoError } from "../../repo/repo.js";
import { parseSummary, T_SUMMARY } from "../../repo/summary.js";
import { LineWriter, openRepo, printJson, UsageError, withJson, withRepo } from "../common.js";
import { formatSummary } from "./summary.js";

const collect = (v: string, acc: string[] = []) => [...acc, v];

/**
 * The repo and, with --sysroot, the sysroot whose etc/ostree/remotes.d holds remotes too (as
 * ostree's --sysroot; /ostree/repo is its own system's).
 */
export function openRemoteScope(opts: { repo?: string; sysroot?: string }): { repo: Repo; sysroot?: string } {
  if (opts.sysroot === undefined) return { repo: openRepo(opts) };
  return { repo: Repo.open(opts.repo ?? join(opts.sysroot, "ostree", "repo")), sysroot: opts.sysroot };
}

/** --repo and --sysroot, for every remote command. */
function scoped(cmd: Command): Command {
  return withRepo(cmd).option(
    "--sysroot <path>",
    "use the sysroot at PATH (its repo and etc/ostree/remotes.d)",
  );
}

function parseSet(kv: string): [string, string] {
  const i = kv.indexOf("=");
  if (i <= 0) throw new UsageError(`--set: expected KEY=VALUE, got '${kv}'`);
  return [kv.slice(0, i), kv.slice(i + 1)];
}

async function fetchSummary(opts: { repo?: string; sysroot?: string }, name: string): Promise<Buffer> {
  const { repo, sysroot } = openRemoteScope(opts);
  const source = remoteSource(getRemote(repo, name, sysroot));
  try {
    const s = await source.summary();
    if (!s)
      throw new RepoError(
        `remote "${name}" (${source.description}) has no summary file; it can only be pulled by ref name`,
      );
    return s.summary;
  } finally {
    await source.close();
  }
}

export function registerRemote(program: Command): void {
  const remote = program.command("remote").description("manage remote repositories");

  scoped(remote.command("add"))
    .description("add a remote repository")
    .argument("<name>")
    .argument("<url>")
    .argument("[branches...]")
    .option("--set <key=value>", "set a config option", collect)
    .option("--no-gpg-verify", "disable GPG verification")
    .option("--if-not-exists", "do nothing if the remote exists")
    .option("--gpg-import <file>", "import GPG keys from FILE into the remote's keyring")
    .option(
      "--sign-verify <spec>",
      "verify commits with this public key: ed25519=inline:BASE64KEY or ed25519=file:PATH (repeatable; sets sign-verify=true)",
      collect,
    )
    .action(async (name: string, url: string, branches: string[], opts) => {
      const { repo, sysroot } = openRemoteScope(opts);
      const added = addRemote(repo, name, url, {
        sysroot,
        branches,
        set: ((opts.set as string[]) ?? []).map(parseSet),
        noGpgVerify: opts.gpgVerify === false,
        signVerify: ((opts.signVerify as string[]) ?? []).map(signVerifyOption),
        ifNotExists: opts.ifNotExists,
      });
      if (added && opts.gpgImport) {
        const n = await importRemoteKeys(repo, name, readFileSync(opts.gpgImport), opts.gpgImport);
        process.stdout.write(`Imported ${n} GPG key${n === 1 ? "" : "s"} to remote "${name}"\n`);
      }
    });

  withJson(scoped(remote.command("list")))
    .description("list remote repository names")
    .option("-u, --show-urls", "show remote URLs in list")
    .action((opts) => {
      const { repo, sysroot } = openRemoteScope(opts);
      const remotes = listRemotes(repo, sysroot);
      if (opts.json)
        return printJson(
          remotes.map((r) => ({ name: r.name, url: r.url, file: r.file, options: r.options })),
        );
      const w = new LineWriter();
      const width = Math.max(0, ...remotes.map((r) => r.name.length));
      for (const r of remotes) w.line(opts.showUrls ? `${r.name.padEnd(width)}  ${r.url}` : r.name);
      w.flush();
    });

  scoped(remote.command("delete"))
    .description("delete a remote repository")
    .argument("<name>")
    .option("--if-exists", "do nothing if the remote does not exist")
    .action((name: string, opts) => {
      const { repo, sysroot } = openRemoteScope(opts);
      deleteRemote(repo, name, { ifExists: opts.ifExists, sysroot });
    });

  scoped(remote.command("show-url"))
    .description("show remote repository URL")
    .argument("<name>")
    .action((name: string, opts) => {
      const { repo, sysroot } = openRemoteScope(opts);
      process.stdout.write(`${getRemote(repo, name, sysroot).url}\n`);
    });

  withJson(scoped(remote.command("refs")))
    .description("list the refs of a remote (from its summary)")
    .argument("<name>")
    .action(async (name: string, opts) => {
      const s = parseSummary(await fetchSummary(opts, name));
      if (opts.json) return printJson(s.refs.map((r) => ({ ref: `${name}:${r.name}`, commit: r.checksum })));
      const w = new LineWriter();
      for (const r of s.refs) w.line(`${name}:${r.name}`);
      w.flush();
    });

  scoped(remote.command("summary"))
    .description("show a remote's summary")
    .argument("<name>")
    .option("--raw", "show the raw variant data")
    .action(async (name: string, opts) => {
      const bytes = await fetchSummary(opts, name);
      if (opts.raw) {
        const v = deserialize(T_SUMMARY, bytes);
        process.stdout.write(`${printValue(T_SUMMARY, byteswapValue(T_SUMMARY, v))}\n`);
      } else process.stdout.write(formatSummary(bytes));
    });

  scoped(remote.command("gpg-import"))
    .description("import GPG keys into a remote's keyring (REPO/NAME.trustedkeys.gpg)")
    .argument("<name>")
    .option("-k, --keyring <file>", "import keys from a keyring file (binary or armored)", collect)
    .option("--stdin", "import keys from standard input")
    .action(async (name: string, opts) => {
      const { repo, sysroot } = openRemoteScope(opts);
      getRemote(repo, name, sysroot);
      const inputs: [Buffer, string][] = ((opts.keyring as string[]) ?? []).map((f) => [readFileSync(f), f]);
      if (opts.stdin) inputs.push([readFileSync(0), "standard input"]);
      if (!inputs.length) throw new UsageError("name the keys to import with -k FILE or --stdin");
      let n = 0;
      for (const [data, what] of inputs) n += await importRemoteKeys(repo, name, data, what);
      process.stdout.write(`Imported ${n} GPG key${n === 1 ? "" : "s"} to remote "${name}"\n`);
    });
}
