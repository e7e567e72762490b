// The `tsostree` command: ostree's commands and flags, so a script written for `ostree` runs
// unchanged. This file is only the list of commands; each lives in src/cli/cmd/NAME.ts and exports
// registerNAME(program). Append new ones to the list below as [name, loader].
//
// Only the module of the command being run is loaded (all of them for help or an unknown name):
// loading every command's dependencies doubled the startup time, which every invocation pays.
import { Command } from "commander";
import { packageVersion, runProgram } from "./common.js";

type Register = (program: Command) => void;

const COMMANDS: [string, () => Promise<Register>][] = [
  ["init", async () => (await import("./cmd/init.js")).registerInit],
  ["config", async () => (await import("./cmd/config.js")).registerConfig],
  ["refs", async () => (await import("./cmd/refs.js")).registerRefs],
  ["rev-parse", async () => (await import("./cmd/rev-parse.js")).registerRevParse],
  ["log", async () => (await import("./cmd/log.js")).registerLog],
  ["show", async () => (await import("./cmd/show.js")).registerShow],
  ["ls", async () => (await import("./cmd/ls.js")).registerLs],
  ["cat", async () => (await import("./cmd/cat.js")).registerCat],
  ["commit", async () => (await import("./cmd/commit.js")).registerCommit],
  ["checkout", async () => (await import("./cmd/checkout.js")).registerCheckout],
  ["reset", async () => (await import("./cmd/reset.js")).registerReset],
  ["diff", async () => (await import("./cmd/diff.js")).registerDiff],
  ["fsck", async () => (await import("./cmd/fsck.js")).registerFsck],
  ["prune", async () => (await import("./cmd/prune.js")).registerPrune],
  ["summary", async () => (await import("./cmd/summary.js")).registerSummary],
  ["export", async () => (await import("./cmd/export.js")).registerExport],
  ["admin", async () => (await import("./cmd/admin.js")).registerAdmin],
];

/** The command word of argv (after global options such as `--repo R`), if any. */
function commandWord(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--repo") i++;
    else if (!a.startsWith("-")) return a;
    else if (!a.startsWith("--repo=")) return undefined;
  }
  return undefined;
}

const program = new Command("tsostree")
  .description("OSTree in TypeScript: a content-addressed object store for operating system trees")
  .version(packageVersion())
  .showHelpAfterError(false);

const word = commandWord(process.argv.slice(2));
const chosen = COMMANDS.filter(([name]) => name === word);
for (const [, load] of chosen.length ? chosen : COMMANDS) (await load())(program);

await runProgram(program, process.argv);
