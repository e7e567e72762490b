// What `tsostree-pkg inspect` shows: a package's metadata, relations, files and scripts, as one JSON
// object or as text in the spirit of `dpkg-deb -I/-c` and `rpm -qpil --scripts`. Pure formatting.
import { formatDebDep } from "../../backends/deb/relations.js";
import { formatRpmDep } from "../../backends/rpm/relations.js";
import type { Dep, PackageFile, PackageInfo, PackageKind } from "./model.js";

export interface InspectOptions {
  files?: boolean;
  scripts?: boolean;
}

/** Renders a relationship term in the package's own syntax. */
export function formatDep(kind: PackageKind, d: Dep): string {
  return kind === "deb" ? formatDebDep(d) : formatRpmDep(d);
}

export function fileFlags(f: PackageFile): string[] {
  const out: string[] = [];
  if (f.config) out.push("config");
  if (f.ghost) out.push("ghost");
  if (f.doc) out.push("doc");
  if (f.implied) out.push("implied");
  if (f.special) out.push(f.special);
  return out;
}

export function octal(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}

export function inspectJson(
  info: PackageInfo,
  version: string,
  opts: InspectOptions = {},
): Record<string, unknown> {
  const relations: Record<string, unknown[]> = {};
  for (const [k, deps] of Object.entries(info.relations))
    relations[k] = (deps ?? []).map((d) => ({ ...d, text: formatDep(info.kind, d) }));
  const out: Record<string, unknown> = {
    kind: info.kind,
    name: info.name,
    version,
    epoch: info.epoch,
    upstreamVersion: info.version,
    release: info.release,
    arch: info.arch,
    summary: info.summary,
    description: info.description ?? "",
    maintainer: info.maintainer,
    section: info.section,
    priority: info.priority,
    essential: info.essential,
    multiArch: info.multiArch,
    installedSize: info.installedSize,
    homepage: info.homepage,
    license: info.license,
    source: info.source,
    relations,
    conffiles: info.conffiles,
    triggers: info.triggers.map((t) =>
      opts.scripts && t.script
        ? { kind: t.kind, condition: t.condition, interpreter: t.script.interpreter, body: t.script.body }
        : { kind: t.kind, condition: t.condition },
    ),
    fields: info.extra ?? {},
  };
  out.scripts = opts.scripts ? info.scripts : info.scripts.map((s) => s.phase);
  if (opts.files)
    out.files = info.files.map((f) => ({
      path: f.path,
      type: f.type,
      mode: octal(f.mode),
      user: f.user,
      group: f.group,
      size: f.size,
      linkTarget: f.linkTarget,
      digest: f.digest ? `${f.digest.algo}:${f.digest.hex}` : undefined,
      caps: f.caps,
      flags: fileFlags(f),
    }));
  return out;
}

const TYPE_CHAR: Record<string, string> = { file: "-", dir: "d", symlink: "l", hardlink: "h" };

function permString(f: PackageFile): string {
  const m = f.mode;
  const rwx = (bits: number, special: boolean, ch: string) =>
    `${bits & 4 ? "r" : "-"}${bits & 2 ? "w" : "-"}${special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? "x" : "-"}`;
  return (
    (TYPE_CHAR[f.type] ?? "?") +
    rwx((m >> 6) & 7, (m & 0o4000) !== 0, "s") +
    rwx((m >> 3) & 7, (m & 0o2000) !== 0, "s") +
    rwx(m & 7, (m & 0o1000) !== 0, "t")
  );
}

/** One `ls -l`-like line per file, as `dpkg-deb -c` prints them. */
export function fileLine(f: PackageFile): string {
  const owner = `${f.user}/${f.group}`.padEnd(17);
  const link =
    f.type === "symlink" ? ` -> ${f.linkTarget}` : f.type === "hardlink" ? ` link to ${f.linkTarget}` : "";
  const flags = fileFlags(f);
  return `${permString(f)} ${owner} ${String(f.size).padStart(9)} ${f.path}${link}${flags.length ? `  [${flags.join(",")}]` : ""}`;
}

export function inspectText(info: PackageInfo, opts: InspectOptions = {}): string[] {
  const lines: string[] = [];
  if (info.kind === "deb") {
    lines.push(" new Debian package");
    for (const [k, v] of Object.entries(info.extra ?? {})) lines.push(` ${k}: ${v.replace(/\n/g, "\n ")}`);
  } else {
    const row = (k: string, v: string | number | undefined) => {
      if (v !== undefined && v !== "") lines.push(`${k.padEnd(12)}: ${v}`);
    };
    row("Name", info.name);
    row("Epoch", info.epoch || undefined);
    row("Version", info.version);
    row("Release", info.release);
    row("Architecture", info.arch);
    row("Size", info.extra?.Size);
    row("License", info.license);
    row("Source RPM", info.source);
    row("URL", info.homepage);
    row("Summary", info.summary);
    lines.push("Description :", info.description ?? "");
  }
  // No separate version line: the fields above have it (a .deb's Version, rpm's Epoch/Version/Release).
  lines.push("");
  for (const [k, deps] of Object.entries(info.relations))
    lines.push(`${k}: ${(deps ?? []).map((d) => formatDep(info.kind, d)).join(", ")}`);
  if (info.conffiles.length) lines.push("conffiles:", ...info.conffiles.map((c) => `  ${c}`));
  for (const t of info.triggers) lines.push(`trigger ${t.kind}: ${t.condition}`);
  if (opts.files) lines.push("", ...info.files.map(fileLine));
  if (opts.scripts)
    for (const s of info.scripts)
      lines.push("", `${s.phase} scriptlet (using ${s.interpreter || "its #! line"}):`, s.body.trimEnd());
  return lines;
}
