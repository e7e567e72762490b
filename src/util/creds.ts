// The process's own credentials as file creation sees them: effective ids and umask.
import { readFileSync } from "node:fs";

let umask: number | undefined;
/** The process umask, read once (from /proc: process.umask() without an argument is deprecated). */
export function processUmask(): number {
  if (umask === undefined) {
    const m = /^Umask:\s*([0-7]+)/m.exec(readProcStatus());
    umask = m ? Number.parseInt(m[1]!, 8) : 0o777;
  }
  return umask;
}

function readProcStatus(): string {
  try {
    return readFileSync("/proc/self/status", "utf8");
  } catch {
    return "";
  }
}

let ids: [number | undefined, number | undefined] | undefined;
/** True when uid:gid are this process's effective ids, which a file it creates gets. */
export function isCreatorOwner(uid: number, gid: number): boolean {
  ids ??= [process.geteuid?.(), process.getegid?.()];
  return uid === ids[0] && gid === ids[1];
}
