// `tsostree admin …`: ostree's admin verbs and flags over src/sysroot (parsing and printing only),
// plus `rollback` (ostree 2022.7 has none) and `boot` (a simulated reboot of a sandbox sysroot).
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { bootSimulated } from "../../sysroot/boot-sim.js";
import { cleanupSysroot } from "../../sysroot/cleanup.js";
import { deploy } from "../../sysroot/deploy.js";
import { diffDirs } from "../../sysroot/etc-merge.js";
import { setFaultOp } from "../../sysroot/fault.js";
import {
  initFs,
  kargsEditInPlace,
  osInit,
  pin,
  rollback,
  rollbackList,
  setOrigin,
  undeploy,
  upgrade,
  withLockedSysroot,
} from "../../sysroot/ops.js";
import { originFromRefspec } from "../../sysroot/origin.js";
import { formatStatus, sysrootStatus } from "../../sysroot/status.js";
import { Sysroot, SysrootError } from "../../sysroot/sysroot.js";
import { unlock } from "../../sysroot/unlock.js";
import { KeyFile } from "../../util/keyfile.js";
import { printJson, UsageError } from "../common.js";

type Opts = Record<string, unknown>;

function sysrootOf(cmd: Command): string {
  return (cmd.optsWithGlobals().sysroot as string | undefined) ?? "/";
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

export function registerAdmin(program: Command): void {
  const admin = program
    .command("admin")
    .description("manage a sysroot of bootable deployments (like `ostree admin`)")
    .option("--sysroot <path>", "the sysroot to operate on (default: /)");

  admin
    .command("init-fs")
    .description("initialize a root filesystem")
    .argument("<path>")
    .option("--modern", "only create /boot and /ostree")
    .option("--repo-mode <mode>", "bare (default as root) or bare-user (default otherwise)")
    .action((path: string, o: Opts) => {
      initFs(path, { modern: !!o.modern, repoMode: o.repoMode as "bare" | "bare-user" | undefined });
    });

  admin
    .command("os-init")
    .description("initialize empty state for a stateroot")
    .argument("<osname>")
    .action((osname: string, _o: Opts, cmd: Command) => {
      osInit(sysrootOf(cmd), osname);
      process.stdout.write(`ostree/deploy/${osname} initialized as OSTree root\n`);
    });

  admin
    .command("deploy")
    .description("check out REFSPEC as the new default deployment")
    .argument("<refspec>")
    .option("--os <osname>", "stateroot to deploy into (default: the booted one)")
    .option("--origin-file <file>", "use this origin file instead of one naming REFSPEC")
    .option("--karg <NAME=VALUE>", "set a kernel argument, replacing earlier ones of that name", collect)
    .option("--karg-append <NAME=VALUE>", "append a kernel argument", collect)
    .option("--karg-delete <NAME[=VALUE]>", "delete a kernel argument")
    .option("--karg-none", "start from no kernel arguments")
    .option("--karg-proc-cmdline", "start from /proc/cmdline")
    .option("--no-merge", "do not carry /etc and kernel arguments over from the booted deployment")
    .option("--no-prune", "don't prune the repo when done")
    .option("--retain", "do not delete previous deployments")
    .option("--retain-pending", "do not delete pending deployments")
    .option("--retain-rollback", "do not delete rollback deployments")
    .option("--not-as-default", "append rather than prepend the new deployment")
    .option("--stage", "complete the deployment at (simulated) shutdown")
    .action(async (refspec: string, o: Opts, cmd: Command) => {
      setFaultOp("deploy");
      const origin = o.originFile
        ? KeyFile.parse(readFileSync(o.originFile as string, "utf8"))
        : originFromRefspec(refspec);
      await deploy({
        sysroot: sysrootOf(cmd),
        osname: o.os as string | undefined,
        revision: refspec,
        origin,
        karg: o.karg as string[] | undefined,
        kargAppend: o.kargAppend as string[] | undefined,
        kargDelete: o.kargDelete as string | undefined,
        kargNone: !!o.kargNone,
        kargProcCmdline: !!o.kargProcCmdline,
        noMerge: o.merge === false,
        noPrune: o.prune === false,
        retain: !!o.retain,
        retainPending: !!o.retainPending,
        retainRollback: !!o.retainRollback,
        notDefault: !!o.notAsDefault,
        stage: !!o.stage,
      });
    });

  admin
    .command("status")
    .description("list deployments")
    .option("--json", "machine-readable output")
    .action((o: Opts, cmd: Command) => {
      const s = Sysroot.load(sysrootOf(cmd));
      const pick = (x: Sysroot, os: string) => {
        try {
          return rollbackList(x, os).target;
        } catch {
          return null;
        }
      };
      if (o.json) printJson(sysrootStatus(s, pick));
      else process.stdout.write(formatStatus(s));
    });

  admin
    .command("rollback")
    .description("make the previous deployment the default for the next boot (again: undo)")
    .option("--os <osname>", "stateroot (default: the booted one)")
    .action(async (o: Opts, cmd: Command) => {
      const d = await rollback(sysrootOf(cmd), o.os as string | undefined);
      process.stdout.write(`Next boot: ${d.osname} ${d.csum}.${d.deployserial}\n`);
    });

  admin
    .command("undeploy")
    .description("delete deployment INDEX")
    .argument("<index>", "a number from `status`, or booted/pending/rollback")
    .action(async (index: string, _o: Opts, cmd: Command) => {
      const d = await undeploy(sysrootOf(cmd), index);
      process.stdout.write(`Deleted deployment ${d.csum}.${d.deployserial}\n`);
    });

  admin
    .command("pin")
    .description('change the "pinning" state of deployments')
    .argument("<index...>")
    .option("-u, --unpin", "unset pin")
    .action(async (indexes: string[], o: Opts, cmd: Command) => {
      for (const i of indexes) {
        const want = !o.unpin;
        const changed = await pin(sysrootOf(cmd), i, want);
        process.stdout.write(
          changed
            ? `Deployment ${i} is now ${want ? "pinned" : "unpinned"}\n`
            : `Deployment ${i} is already ${want ? "pinned" : "unpinned"}\n`,
        );
      }
    });

  admin
    .command("cleanup")
    .description("delete untagged deployments and repository objects")
    .action(async (_o: Opts, cmd: Command) => {
      setFaultOp("cleanup");
      await withLockedSysroot(sysrootOf(cmd), (s) => cleanupSysroot(s, { prune: true }));
    });

  admin
    .command("set-origin")
    .description("set the origin of a deployment, adding the remote if needed")
    .argument("<remote>")
    .argument("<url>")
    .argument("[branch]")
    .option("--index <index>", "deployment index (default: booted)")
    .option("--set <KEY=VALUE>", "set a remote option (e.g. gpg-verify=false) when adding it", collect)
    .action(async (remote: string, url: string, branch: string | undefined, o: Opts, cmd: Command) => {
      await setOrigin(
        sysrootOf(cmd),
        remote,
        url,
        branch,
        o.index as string | undefined,
        (o.set as string[]) ?? [],
      );
    });

  admin
    .command("kargs")
    .description("change kernel arguments")
    .command("edit-in-place")
    .description("change the kernel arguments of every deployment")
    .option("--append-if-missing <NAME=VALUE>", "append a kernel argument unless its key is present", collect)
    .option("--delete <NAME[=VALUE]>", "delete a kernel argument if present (tsostree addition)", collect)
    .action(async (o: Opts, cmd: Command) => {
      await kargsEditInPlace(
        sysrootOf(cmd),
        (o.appendIfMissing as string[] | undefined) ?? [],
        (o.delete as string[] | undefined) ?? [],
      );
    });

  admin
    .command("config-diff")
    .description("diff the current /etc against its defaults")
    .option("--os <osname>", "stateroot (default: the booted one)")
    .action(async (o: Opts, cmd: Command) => {
      const s = Sysroot.load(sysrootOf(cmd));
      const d = s.mergeDeployment(s.resolveOsname(o.os as string | undefined));
      if (!d) throw new SysrootError("No deployment to diff; deploy something first");
      const dir = s.deploymentDir(d);
      const diff = await diffDirs(`${dir}/usr/etc`, `${dir}/etc`);
      let out = "";
      for (const p of diff.modified) out += `M    ${p}\n`;
      for (const p of diff.removed) out += `D    ${p}\n`;
      for (const p of diff.added) out += `A    ${p}\n`;
      process.stdout.write(out);
    });

  admin
    .command("upgrade")
    .description(
      "pull the origin's ref from its remote and deploy it (the current deployment stays the rollback)",
    )
    .option("--os <osname>", "stateroot (default: the booted one)")
    .option("--allow-downgrade", "permit deploying an older commit")
    .option(
      "--check",
      "fetch only the new commit's metadata and say whether there is an update (exit 77: none)",
    )
    .option("--pull-only", "do not create a deployment, just download")
    .option("--deploy-only", "do not pull, only deploy")
    .action(async (o: Opts, cmd: Command) => {
      if (o.pullOnly && o.deployOnly)
        throw new UsageError("Cannot simultaneously specify --pull-only and --deploy-only");
      if (o.check && o.pullOnly)
        throw new UsageError("Cannot simultaneously specify --check and --pull-only");
      const check = !!o.check;
      const allowDowngrade = !!o.allowDowngrade;
      const r = await upgrade({
        sysroot: sysrootOf(cmd),
        osname: o.os as string | undefined,
        allowDowngrade,
        noDeploy: check || !!o.pullOnly,
        fetch: o.deployOnly
          ? undefined
          : async (s, spec, from) => {
              const { pullOrigin } = await import("../../compose/upgrade-pull.js");
              return (await pullOrigin(s, spec, { from, allowDowngrade, check, tty: true }))?.commit ?? null;
            },
      });
      if (!r.changed) {
        process.stdout.write("No update available.\n");
        if (check) process.exitCode = 77;
      } else if (check) process.stdout.write(`Update available: ${r.target}\n`);
    });

  admin
    .command("switch")
    .description("deploy REFSPEC and make it the origin (from refs in the local repo)")
    .argument("<refspec>")
    .option("--os <osname>", "stateroot (default: the booted one)")
    .option("--allow-downgrade", "accepted for compatibility (a switch is never a downgrade)")
    .action(async (refspec: string, o: Opts, cmd: Command) => {
      await upgrade({ sysroot: sysrootOf(cmd), osname: o.os as string | undefined, switchTo: refspec });
    });

  admin
    .command("unlock")
    .description("make the booted deployment's /usr writable (development, --transient or --hotfix)")
    .option("--hotfix", "keep changes across reboots; a clean clone becomes the rollback target")
    .option("--transient", "prepare the overlay read-only")
    .action(async (o: Opts, cmd: Command) => {
      if (o.hotfix && o.transient) throw new UsageError("Cannot specify both --hotfix and --transient");
      const state = o.hotfix ? "hotfix" : o.transient ? "transient" : "development";
      process.stdout.write(`${await unlock(sysrootOf(cmd), state)}\n`);
    });

  admin
    .command("boot")
    .description("simulate booting a sandbox sysroot (default: the first boot entry)")
    .argument("[index]", "boot entry index from `status`", "0")
    .action(async (index: string, _o: Opts, cmd: Command) => {
      if (!/^[0-9]+$/.test(index)) throw new UsageError(`invalid boot entry index '${index}'`);
      const d = await bootSimulated(sysrootOf(cmd), Number(index));
      process.stdout.write(`Booted ${d.osname} ${d.csum}.${d.deployserial}\n`);
    });
}
