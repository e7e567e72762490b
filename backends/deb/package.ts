// Opening a .deb: the ar layout (debian-binary, control.tar*, data.tar*) and the control archive
// (control, conffiles, md5sums, maintainer scripts, triggers) turned into package metadata.
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { PackageFormatError } from "../../src/packages/errors.js";
import type { PackageMeta, RelationKind, Relations, Script, Trigger } from "../../src/packages/model.js";
import {
  type ByteCap,
  byteCap,
  chain,
  compressionOfMember,
  decompressor,
  type PayloadCompression,
  READ_CHUNK,
} from "../../src/packages/payload-decompress.js";
import { treePath } from "../../src/packages/payload-guard.js";
import { type ArMember, readArMembers } from "./ar.js";
import { field, parseDeb822, type Stanza } from "./deb822.js";
import { parseDebRelations } from "./relations.js";
import { readBody, tarItems } from "./tar.js";
import { parseDebVersion } from "./version.js";

export interface DebLayout {
  path: string;
  size: number;
  control: ArMember;
  controlCompression: PayloadCompression;
  data: ArMember;
  dataCompression: PayloadCompression;
}

/** Reads the ar members and checks they form a .deb in the order dpkg requires. */
export async function openDeb(path: string): Promise<DebLayout> {
  const fh = await open(path, "r").catch((e: NodeJS.ErrnoException) => {
    throw new PackageFormatError(path, "", `cannot open: ${e.code ?? e.message}`);
  });
  try {
    const { size } = await fh.stat();
    let members: ArMember[];
    try {
      members = await readArMembers(fh, size);
    } catch (e) {
      throw new PackageFormatError(path, "", (e as Error).message);
    }
    // dpkg ignores members starting with '_' (reserved for local additions).
    const real = members.filter((m) => !m.name.startsWith("_"));
    const [bin, control, data] = real;
    if (bin?.name !== "debian-binary")
      throw new PackageFormatError(path, bin?.name ?? "", "first member must be debian-binary; not a .deb");
    const head = Buffer.alloc(Math.min(bin.size, 16));
    await fh.read(head, 0, head.length, bin.offset);
    if (!/^2\.\d+\n/.test(head.toString("latin1")))
      throw new PackageFormatError(
        path,
        "debian-binary",
        `unsupported format version ${JSON.stringify(head.toString("latin1"))}`,
      );
    const cc = control?.name.startsWith("control.tar") ? compressionOfMember(control.name) : undefined;
    if (!control || !cc)
      throw new PackageFormatError(
        path,
        control?.name ?? "",
        "second member must be control.tar[.gz|.xz|.zst]",
      );
    const dc = data?.name.startsWith("data.tar") ? compressionOfMember(data.name) : undefined;
    if (!data || !dc)
      throw new PackageFormatError(
        path,
        data?.name ?? "",
        "third member must be data.tar[.gz|.xz|.zst|.bz2|.lzma]",
      );
    return { path, size, control, controlCompression: cc, data, dataCompression: dc };
  } finally {
    await fh.close();
  }
}

/**
 * A Readable of the decompressed content of an ar member, capped at `cap` bytes (the returned
 * stream is the cap, whose limit may be lowered later). Decompression starts at once.
 */
export function memberStream(layout: DebLayout, m: ArMember, kind: PayloadCompression, cap: number): ByteCap {
  // An empty member would make createReadStream read to EOF (end < start means "no end").
  const raw = createReadStream(layout.path, {
    start: m.offset,
    end: Math.max(m.offset, m.offset + m.size - 1),
    highWaterMark: READ_CHUNK,
  });
  const src = m.size === 0 ? chain(raw, byteCap(0, m.name)) : raw;
  return chain<ByteCap>(src, decompressor(kind, m.size), byteCap(cap, m.name));
}

export interface DebControl {
  stanza: Stanza;
  /** Other control members by name ("conffiles", "md5sums", "postinst", ...). */
  members: Map<string, Buffer>;
}

const CONTROL_CAP = 64 * 1024 * 1024;
const CONTROL_MEMBER_CAP = 16 * 1024 * 1024;

export async function readDebControl(layout: DebLayout): Promise<DebControl> {
  const members = new Map<string, Buffer>();
  const what = layout.control.name;
  let current = "";
  try {
    const s = memberStream(layout, layout.control, layout.controlCompression, CONTROL_CAP);
    for await (const item of tarItems(s)) {
      current = item.header.name;
      const name = treePath(item.header.name).slice(1);
      const type = item.header.type ?? "file";
      if (type === "file" && name !== "")
        members.set(name, await readBody(item.body, CONTROL_MEMBER_CAP, name));
      else await readBody(item.body, CONTROL_MEMBER_CAP, name);
    }
  } catch (e) {
    throw new PackageFormatError(layout.path, current ? `${what}: ${current}` : what, (e as Error).message, {
      cause: e,
    });
  }
  const text = members.get("control");
  if (!text) throw new PackageFormatError(layout.path, what, "has no control file");
  let stanzas: Stanza[];
  try {
    stanzas = parseDeb822(text.toString("utf8"));
  } catch (e) {
    throw new PackageFormatError(layout.path, `${what}: control`, (e as Error).message);
  }
  if (stanzas.length !== 1)
    throw new PackageFormatError(layout.path, `${what}: control`, "must hold exactly one stanza");
  return { stanza: stanzas[0], members };
}

