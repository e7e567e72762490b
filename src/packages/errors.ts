// Errors raised while reading package files. One class, so callers (import, the CLI) can tell "this
// package is broken or hostile" from a bug, and a message that always names the file and the member.

export class PackageFormatError extends Error {
  override readonly name = "PackageFormatError";

  /**
   * @param file   the package file path as the user gave it
   * @param member the archive member or header part ("data.tar.xz", "./usr/bin/x", "header tag 1117");
   *               empty when the problem is with the file as a whole
   * @param detail what is wrong, ideally with what to do about it
   */
  constructor(
    readonly file: string,
    readonly member: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}${member ? `: ${member}` : ""}: ${detail}`, options);
  }
}

/** Wraps anything thrown while reading `member` of `file` into a PackageFormatError (kept as is if it already is one). */
export function asPackageError(file: string, member: string, e: unknown): PackageFormatError {
  if (e instanceof PackageFormatError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new PackageFormatError(file, member, msg || "unreadable", { cause: e });
}
