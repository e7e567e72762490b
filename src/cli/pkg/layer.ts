// `tsostree-pkg install | uninstall | reset | upgrade`: the commands that change what is layered.
// Parsing and printing only; the transaction is src/compose/layer.ts.
import type { Command } from "commander";
import { localPackageName } from "../../compose/fetch-import.js";
import { type LayerOptions, type LayerResult, layer } from "../../compose/layer.js";
import type { LayerRequest, LocalPackage } from "../../compose/origin.js";
import { ScriptError } from "../../compose/scripts.js";
import { parseRequest } from "../../packages/resolve.js";
import type { Repo } from "../../repo/repo.js";
import { isRealRoot } from "../../sysroot/booted.js";
import { UsageError } from "../common.js";
import { withSysroot } from "./sysroot-option.js";

interface CommonOpts {
  sysroot: string;
  os?: string;
  dryRun?: boolean;
  installRecommends?: boolean;
  scripts?: boolean;
  refreshMd?: boolean;
}

function withTransaction(cmd: Command): Command {
  return withSysroot(cmd)
    .option("-n, --dry-run", "resolve and print what would be done, change nothing")
    .option("--no-install-recommends", "do not install Recommends (the default follows them as apt does)")
    .option("--install-recommends", "install Recommends (default)")
    .option("--no-scripts", "do not run maintainer scripts and triggers (recorded in the commit)")
    .option("--no-refresh-md", "use the cached repository metadata without checking for newer");
}

const nameOf = (spec: string) => parseRequest(spec).name;

/** Package names of requested package files, each looked up once (it reads the package commits). */
function localNames(repo: Repo, list: LocalPackage[]): (l: LocalPackage) => string {
  const names = new Map(list.map((l) => [l.sha256, localPackageName(repo, l)]));
  return (l) => names.get(l.sha256) ?? l.nevra;
}

const started = performance.now();

/** One line per step, with the time since the command started (where the time goes, at a glance). */
function progress(msg: string): void {
  const s = ((performance.now() - started) / 1000).toFixed(2);
  process.stdout.write(`[${s.padStart(6)}s] ${msg}\n`);
}

async function run(o: CommonOpts, change: LayerOptions["change"], extra: Partial<LayerOptions> = {}) {
  const r = await layer({
    sysroot: o.sysroot,
    osname: o.os,
    change,
    dryRun: o.dryRun,
    recommends: o.installRecommends !== false,
    noScripts: o.scripts === false,
    refresh: o.refreshMd !== false,
    progress,
    ...extra,
  }).catch((e: unknown) => {
    // A failed script's output goes with the progress lines; the error itself stays one line.
    if (e instanceof ScriptError && e.output.trim())
      process.stdout.write(`${e.packageName} ${e.script} output (last lines):\n${indent(e.output)}\n`);
    throw e;
  });
  report(r, o);
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}

function report(r: LayerResult, o: CommonOpts): void {
  const list = r.plan.install.map((v) => `  ${v.name} ${v.evr} (${v.arch})`);
  if (o.dryRun) {
    process.stdout.write(
      list.length
        ? `Would layer ${list.length} package${list.length === 1 ? "" : "s"} onto ${r.plan.base.slice(0, 12)}:\n${list.join("\n")}\n`
        : `Would deploy the base ${r.plan.base.slice(0, 12)} without layered packages\n`,
    );
    return;
  }
  if (!r.changed) {
    process.stdout.write("No change.\n");
    return;
  }
  if (list.length) process.stdout.write(`Layered packages:\n${list.join("\n")}\n`);
  const d = r.deployment!;
  process.stdout.write(
    `Deployed ${d.osname} ${d.csum}.${d.deployserial} as the default for the next boot.\n`,
  );
  process.stdout.write(
    isRealRoot(o.sysroot)
      ? 'Run "systemctl reboot" to start using it.\n'
      : `Boot it with \`tsostree admin boot --sysroot=${o.sysroot}\`.\n`,
  );
}

type InstallOpts = CommonOpts & { idempotent?: boolean; allowInactive?: boolean; applyLive?: boolean };

