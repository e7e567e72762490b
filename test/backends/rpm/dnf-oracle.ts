// `dnf --assumeno install` as an oracle: what dnf would install and remove, read from its
// transaction table.
import { byNameArch, run } from "../../helpers.js";

export interface DnfEntry {
  name: string;
  /** [EPOCH:]VERSION-RELEASE as dnf prints it. */
  version: string;
  arch: string;
}

/**
 * The transaction dnf prints before it asks (or, with --assumeno, aborts): entries under the
 * Installing/Upgrading sections are installed, those under Removing and the `replacing` lines removed.
 */
export function parseDnfTransaction(stdout: string): { install: DnfEntry[]; remove: DnfEntry[] } {
  const install: DnfEntry[] = [];
  const remove: DnfEntry[] = [];
  let removing = false;
  for (const line of stdout.split("\n")) {
    if (/^[A-Z]/.test(line)) removing = /^Removing/.test(line);
    const m = /^ (\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s/.exec(line);
    if (m && m[1] !== "Package")
      (removing ? remove : install).push({ name: m[1], arch: m[2], version: m[3] });
    const rep = /^\s+replacing\s+(\S+)\.(\S+)\s+(\S+)/.exec(line);
    if (rep) remove.push({ name: rep[1], arch: rep[2], version: rep[3] });
  }
  return { install: install.sort(byNameArch), remove: remove.sort(byNameArch) };
}

/**
 * `dnf -c CONF --installroot=ROOT --releasever=1 --assumeno install PKGS` (exit 1, "Operation
 * aborted", when there is something to do). dnf writes its logs and caches into ROOT: give it a
 * scratch root that holds only the rpmdb. `env` carries e.g. a HOME whose .rpmmacros set %_dbpath.
 */
export function dnfAssumeNo(
  conf: string,
  root: string,
  pkgs: string[],
  extra: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): { status: number; install: DnfEntry[]; remove: DnfEntry[]; output: string } {
  const r = run(
    "dnf",
    ["-c", conf, `--installroot=${root}`, "--releasever=1", ...extra, "--assumeno", "install", ...pkgs],
    { env },
  );
  return { status: r.status, ...parseDnfTransaction(r.stdout), output: r.stdout + r.stderr };
}
