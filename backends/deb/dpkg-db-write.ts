// Writing dpkg's database for installed packages without dpkg: status stanzas as dpkg's writedb()
// writes them (fields in dpkg's own order, versions and relationships in its canonical spelling),
// and the info/ files unpack copies out of the control area. Pure over bytes: the caller reads and
// writes the admindir (usr/share/dpkg/database in a layered tree).
import { parseDeb822, type Stanza } from "./deb822.js";
import { formatDebDep, parseDebRelations } from "./relations.js";
import { formatDebVersion, parseDebVersion } from "./version.js";

export class DpkgDbWriteError extends Error {
  override name = "DpkgDbWriteError";
}

export interface DpkgConffile {
  path: string;
  /** md5 of the file as installed. */
  md5: string;
  /** dpkg's conffile flags after the digest ("obsolete", "remove-on-upgrade"), if any. */
  flags?: string;
}

export interface DpkgInstalled {
  /** The package's `control` member. */
  control: Buffer;
  conffiles: DpkgConffile[];
}

const RELATIONS = [
  "Replaces",
  "Provides",
  "Depends",
  "Pre-Depends",
  "Recommends",
  "Suggests",
  "Breaks",
  "Conflicts",
  "Enhances",
];
const PLAIN = ["Priority", "Section", "Installed-Size", "Origin", "Maintainer", "Bugs", "Architecture"];

/**
 * Fields dpkg knows (lib/dpkg/parse.c fieldinfos): written in this order, never among the others.
 * Archive and state fields of the control file are not carried into the status database.
 */
const KNOWN = new Set(
  [
    "Package",
    "Essential",
    "Protected",
    "Status",
    ...PLAIN,
    "Multi-Arch",
    "Source",
    "Version",
    "Config-Version",
    ...RELATIONS,
    "Conffiles",
    "Filename",
    "Size",
    "MD5sum",
    "MSDOS-Filename",
    "Description",
    "Triggers-Pending",
    "Triggers-Awaited",
    "Recommended",
    "Optional",
    "Class",
    "Revision",
    "Package-Revision",
    "Package_Revision",
  ].map((f) => f.toLowerCase()),
);

function lookup(s: Stanza): (name: string) => string | undefined {
  const byLower = new Map(Object.entries(s).map(([k, v]) => [k.toLowerCase(), v]));
  return (name) => byLower.get(name.toLowerCase());
}

/** A version as dpkg writes it back (vdew_nonambig): a zero epoch dropped. */
function canonicalVersion(v: string): string {
  const p = parseDebVersion(v);
  return formatDebVersion({ epoch: p.epoch, version: p.upstream, release: p.revision });
}

/** A relationship field as dpkg writes it back: one line, ", " and " | ", "(op version)". */
function canonicalRelations(field: string, text: string): string {
  try {
    return parseDebRelations(text)
      .map((d) => {
        const atoms = d.kind === "or" ? d.terms : [d];
        for (const a of atoms)
          if (a.kind === "atom" && a.atom.version !== undefined)
            a.atom.version = canonicalVersion(a.atom.version);
        return formatDebDep(d);
      })
      .join(", ");
  } catch (e) {
    throw new DpkgDbWriteError(`${field}: ${(e as Error).message}; the package's control file is malformed`);
  }
}

/** The status stanza dpkg writes for an installed package (no trailing blank line). */
export function dpkgStatusStanza(pkg: DpkgInstalled): string {
  let stanzas: Stanza[];
  try {
    stanzas = parseDeb822(pkg.control.toString("utf8"));
  } catch (e) {
    throw new DpkgDbWriteError(`control: ${(e as Error).message}`);
  }
  if (stanzas.length !== 1) throw new DpkgDbWriteError("control: must hold exactly one stanza");
  const s = stanzas[0]!;
  const get = lookup(s);
  const name = get("Package");
  if (!name) throw new DpkgDbWriteError("control: no Package field");
  const lines: string[] = [`Package: ${name}`];
  const put = (f: string, v: string | undefined) => {
    if (v !== undefined && v !== "") lines.push(`${f}: ${v}`);
  };
  // Booleans default to no, which dpkg never writes.
  for (const f of ["Essential", "Protected"]) if (get(f) === "yes") put(f, "yes");
  put("Status", "install ok installed");
  for (const f of PLAIN) put(f, get(f));
  const ma = get("Multi-Arch");
  if (ma !== "no") put("Multi-Arch", ma);
  put("Source", get("Source"));
  const version = get("Version");
  put("Version", version === undefined ? undefined : canonicalVersion(version));
  for (const f of RELATIONS) {
    const v = get(f);
    if (v !== undefined) put(f, canonicalRelations(f, v));
  }
  if (pkg.conffiles.length > 0)
    lines.push(
      `Conffiles:\n${pkg.conffiles.map((c) => ` ${c.path} ${c.md5}${c.flags ? ` ${c.flags}` : ""}`).join("\n")}`,
    );
  put("Description", get("Description"));
  for (const [k, v] of Object.entries(s)) if (!KNOWN.has(k.toLowerCase())) put(k, v);
  return lines.join("\n");
}

interface StatusEntry {
  text: string;
  name: string;
  arch: string;
  multiArch: string;
}

/**
 * A stanza's text with the three fields the writer needs, read straight from its lines (dpkg writes
 * each as one `Name: value` line): a status file holds every package of the tree, and a full deb822
 * parse of each cost more than the rest of the update.
 */
