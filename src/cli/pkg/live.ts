// `tsostree-pkg apply-live`: the pending deployment's additions in the running system now. Parsing
// and printing only; the work is src/live/apply.ts. `install --apply-live` prints through here too.
import type { Command } from "commander";
import { type ApplyLiveOptions, type ApplyLiveResult, applyLive } from "../../live/apply.js";
import { pathList } from "../../live/plan.js";
import { withSysroot } from "./sysroot-option.js";

export function printLiveResult(r: ApplyLiveResult): void {
  const out: string[] = [];
  if (r.kind === "noop")
    out.push(
      r.state
        ? `Commit ${r.to} is already live.`
        : "Nothing applied live; the running root is the booted deployment.",
    );
  else if (r.kind === "reset") out.push(`Reset the running root to the booted commit ${r.to}.`);
  else {
    const p = r.plan!;
    out.push(`Applied ${r.to} live (from ${r.from.slice(0, 12)}):`);
    if (p.added.length) out.push(`  added: ${pathList(p.added)}`);
    if (p.updated.length)
      out.push(`  updated package databases and /usr/etc defaults: ${pathList(p.updated)}`);
    if (p.replaced.length) out.push(`  replaced: ${pathList(p.replaced)}`);
    if (p.removed.length) out.push(`  removed: ${pathList(p.removed)}`);
    const etc = r.state!.etcAdded.length;
    if (etc) out.push(`  /etc: ${etc} path(s) added where absent`);
    out.push(
      "Services using replaced files are not restarted; the full change takes effect at the next boot.",
    );
  }
  for (const n of r.notes) out.push(`note: ${n}`);
  process.stdout.write(`${out.join("\n")}\n`);
}

export async function runApplyLive(o: ApplyLiveOptions): Promise<void> {
  printLiveResult(await applyLive(o));
}

export function registerApplyLive(program: Command): void {
  withSysroot(
    program
      .command("apply-live")
      .description("apply the pending deployment's additions to the running system now"),
  )
    .option("--target <rev>", "the commit to apply (default: the default deployment's)")
    .option("--reset", "make the running root the booted deployment again")
    .option("--allow-replacement", "also replace and remove existing files (each atomically, by rename)")
    .addHelpText(
      "after",
      `
Only additions go live by default; a target that modifies or removes a path of the running system
is refused (nothing changed) unless --allow-replacement. The booted deployment and the repository
are never modified: on a host the files go into a transient overlay on /usr (as
\`ostree admin unlock --transient\`, upper under /run), on a booted sandbox into SYSROOT/run/root.
The change is forgotten at the next boot, when the new deployment boots.`,
    )
    .action(
      async (o: {
        sysroot: string;
        os?: string;
        target?: string;
        reset?: boolean;
        allowReplacement?: boolean;
      }) => {
        await runApplyLive({
          sysroot: o.sysroot,
          osname: o.os,
          target: o.target,
          reset: !!o.reset,
          allowReplacement: !!o.allowReplacement,
        });
      },
    );
}
