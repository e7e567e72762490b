// The `tsostree-pkg` command: the package layer. This file is only the list of commands; each lives
// in src/cli/pkg/NAME.ts and exports registerNAME(program). Append new ones to the list below as
// [name, loader]; only the module of the command being run is loaded (src/cli/lazy-commands.ts).
import { Command, CommanderError } from "commander";
import { errorLine } from "../util/errno.js";
import { type CommandTable, registerCommands } from "./lazy-commands.js";
import { packageVersion } from "./version.js";

const COMMANDS: CommandTable = [
  ["inspect", async () => (await import("./pkg/inspect.js")).registerInspect],
  ["import", async () => (await import("./pkg/import.js")).registerImport],
  ["resolve", async () => (await import("./pkg/resolve.js")).registerResolve],
  ["refresh-md", async () => (await import("./pkg/refresh-md.js")).registerRefreshMd],
  ["install", async () => (await import("./pkg/layer.js")).registerLayer],
  ["uninstall", async () => (await import("./pkg/layer.js")).registerLayer],
  ["reset", async () => (await import("./pkg/layer.js")).registerLayer],
  ["upgrade", async () => (await import("./pkg/layer.js")).registerLayer],
  ["override", async () => (await import("./pkg/layer.js")).registerLayer],
  ["status", async () => (await import("./pkg/deployments.js")).registerDeployments],
  ["rollback", async () => (await import("./pkg/deployments.js")).registerDeployments],
  ["cleanup", async () => (await import("./pkg/deployments.js")).registerDeployments],
  ["db", async () => (await import("./pkg/db.js")).registerDb],
  ["compose", async () => (await import("./pkg/compose.js")).registerCompose],
  ["apply-live", async () => (await import("./pkg/live.js")).registerApplyLive],
];

const program = new Command("tsostree-pkg")
  .description("layer .deb and .rpm packages onto OSTree commits")
  .version(packageVersion())
  .exitOverride();

// No top-level await: the bundle of this entry is CommonJS (scripts/bundle.mjs).
void main();

async function main(): Promise<void> {
  try {
    await registerCommands(program, COMMANDS, process.argv);
    await program.parseAsync(process.argv);
  } catch (e) {
    report(e);
  }
}

/** Exit codes (docs/cli.md): 0 success, 1 failure, 2 usage (commander's errors and UsageError). */
function report(e: unknown): void {
  if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
  else {
    // One line, always: a broken or hostile package is an expected outcome, not a crash.
    process.stderr.write(`tsostree-pkg: ${errorLine(e)}\n`);
    if (process.env.TSOSTREE_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
    // By name: importing common.ts's class would load the repository code into every command.
    process.exitCode = (e as Error)?.name === "UsageError" ? 2 : 1;
  }
}
