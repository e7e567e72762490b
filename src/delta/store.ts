// The deltas a repo holds under deltas/: list, read, show (ostree's text), delete, and
// apply-offline from a delta directory or superblock file.
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Repo } from "../repo/repo.js";
import { errorLine } from "../util/errno.js";
import { type ApplyResult, applyStaticDelta } from "./apply.js";
import { executePart, type OpCounts } from "./execute.js";
import { deltaDir, deltaFromDirs, deltaName, parseDeltaName, partPath, superblockPath } from "./names.js";
import { OP_NAMES } from "./ops.js";
import { decodePartFile } from "./part.js";
import { parseSuperblock, type Superblock, superblockMeta } from "./superblock.js";

export class DeltaNotFoundError extends Error {
  override name = "DeltaNotFoundError";
}

function dirents(p: string): string[] {
  try {
    return readdirSync(p, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
}

/** Every delta with a superblock, named as ostree lists them (FROM-TO or TO). */
export function listDeltas(repo: Repo): string[] {
  const out: string[] = [];
  const root = join(repo.path, "deltas");
  for (const a of dirents(root))
    for (const b of dirents(join(root, a))) {
      const d = deltaFromDirs(a, b);
      if (!d) continue;
      try {
        statSync(join(root, a, b, "superblock"));
      } catch {
        continue;
      }
      out.push(deltaName(d.from, d.to));
    }
  return out;
}

/** A delta named FROM-TO / TO in the repo, or a path containing '/' to a superblock (as ostree show). */
export function readDelta(repo: Repo, nameOrPath: string): { sb: Superblock; dir: string } {
  let path: string;
  if (nameOrPath.includes("/")) path = nameOrPath;
  else {
    const { from, to } = parseDeltaName(nameOrPath);
    path = join(repo.path, superblockPath(from, to));
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new DeltaNotFoundError(`Can't find delta ${nameOrPath} (no ${path}); see \`static-delta list\``);
  }
  return { sb: parseSuperblock(bytes), dir: dirname(path) };
}

export function deleteDelta(repo: Repo, name: string): void {
  const { from, to } = parseDeltaName(name);
  const dir = join(repo.path, deltaDir(from, to));
  try {
    statSync(dir);
  } catch {
    throw new DeltaNotFoundError(`Can't find delta ${name}`);
  }
  rmSync(dir, { recursive: true, force: true });
}

function partFile(sb: Superblock, dir: string, i: number): Buffer {
  const inline = superblockMeta(sb, partPath(sb.from, sb.to, i), "(yay)");
  if (inline) {
    const [c, data] = inline.value as [number, Buffer];
    return Buffer.concat([Buffer.from([c]), data]);
  }
  return readFileSync(join(dir, String(i)));
}

/** `static-delta show` text, line for line as ostree 2022.7 prints it. */
export async function showDelta(
  repo: Repo,
  name: string,
  formatSize: (n: number) => string,
): Promise<string> {
  const { sb, dir } = readDelta(repo, name);
  const lines = [`Delta: ${name}`, "Signed: no"];
  lines.push(sb.from ? `From: ${sb.from}` : "From <scratch>");
  lines.push(`To: ${sb.to}`);
  const e = sb.endianness === "B" ? "big" : sb.endianness === "l" ? "little" : "invalid";
  lines.push(`Endianness: ${e}${sb.endianness && sb.endiannessHeuristic ? " (heuristic)" : ""}`);
  lines.push(`Timestamp: ${sb.timestamp}`);
  lines.push("Number of parents: 0");
  lines.push(`Number of fallback entries: ${sb.fallbacks.length}`);
  let fsize = 0;
  let fusize = 0;
  for (const f of sb.fallbacks) {
    lines.push(`  ${f.checksum}`);
    fsize += f.size;
    fusize += f.usize;
  }
  lines.push(`Total Fallback Size: ${fsize} (${formatSize(fsize)})`);
  lines.push(`Total Fallback Uncompressed Size: ${fusize} (${formatSize(fusize)})`);
  lines.push(`Number of parts: ${sb.parts.length}`);
  let size = 0;
  let usize = 0;
  for (const [i, p] of sb.parts.entries()) {
    size += p.size;
    usize += p.usize;
    lines.push(`PartMeta${i}: nobjects=${p.objects.length} size=${p.size} usize=${p.usize}`);
    const payload = decodePartFile(partFile(sb, dir, i));
    lines.push(
      `PartPayload${i}: nmodes=${payload.modes.length} nxattrs=${payload.xattrs.length} blobsize=${payload.blob.length} opsize=${payload.ops.length}`,
    );
    const counts: OpCounts = OP_NAMES.map(() => 0);
    await executePart(p.objects, payload, null, counts);
    lines.push(`PartPayloadOps${i}: ${OP_NAMES.map((n, k) => `${n}=${counts[k]}`).join(" ")}`);
  }
  lines.push(`Total Part Size: ${size} (${formatSize(size)})`);
  lines.push(`Total Part Uncompressed Size: ${usize} (${formatSize(usize)})`);
  lines.push(`Total Size: ${size + fsize} (${formatSize(size + fsize)})`);
  lines.push(`Total Uncompressed Size: ${usize + fusize} (${formatSize(usize + fusize)})`);
  return `${lines.join("\n")}\n`;
}

/**
 * `static-delta apply-offline PATH`: PATH is a delta directory (its `superblock` and parts) or a
 * superblock file (parts beside it). Fallback objects are refused, as ostree does; no ref moves.
 */
export async function applyOffline(repo: Repo, path: string): Promise<ApplyResult> {
  let dir = path;
  let name = "superblock";
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    throw new DeltaNotFoundError(`${path}: no such delta directory or superblock file`);
  }
  if (!st.isDirectory()) {
    dir = dirname(path);
    name = basename(path);
  }
  const bytes = readFileSync(join(dir, name));
  const readPart = async (i: number): Promise<Buffer> => {
    try {
      return readFileSync(join(dir, String(i)));
    } catch (e) {
      throw new DeltaNotFoundError(`Opening deltapart '${i}' in ${dir}: ${errorLine(e)}`);
    }
  };
  return applyStaticDelta(repo, bytes, readPart, { refuseFallbacks: true });
}
