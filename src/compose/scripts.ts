// Running the layered packages' maintainer scripts and triggers against the new tree before it is
// committed (plan: scripts-plan.ts; sandbox and capture: sandbox.ts, upper.ts). What scripts
// change becomes part of the tree; a script that fails leaves the tree as it was.
import type { MemoryTreeSink } from "../repo/memory-sink.js";
import type { MutableTree } from "../repo/mtree.js";
import type { StagingScope, Transaction } from "../repo/transaction.js";
import { lastLines, runSandboxed, type SandboxResult, type StepResult } from "./sandbox.js";
import {
  type InstalledInterest,
  type PlannedScript,
  planScripts,
  type ScriptPackage,
} from "./scripts-plan.js";
import { readTreeFile } from "./tree-file.js";
import type { UpperStats } from "./upper.js";

export * from "./scripts-plan.js";

/** Where an ostree-ready Debian tree keeps dpkg's database (see the layering conventions). */
export const DPKG_DATABASE = "usr/share/dpkg/database";

/** Lines of a failed script's output kept on the error. */
const OUTPUT_LINES = 40;

export class ScriptError extends Error {
  override name = "ScriptError";
  constructor(
    readonly packageName: string,
    readonly script: string,
    readonly status: number,
    /** The last lines of what the script printed (stdout and stderr). */
    readonly output: string,
  ) {
    super(
      `${packageName}: ${script} script failed with exit status ${status}; nothing was changed (its output ends: ${lastLines(output, 1) || "(none)"})`,
    );
  }
}

export interface RunScriptsOptions {
  /** Run nothing (`--no-scripts`); the caller records that scripts were skipped. */
  noScripts?: boolean;
  /** The commit the tree was made from (its checkout is cached and reused below the changes). */
  base?: string;
}

export interface ScriptsResult {
  /** What was (or, with noScripts, would have been) run, in order. */
  plan: PlannedScript[];
  ran: StepResult[];
  skipped: boolean;
  /** What the scripts changed in the tree (null when nothing ran). */
  changes: UpperStats | null;
  /**
   * Non-null when scripts ran: write the final tree with `memory.writeTree(tree)` instead of
   * `tree.write(tx)`, so the dirtrees held in memory that the tree references are staged.
   */
  memory: MemoryTreeSink | null;
}

/**
 * Runs the scripts and triggers of `packages` (in install order) against `tree`, applying their
 * changes to it through `writer`. Throws ScriptError for the first script that fails (the tree
 * is then unchanged), UnsupportedScriptError for a Lua scriptlet.
 */
export async function runScripts(
  writer: Transaction | StagingScope,
  tree: MutableTree,
  packages: ScriptPackage[],
  opts: RunScriptsOptions = {},
): Promise<ScriptsResult> {
  const tx = "tx" in writer ? writer.tx : writer;
  const { steps, files } = planScripts({
    packages,
    installed: readInstalledInterests(tree, tx),
    dpkgVersion: packages.some((p) => p.kind === "deb") ? dpkgVersion(tree, tx) : "",
    hasLdconfig: ["usr/sbin/ldconfig", "usr/bin/ldconfig", "sbin/ldconfig"].some(
      (p) => tree.lookup(p)?.kind === "file",
    ),
  });
  if (opts.noScripts || steps.length === 0)
    return { plan: steps, ran: [], skipped: opts.noScripts === true, changes: null, memory: null };
  const r: SandboxResult = await runSandboxed(writer, tree, steps, files, opts.base);
  if (r.failed) {
    const step = steps[r.results.length - 1]!;
    throw new ScriptError(
      step.package,
      step.script,
      r.failed.status,
      lastLines(r.failed.output, OUTPUT_LINES),
    );
  }
  return { plan: steps, ran: r.results, skipped: false, changes: r.changes, memory: r.memory };
}

/** The trigger interests of installed deb packages: `interest*` lines of info/PKG[:ARCH].triggers. */
export function readInstalledInterests(
  tree: MutableTree,
  tx: Pick<Transaction, "loadFile">,
): InstalledInterest[] {
  const info = tree.lookup(`${DPKG_DATABASE}/info`);
  if (info?.kind !== "dir") return [];
  const { files } = info.tree.entries();
  const names = new Set(files.map(([n]) => n));
  const out: InstalledInterest[] = [];
  for (const [name, csum] of files) {
    if (!name.endsWith(".triggers")) continue;
    const base = name.slice(0, -".triggers".length);
    if (!names.has(`${base}.postinst`)) continue; // nothing would handle its triggers
    const [pkg, arch = ""] = base.split(":");
    const text = tx.loadFile(csum).read().toString("utf8");
    for (const line of text.split("\n")) {
      const [kind, trigger] = line.replace(/#.*/, "").trim().split(/\s+/);
      if (kind?.startsWith("interest") && trigger)
        out.push({ package: pkg!, arch, kind, trigger, postinst: `/var/lib/dpkg/info/${base}.postinst` });
    }
  }
  return out;
}

/** The installed dpkg's version, from the status file ("" when there is none). */
export function dpkgVersion(tree: MutableTree, tx: Pick<Transaction, "loadFile">): string {
  const status = readTreeFile(tree, tx, `${DPKG_DATABASE}/status`)?.toString("utf8") ?? "";
  for (const stanza of status.split(/\n\n+/))
    if (/^Package: dpkg$/m.test(stanza)) return /^Version: (.+)$/m.exec(stanza)?.[1] ?? "";
  return "";
}
