// What the running system is told after files went live, besides the linker cache (ldconfig.ts):
// - systemd: unit files that came, changed or went (/usr/lib/systemd/system, /usr/etc/systemd/system)
//   need `systemctl daemon-reload` before systemd sees them — run when systemd runs the live system
//   (a host with /run/systemd/system, as sd_booted() tests), reported otherwise. No unit is
//   started or restarted: that stays the admin's decision, as with rpm-ostree.
// - triggers: the added packages' declared triggers ran when the deployment was composed (their
//   results under /usr are part of the commit that went live). They are not run again against the
//   live root — a trigger's other effects (/var, /etc, running services) are not confined to what
//   the diff shows — so they are listed as not run; ldconfig's is the exception, done above.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { type LayeredPackageStatus, layeredPackagesOf } from "../compose/layered-commit.js";
import { readPackageMeta } from "../compose/package-meta.js";
import { packageRef } from "../packages/import.js";
import { resolveRev } from "../repo/refs.js";
import type { Repo } from "../repo/repo.js";
import type { LivePlan } from "./plan.js";

const UNIT_DIRS = /^\/usr\/(lib|etc)\/systemd\/system\/[^/]+$/;

/** Unit files the plan adds, changes or removes. */
export function changedUnits(plan: LivePlan): string[] {
  const all = [...plan.addedAll, ...plan.updated, ...plan.replaced, ...plan.removedAll];
  return [...new Set(all.filter((p) => UNIT_DIRS.test(p)))].sort();
}

/** Reloads systemd's units on a host where it runs; returns notes for the user. */
export function reloadUnits(real: boolean, units: string[]): string[] {
  if (!units.length) return [];
  const names = units.map((u) => u.slice(u.lastIndexOf("/") + 1)).join(", ");
  if (!real) return [`systemd units changed (${names}): a host would run \`systemctl daemon-reload\``];
  if (!existsSync("/run/systemd/system"))
    return [`systemd units changed (${names}) but systemd does not run this system: nothing reloaded`];
  const r = spawnSync("systemctl", ["daemon-reload"], { encoding: "utf8" });
  if (r.status !== 0)
    return [
      `systemctl daemon-reload failed (${(r.stderr || r.error?.message || "").trim().split("\n")[0]}); run it before using ${names}`,
    ];
  return [`systemctl daemon-reload: systemd sees ${names} (not started; start or restart them yourself)`];
}

/** ldconfig's triggers are served by the linker cache refresh. */
const isLdconfig = (condition: string, body: string) =>
  /(^|\/)ldconfig\b/.test(condition) || /^\s*(\/sbin\/|\/usr\/sbin\/)?ldconfig\s*$/.test(body);

/**
 * "PKG: KIND CONDITION" for each declared trigger of the packages `to` layers and `from` does not,
 * from the commits' metadata and the package commits (their refs), without reading a package db.
 */
export function triggersNotRun(repo: Repo, from: string, to: string): string[] {
  const key = (p: LayeredPackageStatus) => `${p.name}\0${p.version}\0${p.arch}`;
  const had = new Set(layeredPackagesOf(repo, from).map(key));
  const out: string[] = [];
  for (const p of layeredPackagesOf(repo, to)) {
    if (had.has(key(p))) continue;
    const commit = ["deb", "rpm"]
      .map((kind) => resolveRev(repo, packageRef(kind, p.name, p.version, p.arch), true))
      .find((c): c is string => !!c);
    if (!commit) continue;
    for (const t of readPackageMeta(repo, commit).triggers)
      if (!isLdconfig(t.condition, t.body)) out.push(`${p.name}: ${t.kind} ${t.condition}`.trim());
  }
  return out;
}