export function registerLayer(program: Command): void {
  withTransaction(
    program
      .command("install")
      .description("layer packages (and what they need) onto the base image, as a new deployment")
      .argument("<pkg...>", "package names (name, name=version, name:arch) or .deb/.rpm files (./foo.deb)"),
  )
    .option("--idempotent", "do nothing if a package is already requested")
    .option("--allow-inactive", "allow requesting a package the base image already has")
    .option("-A, --apply-live", "then apply the new deployment's additions to the running system")
    .addHelpText(
      "after",
      `
The packages are resolved against the base image's package set with the repositories the booted
deployment's /etc configures (apt: /etc/apt/sources.list{,.d}; dnf: /etc/yum.repos.d), imported once
each, layered onto the base and deployed as the default for the next boot; the current deployment
stays as the rollback (\`tsostree-pkg rollback\`). Nothing changes on failure.

Examples:
  tsostree-pkg install strace                       on this host (as root)
  tsostree-pkg install --sysroot=S nano ./tool.deb  on a sandbox sysroot S
  tsostree-pkg install -n strace                    only show what would be layered`,
    )
    .action(async (args: string[], o: InstallOpts) => {
      const isFile = (a: string) => a.includes("/") || /\.(deb|rpm)$/.test(a);
      const pkgs = args.filter((a) => !isFile(a));
      const files = args.filter(isFile);
      await run(
        o,
        (r: LayerRequest, _s, local) => {
          const have = new Set(r.packages.map(nameOf));
          const added: string[] = [];
          for (const p of pkgs) {
            if (have.has(nameOf(p))) {
              if (o.idempotent) continue;
              throw new UsageError(
                `${nameOf(p)} is already requested; see \`tsostree-pkg status\` (or pass --idempotent)`,
              );
            }
            have.add(nameOf(p));
            added.push(p);
          }
          const shas = new Set(r.localPackages.map((l) => l.sha256));
          const localAdded = local
            .filter((l) => !shas.has(l.sha256))
            .map(({ sha256, nevra }) => ({ sha256, nevra }));
          if (local.length && !localAdded.length && !added.length && !o.idempotent)
            throw new UsageError(
              `${local.map((l) => l.nevra).join(", ")} ${local.length === 1 ? "is" : "are"} already requested; see \`tsostree-pkg status\` (or pass --idempotent)`,
            );
          return {
            ...r,
            packages: [...r.packages, ...added],
            localPackages: [...r.localPackages, ...localAdded],
          };
        },
        { allowInactive: !!o.allowInactive, localFiles: files },
      );
      if (o.applyLive && !o.dryRun)
        await (await import("./live.js")).runApplyLive({ sysroot: o.sysroot, osname: o.os });
    });

  withTransaction(
    program
      .command("uninstall")
      .description("remove layered packages (base packages: `override remove`)")
      .argument("[pkg...]", "names of requested packages"),
  )
    .option("--idempotent", "do nothing if a package is not requested")
    .option("--all", "remove every layered package (overrides stay: `override reset --all`)")
    .option("-A, --apply-live", "then remove the files from the running system, unless one is in use")
    .action(
      async (
        pkgs: string[],
        o: CommonOpts & { idempotent?: boolean; all?: boolean; applyLive?: boolean },
      ) => {
        if (!pkgs.length && !o.all) throw new UsageError("name the packages to uninstall, or pass --all");
        await run(o, (r: LayerRequest, s) => {
          if (o.all) return { ...r, packages: [], localPackages: [] };
          const drop = new Set(pkgs);
          const localName = localNames(s.repo, r.localPackages);
          for (const p of pkgs)
            if (
              !r.packages.some((x) => nameOf(x) === p) &&
              !r.localPackages.some((l) => localName(l) === p) &&
              !o.idempotent
            )
              throw new UsageError(
                `${p} is not a layered package request; \`tsostree-pkg status\` lists them (base packages are removed with \`override remove\`)`,
              );
          return {
            ...r,
            packages: r.packages.filter((x) => !drop.has(nameOf(x))),
            localPackages: r.localPackages.filter((l) => !drop.has(localName(l))),
          };
        });
        if (o.applyLive && !o.dryRun)
          await (await import("./live.js")).runApplyLive({
            sysroot: o.sysroot,
            osname: o.os,
            allowRemoval: true,
          });
      },
    );

  withTransaction(
    program.command("reset").description("remove all layered packages and overrides: deploy the plain base"),
  ).action(async (o: CommonOpts) => {
    await run(o, (r: LayerRequest) => ({
      ...r,
      packages: [],
      localPackages: [],
      removals: [],
      replacements: [],
    }));
  });

  withTransaction(
    program
      .command("upgrade")
      .description(
        "move to the newest commit of the base ref and layer the requested packages on it (their newest versions)",
      ),
  )
    .option("--check", "only say whether there is an update (exit 77 when there is none)")
    .option("--preview", "like --check, and list the packages that would be layered")
    .option("--allow-downgrade", "permit a base commit older than the current one")
    .action(async (o: CommonOpts & { check?: boolean; preview?: boolean; allowDowngrade?: boolean }) => {
      // Looking (--check, --preview, -n) pulls only the new base's commit and package database.
      const look = !!(o.check || o.preview || o.dryRun);
      const { upgradedBase } = await import("../../compose/upgrade-pull.js");
      const rebase = upgradedBase({ check: look, allowDowngrade: !!o.allowDowngrade });
      if (!o.check && !o.preview) {
        await run(o, (x) => x, { rebase });
        return;
      }
      const r = await layer({
        sysroot: o.sysroot,
        osname: o.os,
        change: (x) => x,
        rebase,
        dryRun: true,
        recommends: o.installRecommends !== false,
        refresh: o.refreshMd !== false,
      });
      const u = r.update!;
      if (u.baseFrom !== r.plan.base) process.stdout.write(`Base: ${u.baseFrom} -> ${r.plan.base}\n`);
      for (const c of u.packages) process.stdout.write(`  ${c}\n`);
      if (o.preview) report(r, { ...o, dryRun: true });
      if (!u.available) {
        process.stdout.write("No updates available.\n");
        process.exitCode = 77;
      }
    });

  const override = program.command("override").description("remove or replace packages of the base image");
  withTransaction(
    override
      .command("remove")
      .description("remove base packages from the next deployment (the base commit is not changed)")
      .argument("<pkg...>", "names of base packages"),
  ).action(async (pkgs: string[], o: CommonOpts) => {
    await run(o, (r: LayerRequest) => {
      for (const p of pkgs)
        if (r.removals.includes(p))
          throw new UsageError(`${p} is already removed; see \`tsostree-pkg status\``);
      return { ...r, removals: [...r.removals, ...pkgs] };
    });
  });

  withTransaction(
    override
      .command("replace")
      .description("replace base packages with the given package files")
      .argument("<file...>", ".deb or .rpm files"),
  ).action(async (files: string[], o: CommonOpts) => {
    await run(
      o,
      (r: LayerRequest, _s, local) => {
        const shas = new Set(r.replacements.map((x) => x.sha256));
        const added = local
          .filter((l) => !shas.has(l.sha256))
          .map(({ sha256, nevra }) => ({ sha256, nevra }));
        return { ...r, replacements: [...r.replacements, ...added] };
      },
      { localFiles: files },
    );
  });

  withTransaction(
    override
      .command("reset")
      .description("undo overrides: the named base packages (or all with --all) come back from the base")
      .argument("[pkg...]", "names of removed or replaced base packages"),
  )
    .option("-a, --all", "undo every override")
    .action(async (pkgs: string[], o: CommonOpts & { all?: boolean }) => {
      if (!pkgs.length && !o.all) throw new UsageError("name the packages to reset, or pass --all");
      await run(o, (r: LayerRequest, s) => {
        if (o.all) return { ...r, removals: [], replacements: [] };
        const name = localNames(s.repo, r.replacements);
        for (const p of pkgs)
          if (!r.removals.includes(p) && !r.replacements.some((l) => name(l) === p))
            throw new UsageError(`${p} is not overridden; \`tsostree-pkg status\` lists the overrides`);
        const drop = new Set(pkgs);
        return {
          ...r,
          removals: r.removals.filter((x) => !drop.has(x)),
          replacements: r.replacements.filter((l) => !drop.has(name(l))),
        };
      });
    });
}