const RELATION_FIELDS: [string, RelationKind][] = [
  ["Depends", "depends"],
  ["Pre-Depends", "pre-depends"],
  ["Recommends", "recommends"],
  ["Suggests", "suggests"],
  ["Enhances", "enhances"],
  ["Conflicts", "conflicts"],
  ["Breaks", "breaks"],
  ["Replaces", "replaces"],
  ["Provides", "provides"],
];

/** Package metadata from the control stanza. */
export function debMeta(path: string, c: DebControl): PackageMeta {
  const s = c.stanza;
  const need = (f: string): string => {
    const v = field(s, f);
    if (!v) throw new PackageFormatError(path, "control", `missing required field ${f}`);
    return v;
  };
  const name = need("Package");
  const v = parseDebVersion(need("Version"));
  const relations: Relations = {};
  for (const [f, kind] of RELATION_FIELDS) {
    const text = field(s, f);
    if (text === undefined) continue;
    try {
      relations[kind] = parseDebRelations(text);
    } catch (e) {
      throw new PackageFormatError(path, "control", `${f}: ${(e as Error).message}`);
    }
  }
  const desc = field(s, "Description") ?? "";
  const nl = desc.indexOf("\n");
  const installed = field(s, "Installed-Size");
  const meta: PackageMeta = {
    kind: "deb",
    name,
    epoch: v.epoch,
    version: v.upstream,
    release: v.revision,
    arch: need("Architecture"),
    summary: nl < 0 ? desc : desc.slice(0, nl),
    description: nl < 0 ? "" : desc.slice(nl + 1),
    relations,
    extra: { ...s },
  };
  const opt: [keyof PackageMeta, string][] = [
    ["maintainer", "Maintainer"],
    ["section", "Section"],
    ["priority", "Priority"],
    ["multiArch", "Multi-Arch"],
    ["homepage", "Homepage"],
    ["source", "Source"],
  ];
  for (const [k, f] of opt) {
    const val = field(s, f);
    if (val !== undefined) (meta as unknown as Record<string, string>)[k] = val;
  }
  if (installed !== undefined && /^\d+$/.test(installed)) meta.installedSize = Number.parseInt(installed, 10);
  if (field(s, "Essential") === "yes") meta.essential = true;
  return meta;
}

const SCRIPT_NAMES = ["preinst", "postinst", "prerm", "postrm", "config"];

/** Maintainer scripts with their interpreter from the #! line (dpkg runs them directly). */
export function debScripts(c: DebControl): Script[] {
  const out: Script[] = [];
  for (const phase of SCRIPT_NAMES) {
    const b = c.members.get(phase);
    if (!b) continue;
    const body = b.toString("utf8");
    const m = /^#!\s*(\S.*)$/m.exec(body.split("\n", 1)[0]);
    out.push({ phase, interpreter: m ? m[1].trim() : "", body, executable: true });
  }
  return out;
}

/** deb-triggers(5): "interest[-await|-noawait] name" and "activate[-await|-noawait] name" lines. */
export function debTriggers(c: DebControl): Trigger[] {
  const b = c.members.get("triggers");
  if (!b) return [];
  const out: Trigger[] = [];
  for (const raw of b.toString("utf8").split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const [kind, condition] = line.split(/\s+/, 2);
    if (kind && condition) out.push({ kind, condition });
  }
  return out;
}

/** Every control.tar member (the directory aside) as dpkg copies them into its info database. */
export function debControlFiles(c: DebControl): [string, Buffer][] {
  return [...c.members].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function debConffiles(c: DebControl): string[] {
  const b = c.members.get("conffiles");
  if (!b) return [];
  return (
    b
      .toString("utf8")
      .split("\n")
      .map((l) => l.trim())
      // "remove-on-upgrade /etc/x" lines carry a flag before the path.
      .map((l) => l.replace(/^remove-on-upgrade\s+/, ""))
      .filter((l) => l.startsWith("/"))
  );
}

/** md5sums: "hex  relative/path" lines, keyed by tree path. */
export function debMd5sums(c: DebControl): Map<string, string> {
  const out = new Map<string, string>();
  const b = c.members.get("md5sums");
  if (!b) return out;
  for (const line of b.toString("utf8").split("\n")) {
    const m = /^([0-9a-fA-F]{32})\s+\*?(.+)$/.exec(line.trim());
    if (!m) continue;
    try {
      out.set(treePath(m[2]), m[1].toLowerCase());
    } catch {
      // A bogus md5sums line only loses verification of that one path.
    }
  }
  return out;
}
