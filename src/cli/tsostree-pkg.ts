// The `tsostree-pkg` command: the package layer. This file is only the list of commands; each lives
// in src/cli/pkg/NAME.ts and exports registerNAME(program). Append new ones to the list below.
import { Command, CommanderError } from "commander";
import { packageVersion } from "./common.js";
import { registerImport } from "./pkg/import.js";
import { registerInspect } from "./pkg/inspect.js";
import { registerRefreshMd } from "./pkg/refresh-md.js";
import { registerResolve } from "./pkg/resolve.js";

const program = new Command("tsostree-pkg")
  .description("layer .deb and .rpm packages onto OSTree commits")
  .version(packageVersion())
  .exitOverride();

registerInspect(program);
registerImport(program);
registerResolve(program);
registerRefreshMd(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
  else {
    // One line, always: a broken or hostile package is an expected outcome, not a crash.
    const msg = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, " ");
    process.stderr.write(`tsostree-pkg: ${msg}\n`);
    if (process.env.TSOSTREE_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
    process.exitCode = 1;
  }
}
