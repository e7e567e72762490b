// Boot counting as systemd defines it for BLS entries (Automatic Boot Assessment): an entry named
// `NAME+LEFT-DONE.conf` (or `NAME+LEFT.conf`) is on trial. Before booting it the bootloader renames it
// with one try fewer left and one more done; once the system reaches boot-complete.target,
// systemd-bless-boot renames it `NAME.conf` (good). An entry with no tries left is bad: the bootloader
// sorts it last, so the previous deployment boots on its own. tsostree gives the entry of each new
// deployment `sysroot.boot-counting-tries` tries (repo config; 0 or absent: no counting) and carries
// the counter of every existing entry over when it rewrites the entries.
import type { Repo } from "../repo/repo.js";

export interface BootCounter {
  left: number;
  done: number;
}

export class BootCountingError extends Error {
  override name = "BootCountingError";
}

/** `NAME+LEFT-DONE.conf` → NAME and the counter; null counter for a plain `NAME.conf`. */
export function parseEntryFile(file: string): { stem: string; counter: BootCounter | null } {
  const m = /^(.*)\+(\d+)(?:-(\d+))?\.conf$/.exec(file);
  if (!m) return { stem: file.replace(/\.conf$/, ""), counter: null };
  return { stem: m[1] as string, counter: { left: Number(m[2]), done: Number(m[3] ?? 0) } };
}

export function entryFileWithCounter(stem: string, counter: BootCounter | null): string {
  return counter ? `${stem}+${counter.left}-${counter.done}.conf` : `${stem}.conf`;
}

/** An entry the bootloader will not pick while another is left: its tries are used up. */
export function triesUsedUp(counter: BootCounter | null): boolean {
  return counter !== null && counter.left === 0;
}

/** The number of tries a new deployment's entry gets (`sysroot.boot-counting-tries`), 0 for none. */
export function bootCountingTries(repo: Repo): number {
  const v = repo.config.get("sysroot", "boot-counting-tries");
  if (v === undefined || v === "") return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 99)
    throw new BootCountingError(
      `sysroot.boot-counting-tries=${v} in the repo config is not a number of tries from 0 to 99; fix it with \`tsostree config set sysroot.boot-counting-tries 3\``,
    );
  return n;
}
