// What every tsostree command shares: finding the repo (`--repo`, like ostree), printing JSON for
// `--json`, and turning failures into ostree's one-line `error: MESSAGE` with the right exit code.
import { existsSync } from "node:fs";
import { type Command, CommanderError } from "commander";
import { Repo, RepoError } from "../repo/repo.js";
import { errorLine } from "../util/errno.js";

/** Exit codes, as documented in docs/cli.md: ostree uses 1 for every failure; we keep 2 for usage. */
export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

/** A failure the user caused with the command line (bad argument combination, missing operand). */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Adds `--repo=PATH` to a command (ostree's spelling; the default follows ostree too). */
export function withRepo(cmd: Command): Command {
  return cmd.option(
    "--repo <path>",
    "path to the OSTree repository (default: $OSTREE_REPO, or /ostree/repo)",
  );
}

/** Adds `--json`, our addition to ostree's read commands. */
export function withJson(cmd: Command): Command {
  return cmd.option("--json", "print machine-readable JSON instead of ostree's text format");
}

/** Resolves the repository path the way ostree does when `--repo` is absent. */
export function repoPath(opts: { repo?: string }): string {
  if (opts.repo) return opts.repo;
  if (process.env.OSTREE_REPO) return process.env.OSTREE_REPO;
  if (existsSync("/ostree/repo/objects")) return "/ostree/repo";
  throw new UsageError(
    "Command requires a --repo argument (or OSTREE_REPO; /ostree/repo is used when it exists)",
  );
}

export function openRepo(opts: { repo?: string }): Repo {
  return Repo.open(repoPath(opts));
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** stdout writes that are fast for large listings: buffer lines and flush once. */
export class LineWriter {
  private parts: string[] = [];
  private size = 0;
  line(s: string): void {
    this.parts.push(s, "\n");
    this.size += s.length;
    if (this.size > 1 << 20) this.flush();
  }
  flush(): void {
    if (this.parts.length) process.stdout.write(this.parts.join(""));
    this.parts = [];
    this.size = 0;
  }
}

/**
 * Parses argv and runs the chosen action. Usage errors (commander's own, or UsageError) exit 2;
 * any other failure prints `error: MESSAGE` on stderr and exits 1, as ostree does.
 */
export async function runProgram(program: Command, argv: string[]): Promise<never> {
  // Commands are registered before this runs, so exitOverride must be applied to each of them:
  // commander would otherwise exit(1) on a usage error in a subcommand.
  const override = (c: Command): void => {
    c.exitOverride();
    for (const sub of c.commands) override(sub);
  };
  override(program);
  // ostree accepts `ostree --repo=R CMD …` as well as `ostree CMD --repo=R …`.
  program.option("--repo <path>", "path to the OSTree repository");
  program.hook("preAction", (root, action) => {
    const repo = root.opts().repo as string | undefined;
    if (repo !== undefined && action !== root && action.opts().repo === undefined)
      action.setOptionValue("repo", repo);
  });
  try {
    await program.parseAsync(argv);
    process.exitCode ??= EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and --version report exit code 0; everything else commander throws is a usage error.
      process.exitCode = e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    } else if (e instanceof UsageError) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exitCode = EXIT_USAGE;
    } else {
      // One line, always; a failed system call says which path and what to do (util/errno.ts).
      process.stderr.write(`error: ${errorLine(e)}\n`);
      if (process.env.TSOSTREE_DEBUG && !(e instanceof RepoError))
        process.stderr.write(`${(e as Error)?.stack}\n`);
      process.exitCode = EXIT_ERROR;
    }
  }
  // Let pending stdout writes drain before leaving.
  await new Promise<void>((r) => process.stdout.write("", () => r()));
  process.exit(process.exitCode);
}