function entry(text: string): StatusEntry {
  const name = field(text, "Package");
  if (!name) throw new DpkgDbWriteError(`status: a stanza without Package (${text.slice(0, 40)}…)`);
  return { text, name, arch: field(text, "Architecture"), multiArch: field(text, "Multi-Arch") };
}

const FIELD = {
  Package: /^Package:[ \t]*(.*)$/im,
  Architecture: /^Architecture:[ \t]*(.*)$/im,
  "Multi-Arch": /^Multi-Arch:[ \t]*(.*)$/im,
};

/** The value of a single-line field (field names are case-insensitive), or "". */
function field(text: string, name: keyof typeof FIELD): string {
  return FIELD[name].exec(text)?.[1]?.trim() ?? "";
}

function parseStatus(status: Buffer): StatusEntry[] {
  return status
    .toString("utf8")
    .split(/\n(?:[ \t]*\n)+/)
    .map((t) => t.replace(/^\n+|\n+$/g, ""))
    .filter((t) => t.trim() !== "" && !/^(#[^\n]*\n?)+$/.test(t))
    .map(entry);
}

function writeStatus(entries: StatusEntry[]): Buffer {
  // writedb(): sorted by name, then architecture (strcmp order); every stanza ends with a blank line.
  // Package and architecture names are ASCII, where UTF-16 order is byte order.
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const sorted = [...entries].sort((a, b) => cmp(a.name, b.name) || cmp(a.arch, b.arch));
  return Buffer.from(sorted.map((e) => `${e.text}\n\n`).join(""), "utf8");
}

/** Whether an installed instance gives way to `pkg`: one per name, unless both are Multi-Arch: same. */
function replaces(installed: StatusEntry, pkg: StatusEntry): boolean {
  if (installed.name !== pkg.name) return false;
  const coinstallable = installed.multiArch === "same" && pkg.multiArch === "same";
  return !coinstallable || installed.arch === pkg.arch;
}

/** The status file with `pkgs` installed ("install ok installed"), replacing earlier instances. */
export function dpkgStatusInstall(status: Buffer, pkgs: DpkgInstalled[]): Buffer {
  let entries = parseStatus(status);
  for (const p of pkgs) {
    const e = entry(dpkgStatusStanza(p));
    entries = [...entries.filter((x) => !replaces(x, e)), e];
  }
  return writeStatus(entries);
}

/** The status file without the named packages (every architecture unless one is given). */
export function dpkgStatusRemove(status: Buffer, names: { name: string; arch?: string }[]): Buffer {
  if (names.length === 0) return status;
  const gone = (e: StatusEntry) =>
    names.some((n) => n.name === e.name && (n.arch === undefined || n.arch === e.arch));
  return writeStatus(parseStatus(status).filter((e) => !gone(e)));
}

/** The name a package's info files start with: `strace`, or `libfoo:amd64` for Multi-Arch: same. */
export function dpkgInfoBase(name: string, arch: string, multiArch?: string): string {
  return multiArch === "same" ? `${name}:${arch}` : name;
}

/** Which of the files in info/ belong to the package (`BASE.TYPE`, as dpkg's pkg_infodb_foreach matches). */
export function dpkgInfoNames(
  name: string,
  arch: string,
  multiArch: string | undefined,
  infoDir: string[],
): string[] {
  const base = dpkgInfoBase(name, arch, multiArch);
  return infoDir.filter((f) => f.lastIndexOf(".") === base.length && f.startsWith(`${base}.`));
}

export interface DpkgInfoFile {
  data: Buffer;
  mode: number;
}

export interface DpkgInfoInput {
  name: string;
  arch: string;
  multiArch?: string;
  /** Every control.tar member (`tsostree.pkg.deb-control`). */
  controlMembers: [string, Buffer][];
  /**
   * Every installed path, directories included, in archive order, as dpkg writes PKG.list: "/." first
   * when data.tar has its "./" entry (every package dpkg-deb builds).
   */
  paths: string[];
  /**
   * md5 of each regular file ("/usr/bin/x", archive order): used only when the package ships no
   * md5sums, which dpkg then writes itself from what it unpacked.
   */
  md5s?: [string, string][];
}

/** Maintainer scripts are run as programs; dpkg-deb refuses to build a package where they are not executable. */
const SCRIPTS = new Set(["preinst", "postinst", "prerm", "postrm", "config"]);

/**
 * The files dpkg keeps under info/ for an installed package: BASE.list, then every control member
 * except `control` itself (md5sums, conffiles, maintainer scripts, triggers, shlibs, symbols,
 * templates…; names with a dot are skipped, as dpkg skips them).
 */
export function dpkgInfoFiles(pkg: DpkgInfoInput): Map<string, DpkgInfoFile> {
  const base = dpkgInfoBase(pkg.name, pkg.arch, pkg.multiArch);
  const out = new Map<string, DpkgInfoFile>();
  const file = (type: string, data: Buffer) =>
    out.set(`${base}.${type}`, { data, mode: SCRIPTS.has(type) ? 0o755 : 0o644 });
  file("list", Buffer.from(pkg.paths.map((p) => `${p}\n`).join(""), "utf8"));
  for (const [name, data] of pkg.controlMembers) {
    if (name.includes(".") || name.includes("/") || name === "control" || name === "list") continue;
    file(name, data);
  }
  if (!out.has(`${base}.md5sums`) && pkg.md5s?.length)
    file(
      "md5sums",
      Buffer.from(pkg.md5s.map(([p, md5]) => `${md5}  ${p.replace(/^\//, "")}\n`).join(""), "utf8"),
    );
  return out;
}
