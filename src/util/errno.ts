// One line for a failed system call, as a user reads it: Node's own message ("ENOENT: no such file
// or directory, open 'x'") names the call and the code but not what to do about it.
import { getSystemErrorName } from "node:util";

/** An error shaped as Node's fs errors are, for a failure reported by the native helper. */
export function errnoError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: ${syscall} '${path}'`);
  e.code = code;
  e.syscall = syscall;
  e.path = path;
  return e;
}

/** The name of a positive errno value ("ENOENT"). */
export function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

/** A system call's failure as Node reports it (fs, child_process). */
export interface SystemError extends Error {
  code: string;
  syscall?: string;
  path?: string;
  dest?: string;
}

export function isSystemError(e: unknown): e is SystemError {
  return (
    e instanceof Error &&
    typeof (e as SystemError).code === "string" &&
    /^E[A-Z]+$/.test((e as SystemError).code) &&
    typeof (e as SystemError).syscall === "string"
  );
}

/** What each common errno means and, where there is one, what to do about it. */
const MEANING: Record<string, string> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "a component of the path is not a directory",
  EISDIR: "is a directory, a file was expected",
  EEXIST: "already exists; remove it or choose another path",
  EACCES: "permission denied; run as root (sudo) or use a path you own",
  EPERM: "operation not permitted; run as root (sudo) or use a path you own",
  EROFS: "read-only file system; choose a writable path",
  ENOSPC: "no space left on device; free some space and run again",
  EDQUOT: "disk quota exceeded; free some space and run again",
  ENOTEMPTY: "directory not empty",
  EBUSY: "busy (mounted or in use); unmount it or stop what uses it",
  EMFILE: "too many open files; raise the limit (ulimit -n) and run again",
  EXDEV: "on another file system; keep the paths on one file system",
};

/** What the errno means (and what to do), without the path. */
export function systemErrorMeaning(e: SystemError): string {
  return MEANING[e.code] ?? e.message.replace(/^E[A-Z]+: /, "").replace(/, \w+ '.*'$/, "");
}

/** `PATH: meaning` (or `cannot SYSCALL: meaning` without a path), for the error reporters. */
export function describeSystemError(e: SystemError): string {
  const meaning = systemErrorMeaning(e);
  const what = e.path ? (e.dest ? `${e.path} → ${e.dest}` : e.path) : `cannot ${e.syscall}`;
  return `${what}: ${meaning}`;
}

/** The one-line message for any error: system errors described, others as they are. */
export function errorLine(e: unknown): string {
  const msg = isSystemError(e) ? describeSystemError(e) : e instanceof Error ? e.message : String(e);
  return msg.replace(/\s*\n\s*/g, " ");
}
