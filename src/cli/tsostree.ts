// The `tsostree` command: ostree's commands and flags, so a script written for `ostree` runs
// unchanged. This file is only the list of commands; each lives in src/cli/cmd/NAME.ts and exports
// registerNAME(program). Append new ones to the list below.
import { Command } from "commander";
import { registerAdmin } from "./cmd/admin.js";
import { registerCat } from "./cmd/cat.js";
import { registerCheckout } from "./cmd/checkout.js";
import { registerCommit } from "./cmd/commit.js";
import { registerConfig } from "./cmd/config.js";
import { registerDiff } from "./cmd/diff.js";
import { registerExport } from "./cmd/export.js";
import { registerFsck } from "./cmd/fsck.js";
import { registerInit } from "./cmd/init.js";
import { registerLog } from "./cmd/log.js";
import { registerLs } from "./cmd/ls.js";
import { registerPrune } from "./cmd/prune.js";
import { registerRefs } from "./cmd/refs.js";
import { registerReset } from "./cmd/reset.js";
import { registerRevParse } from "./cmd/rev-parse.js";
import { registerShow } from "./cmd/show.js";
import { registerSummary } from "./cmd/summary.js";
import { packageVersion, runProgram } from "./common.js";

const program = new Command("tsostree")
  .description("OSTree in TypeScript: a content-addressed object store for operating system trees")
  .version(packageVersion())
  .showHelpAfterError(false);

registerInit(program);
registerConfig(program);
registerRefs(program);
registerRevParse(program);
registerLog(program);
registerShow(program);
registerLs(program);
registerCat(program);
registerCommit(program);
registerCheckout(program);
registerReset(program);
registerDiff(program);
registerFsck(program);
registerPrune(program);
registerSummary(program);
registerExport(program);
registerAdmin(program);

await runProgram(program, process.argv);
