// `--sysroot` and `--os`, shared by every command that acts on deployments (kept apart so that the
// read commands do not load the layering transaction).
import type { Command } from "commander";

export function withSysroot(cmd: Command): Command {
  return cmd
    .option("--sysroot <path>", "the sysroot to operate on", "/")
    .option("--os <stateroot>", "the stateroot (default: the booted one)");
}
