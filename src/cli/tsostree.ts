// The `tsostree` command: ostree's commands and flags, so a script written for `ostree` runs
// unchanged. This file is only the list of commands; each lives in src/cli/cmd/NAME.ts and exports
// registerNAME(program). Append new ones to the list below as [name, loader].
//
// Only the module of the command being run is loaded (src/cli/lazy-commands.ts).
import { Command } from "commander";
import { runProgram } from "./common.js";
import { type CommandTable, registerCommands } from "./lazy-commands.js";
import { packageVersion } from "./version.js";

const COMMANDS: CommandTable = [
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
  ["gpg-sign", async () => (await import("./cmd/gpg-sign.js")).registerGpgSign],
  ["sign", async () => (await import("./cmd/sign.js")).registerSign],
  ["static-delta", async () => (await import("./cmd/static-delta.js")).registerStaticDelta],
  ["remote", async () => (await import("./cmd/remote.js")).registerRemote],
  ["pull", async () => (await import("./cmd/pull.js")).registerPull],
  ["pull-local", async () => (await import("./cmd/pull.js")).registerPull],
];

const program = new Command("tsostree")
  .description("OSTree in TypeScript: a content-addressed object store for operating system trees")
  .version(packageVersion())
  .showHelpAfterError(false);

// No top-level await: the bundle of this entry is CommonJS (scripts/bundle.mjs).
void registerCommands(program, COMMANDS, process.argv, ["--repo"]).then(() =>
  runProgram(program, process.argv),
);
