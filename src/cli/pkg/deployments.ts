// `tsostree-pkg status | rollback | cleanup`: the deployments as the package layer sees them.
import type { Command } from "commander";
import { formatPkgStatus, pkgDeploymentStatuses } from "../../compose/status.js";
import { liveRows, liveStatus } from "../../live/status.js";
import { rollback, rollbackList } from "../../sysroot/ops.js";
import { nextBootIndex } from "../../sysroot/status.js";
import { Sysroot } from "../../sysroot/sysroot.js";
import { printJson, UsageError } from "../common.js";
import { withSysroot } from "./sysroot-option.js";

interface Opts {
  sysroot: string;
  os?: string;
  json?: boolean;
  verbose?: boolean;
}

export function registerDeployments(program: Command): void {
  withSysroot(program.command("status").description("show the deployments, their base and layered packages"))
    .option("--json", "machine-readable output")
    .option("-v, --verbose", "also list every layered package with its version")
    .action((o: Opts) => {
      const s = Sysroot.load(o.sysroot);
      const list = pkgDeploymentStatuses(s).filter((d) => !o.os || d.stateroot === o.os);
      const live = liveStatus(s);
      if (!o.json) {
        process.stdout.write(
          formatPkgStatus(list, !!s.booted, !!o.verbose, (d) => (d.booted ? liveRows(live) : [])),
        );
        return;
      }
      let rollbackTarget: string | null = null;
      const os = s.booted?.osname ?? s.deployments[0]?.osname;
      if (os)
        try {
          const t = rollbackList(s, os).target;
          rollbackTarget = `${t.osname} ${t.csum}.${t.deployserial}`;
        } catch {
          rollbackTarget = null;
        }
      const next = s.deployments[nextBootIndex(s)];
      printJson({
        booted: !!s.booted,
        nextBoot: next ? `${next.osname} ${next.csum}.${next.deployserial}` : null,
        rollbackTarget,
        live,
        deployments: list,
      });
    });

  withSysroot(
    program
      .command("rollback")
      .description("make the previous deployment the default for the next boot (run again to undo)"),
  ).action(async (o: Opts) => {
    const d = await rollback(o.sysroot, o.os);
    process.stdout.write(`Moving '${d.csum}.${d.deployserial}' to be first deployment\n`);
    process.stdout.write("Next boot: the previous deployment. Run `tsostree-pkg rollback` again to undo.\n");
  });

  withSysroot(program.command("cleanup").description("clear pending or rollback deployments and caches"))
    .option("-p, --pending", "remove the pending deployment")
    .option("-r, --rollback", "remove the rollback deployment")
    .option("-b, --base", "remove package commits no deployment uses, then prune the repository")
    .option("-m, --repomd", "delete the cached repository metadata")
    .action(async (o: Opts & { pending?: boolean; rollback?: boolean; base?: boolean; repomd?: boolean }) => {
      if (!o.pending && !o.rollback && !o.base && !o.repomd)
        throw new UsageError("cleanup needs at least one of -p, -r, -b, -m");
      // Loaded here: it brings the package import code, which status and rollback do not need.
      const { cleanupLayering } = await import("../../compose/cleanup.js");
      const r = await cleanupLayering(o.sysroot, {
        osname: o.os,
        pending: !!o.pending,
        rollback: !!o.rollback,
        base: !!o.base,
        repomd: !!o.repomd,
      });
      for (const l of r.messages) process.stdout.write(`${l}\n`);
    });
}
