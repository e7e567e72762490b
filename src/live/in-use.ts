// Whether a live removal would pull a file from under a running program. "In use" means: a path
// the removal deletes (a file, or anything below a removed directory) that a process whose root is
// the running root has open (/proc/PID/fd), mapped (/proc/PID/maps: its executable, shared
// libraries, other mmapped files), runs (/proc/PID/exe) or has as working directory
// (/proc/PID/cwd). Processes under another root (a container, the build sandbox, the host outside
// a sandbox sysroot) are not the running system's. Not seen: a program that will exec or dlopen
// the path later, or a unit that names it — the check says what is in use now, nothing more.
// The kernel renders these links relative to the reader's root, so a path is compared as
// join(root, path): "/usr/bin/x" on a host, "SYSROOT/run/root/usr/bin/x" for a sandbox.
import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";

export interface InUse {
  /** The commit's path ("/usr/bin/strace"). */
  path: string;
  pid: number;
  comm: string;
  how: "mapped" | "open" | "exe" | "cwd";
}

function tryRead<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    // The process exited, or its links are not ours to read.
    return null;
  }
}

/** The processes whose root directory is `root` (the same inode). */
function processesUnder(root: string): number[] {
  const r = statSync(root);
  return readdirSync("/proc")
    .filter((n) => /^[0-9]+$/.test(n))
    .map(Number)
    .filter((pid) => {
      const st = tryRead(() => statSync(`/proc/${pid}/root`));
      return !!st && st.dev === r.dev && st.ino === r.ino;
    });
}

/** What of `paths` (the commit's paths, every one that goes) is in use in the running root `root`. */
export function filesInUse(root: string, paths: string[]): InUse[] {
  // The kernel shows resolved paths: compare with the root's real path.
  const real = realpathSync(root);
  const byName = new Map(paths.map((p) => [join(real, p), p]));
  const out: InUse[] = [];
  const seen = new Set<string>();
  const hit = (pid: number, comm: string, how: InUse["how"], name: string | null) => {
    const p = name === null ? undefined : byName.get(name.replace(/ \(deleted\)$/, ""));
    if (p === undefined || seen.has(`${pid}\0${p}`)) return;
    seen.add(`${pid}\0${p}`);
    out.push({ path: p, pid, comm, how });
  };
  for (const pid of processesUnder(root)) {
    if (pid === process.pid) continue;
    const comm = tryRead(() => readFileSync(`/proc/${pid}/comm`, "utf8").trim()) ?? "?";
    hit(
      pid,
      comm,
      "exe",
      tryRead(() => readlinkSync(`/proc/${pid}/exe`)),
    );
    hit(
      pid,
      comm,
      "cwd",
      tryRead(() => readlinkSync(`/proc/${pid}/cwd`)),
    );
    const maps = tryRead(() => readFileSync(`/proc/${pid}/maps`, "utf8")) ?? "";
    for (const line of maps.split("\n")) {
      const i = line.indexOf("/");
      if (i >= 0) hit(pid, comm, "mapped", line.slice(i));
    }
    for (const fd of tryRead(() => readdirSync(`/proc/${pid}/fd`)) ?? [])
      hit(
        pid,
        comm,
        "open",
        tryRead(() => readlinkSync(`/proc/${pid}/fd/${fd}`)),
      );
  }
  return out;
}

/** For a refusal: "/usr/bin/strace (exe of pid 42 strace)". */
export function describeInUse(u: InUse): string {
  return `${u.path} (${u.how === "open" ? "open in" : u.how === "mapped" ? "mapped by" : `${u.how} of`} pid ${u.pid} ${u.comm})`;
}
