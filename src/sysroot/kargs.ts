// Kernel arguments with ostree's semantics (`ostree-kernel-args.c`): an ordered list of KEY[=VALUE]
// entries where a key may repeat. `replace` swaps all values of a key in place of its first
// occurrence, `append` adds one more, `delete` removes one. The string form is what goes into the
// BLS `options` line, so the order and spelling must match ostree's byte for byte.

export class KargsError extends Error {
  override name = "KargsError";
}

interface Entry {
  key: string;
  value: string | null;
}

function split(arg: string): Entry {
  const eq = arg.indexOf("=");
  return eq < 0 ? { key: arg, value: null } : { key: arg.slice(0, eq), value: arg.slice(eq + 1) };
}

export class KernelArgs {
  private order: Entry[] = [];

  /** Parses an `options` line; like ostree it splits on single spaces only. */
  static parse(options: string | null | undefined): KernelArgs {
    const k = new KernelArgs();
    if (options) for (const a of options.split(" ")) k.append(a);
    return k;
  }

  static fromArgv(argv: readonly string[]): KernelArgs {
    const k = new KernelArgs();
    for (const a of argv) k.append(a);
    return k;
  }

  private entries(key: string): Entry[] {
    return this.order.filter((e) => e.key === key);
  }

  contains(arg: string): boolean {
    const { key } = split(arg);
    return this.order.some((e) => e.key === key);
  }

  append(arg: string): void {
    this.order.push(split(arg));
  }

  appendIfMissing(arg: string): void {
    if (!this.contains(arg)) this.append(arg);
  }

  /** Sets KEY to exactly this value, at the position of its first occurrence (or at the end). */
  replace(arg: string): void {
    const e = split(arg);
    const first = this.order.findIndex((x) => x.key === e.key);
    if (first < 0) {
      this.order.push(e);
      return;
    }
    this.order = this.order.filter((x) => x.key !== e.key);
    this.order.splice(first, 0, e);
  }

  /** Removes `KEY` (when it has one value) or `KEY=VALUE`; errors like ostree when ambiguous or absent. */
  delete(arg: string): void {
    const { key, value } = split(arg);
    const entries = this.entries(key);
    if (entries.length === 0) throw new KargsError(`No key '${key}' found`);
    if (entries.length === 1) {
      if (value !== null && value !== entries[0]!.value)
        throw new KargsError(`No karg '${key}=${value}' found`);
      this.order = this.order.filter((x) => x.key !== key);
      return;
    }
    const victim = entries.find((e) => e.value === value);
    if (!victim) {
      if (value === null) throw new KargsError(`Multiple values for key '${arg}' found`);
      throw new KargsError(`No karg '${arg}' found`);
    }
    this.order.splice(this.order.indexOf(victim), 1);
  }

  deleteIfPresent(arg: string): void {
    if (this.contains(arg)) this.delete(arg);
  }

  lastValue(key: string): string | null | undefined {
    const e = this.entries(key);
    return e.length ? e[e.length - 1]!.value : undefined;
  }

  toArray(): string[] {
    return this.order.map((e) => (e.value === null ? e.key : `${e.key}=${e.value}`));
  }

  toString(): string {
    return this.toArray().join(" ");
  }
}

/** `/proc/cmdline` minus what bootloaders inject (ostree filters the same prefixes). */
export function kargsFromProcCmdline(cmdline: string): KernelArgs {
  const k = new KernelArgs();
  for (const a of cmdline.replace(/\s+$/, "").split(" "))
    if (!a.startsWith("BOOT_IMAGE=") && !a.startsWith("initrd=")) k.append(a);
  return k;
}
