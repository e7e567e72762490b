// What the running system is told after files went live, besides the linker cache (ldconfig.ts):
// - systemd: unit files that came, changed or went (/usr/lib/systemd/system, /usr/etc/systemd/system)
//   need `systemctl daemon-reload` before systemd sees them — run when systemd runs the live system
//   (a host with /run/systemd/system, as sd_booted() tests), reported otherwise. No unit is
//   started or restarted: that stays the admin's decision, as with rpm-ostree.
// - triggers: the added packages' triggers are triggers.ts's.
import { spawnSync } from "node:child_process";
import { lstatSync } from "node:fs";
import { join } from "node:path";
import type { LivePlan } from "./plan.js";

const UNIT_DIRS = /^\/usr\/(lib|etc)\/systemd\/system\/[^/]+$/;

/** Unit files the plan adds, changes or removes. */
export function changedUnits(plan: LivePlan): string[] {
  const all = [...plan.addedAll, ...plan.updated, ...plan.replaced, ...plan.removedAll];
  return [...new Set(all.filter((p) => UNIT_DIRS.test(p)))].sort();
}

/** sd_booted(): systemd runs the system whose root is `root` when its /run/systemd/system is a directory. */
export function systemdRuns(root = "/"): boolean {
  return lstatSync(join(root, "run/systemd/system"), { throwIfNoEntry: false })?.isDirectory() === true;
}

/**
 * Whether to run `systemctl daemon-reload` after `units` changed, and the note otherwise: only on a
 * host (a sandbox's running root has no systemd of its own) where systemd runs.
 */
export function unitReload(
  real: boolean,
  units: string[],
  systemd: boolean,
): { reload: boolean; note: string | null } {
  if (!units.length) return { reload: false, note: null };
  const names = units.map((u) => u.slice(u.lastIndexOf("/") + 1)).join(", ");
  if (!real)
    return {
      reload: false,
      note: `systemd units changed (${names}): a host would run \`systemctl daemon-reload\``,
    };
  if (!systemd)
    return {
      reload: false,
      note: `systemd units changed (${names}) but systemd does not run this system: nothing reloaded`,
    };
  return { reload: true, note: null };
}

/** Reloads systemd's units on a host where it runs; returns notes for the user. */
export function reloadUnits(real: boolean, units: string[]): string[] {
  const d = unitReload(real, units, real && systemdRuns());
  if (!d.reload) return d.note ? [d.note] : [];
  const names = units.map((u) => u.slice(u.lastIndexOf("/") + 1)).join(", ");
  const r = spawnSync("systemctl", ["daemon-reload"], { encoding: "utf8" });
  if (r.status !== 0)
    return [
      `systemctl daemon-reload failed (${(r.stderr || r.error?.message || "").trim().split("\n")[0]}); run it before using ${names}`,
    ];
  return [`systemctl daemon-reload: systemd sees ${names} (not started; start or restart them yourself)`];
}
