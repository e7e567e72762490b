// Boot Loader Specification entries as ostree reads and writes them (`ostree-bootconfig-parser.c`):
// `key value` lines; a second `initrd` line is an overlay initramfs; keys are written in the
// order title, version, options, devicetree, linux, initrd, then everything else.
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const FIELD_ORDER = ["title", "version", "options", "devicetree", "linux", "initrd"];

export class BootConfig {
  /** Keys in first-seen order (ostree keeps unknown keys in a hash table; we keep them stable). */
  readonly values = new Map<string, string>();
  overlayInitrds: string[] = [];

  static parse(text: string): BootConfig {
    const bc = new BootConfig();
    for (const line of text.split("\n")) {
      if (!/^[A-Za-z]/.test(line)) continue;
      const m = /^([^ \t]+)[ \t](.*)$/s.exec(line);
      if (!m) continue;
      const [, key, value] = m as unknown as [string, string, string];
      if (key === "initrd" && bc.values.has("initrd")) bc.overlayInitrds.push(value);
      else bc.values.set(key, value);
    }
    return bc;
  }

  get(key: string): string | undefined {
    return this.values.get(key);
  }

  set(key: string, value: string): void {
    this.values.set(key, value);
  }

  clone(): BootConfig {
    const bc = new BootConfig();
    for (const [k, v] of this.values) bc.values.set(k, v);
    bc.overlayInitrds = [...this.overlayInitrds];
    return bc;
  }

  serialize(): string {
    let out = "";
    for (const k of FIELD_ORDER) {
      const v = this.values.get(k);
      if (v !== undefined) out += `${k} ${v}\n`;
    }
    for (const o of this.overlayInitrds) out += `initrd ${o}\n`;
    for (const [k, v] of this.values) if (!FIELD_ORDER.includes(k)) out += `${k} ${v}\n`;
    return out;
  }

  /** The value of the `ostree=` argument in `options`, or null. */
  ostreeArg(): string | null {
    for (const a of (this.values.get("options") ?? "").split(" "))
      if (a.startsWith("ostree=")) return a.slice("ostree=".length);
    return null;
  }
}

/** glibc strverscmp: digit runs compare numerically; a run with leading zeros sorts as a fraction. */
export function strverscmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
  while (i < a.length && j < b.length) {
    if (isDigit(a[i]) && isDigit(b[j])) {
      let ie = i;
      while (isDigit(a[ie])) ie++;
      let je = j;
      while (isDigit(b[je])) je++;
      const ra = a.slice(i, ie);
      const rb = b.slice(j, je);
      let c: number;
      if (ra[0] === "0" || rb[0] === "0") c = ra < rb ? -1 : ra > rb ? 1 : 0;
      else c = ra.length !== rb.length ? ra.length - rb.length : ra < rb ? -1 : ra > rb ? 1 : 0;
      if (c !== 0) return c < 0 ? -1 : 1;
      i = ie;
      j = je;
    } else {
      if (a[i] !== b[j]) return a.charCodeAt(i) - b.charCodeAt(j) < 0 ? -1 : 1;
      i++;
      j++;
    }
  }
  return a.length - i === b.length - j ? 0 : a.length - i < b.length - j ? -1 : 1;
}

/** ostree's order: highest `version` first; entries without a version last. */
export function compareBootConfigs(a: BootConfig, b: BootConfig): number {
  const av = a.get("version");
  const bv = b.get("version");
  if (av !== undefined && bv !== undefined) return -strverscmp(av, bv);
  return av !== undefined ? -1 : 1;
}

/** The BLS file name ostree 2022.7 writes: `ostree-<version>-<stateroot>.conf`. */
export function entryFileName(version: number, osname: string): string {
  return `ostree-${version}-${osname}.conf`;
}

/** Reads every regular `ostree-*.conf` in a loader entries directory, sorted as ostree sorts them. */
export function readEntries(entriesDir: string): { name: string; config: BootConfig }[] {
  let names: string[];
  try {
    names = readdirSync(entriesDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const out: { name: string; config: BootConfig }[] = [];
  for (const name of names) {
    if (!name.startsWith("ostree-") || !name.endsWith(".conf")) continue;
    const p = join(entriesDir, name);
    if (!lstatSync(p).isFile()) continue;
    out.push({ name, config: BootConfig.parse(readFileSync(p, "utf8")) });
  }
  return out.sort((x, y) => compareBootConfigs(x.config, y.config));
}

const BOOTLINK_RE = /^\/ostree\/boot\.([01])\/([^/]+)\/([^/]+)\/([0-9]+)$/;

export interface Bootlink {
  bootversion: number;
  osname: string;
  bootcsum: string;
  bootserial: number;
}

export class BootlinkError extends Error {
  override name = "BootlinkError";
}

export function parseBootlink(link: string): Bootlink {
  const m = BOOTLINK_RE.exec(link);
  if (!m)
    throw new BootlinkError(
      `Invalid ostree= argument '${link}', expected ostree=/ostree/boot.BOOTVERSION/OSNAME/BOOTCSUM/TREESERIAL`,
    );
  return { bootversion: Number(m[1]), osname: m[2]!, bootcsum: m[3]!, bootserial: Number(m[4]) };
}

export function formatBootlink(b: Bootlink): string {
  return `/ostree/boot.${b.bootversion}/${b.osname}/${b.bootcsum}/${b.bootserial}`;
}
