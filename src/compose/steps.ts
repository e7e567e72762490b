// The steps of a layered assembly wired together: relocation of each package tree, the native
// package database (dpkg status and info, or the rpmdb), the scripts, our SQLite package database,
// and the commit metadata that `status` and `db` read without a checkout.
import { createHash } from "node:crypto";
import { Variant } from "../gvariant/index.js";
import type { PackageKind } from "../packages/model.js";
import { PackageDb, PKGDB_PATH } from "../packages/pkgdb.js";
import { readPackageDb } from "../packages/pkgdb-repo.js";
import type { Repo } from "../repo/repo.js";
import type { Transaction } from "../repo/transaction.js";
import {
  AssembleError,
  type AssemblyContext,
  type AssemblySteps,
  assemble,
  type LayerPackage,
} from "./assemble.js";
import { nativeDbStep } from "./native-db.js";
import type { LayerRequest } from "./origin.js";
import { removePackageFiles } from "./override.js";
import { type PackageCommitMeta, readPackageMeta } from "./package-meta.js";
import { layeredRecord } from "./records.js";
import { relocateTree } from "./relocate.js";
import { runScripts, type ScriptPackage } from "./scripts.js";
import { symlinkReader } from "./union.js";

export interface LayeredOptions {
  noScripts: boolean;
  progress(msg: string): void;
}

/** sha256 over the sorted `kind name evr arch` lines: equal package sets, equal digests. */
export function packageSetDigest(pkgs: readonly LayerPackage[]): string {
  const lines = pkgs.map((p) => `${p.kind} ${p.name} ${p.evr} ${p.arch}\n`).sort();
  return createHash("sha256").update(lines.join("")).digest("hex");
}

/** Relocation reads through the transaction (it sees staged objects) and the repo's file objects. */
function relocationStore(repo: Repo, tx: Transaction) {
  return {
    loadCommit: (c: string) => tx.loadCommit(c),
    loadDirTree: (c: string) => tx.loadDirTree(c),
    loadDirMeta: (c: string) => tx.loadDirMeta(c),
    loadFile: (c: string) => repo.loadFile(c),
    writeContentSync: tx.writeContentSync.bind(tx),
  };
}

/** Our package database: the base's records plus one per layered package. */
function packageDbStep(baseDb: PackageDb | null, metas: Map<string, PackageCommitMeta>, removed: string[]) {
  return (ctx: AssemblyContext): void => {
    const db = baseDb ?? PackageDb.create();
    try {
      for (const name of removed) db.remove(name);
      const fileMeta = (c: string) => ctx.repo.loadFile(c).meta;
      ctx.packages.forEach((p, i) => {
        db.add(layeredRecord(metas.get(p.commit)!, p.commit, ctx.records[i]!, p.requested, fileMeta));
      });
      // Over the base's (canonical) image, the layering's changes in their fixed order.
      ctx.putFile(PKGDB_PATH, baseDb ? db.serializeAsIs() : db.serialize());
    } finally {
      db.close();
    }
  };
}

/** Maintainer scripts and triggers of the layered packages, in install order, in the sandbox. */
function scriptsStep(metas: Map<string, PackageCommitMeta>, o: LayeredOptions) {
  return async (ctx: AssemblyContext): Promise<void> => {
    const packages: ScriptPackage[] = ctx.packages.map((p, i) => {
      const m = metas.get(p.commit)!;
      return {
        kind: m.kind,
        name: m.name,
        arch: m.arch,
        version: m.evr,
        scripts: m.scripts,
        triggers: m.triggers,
        newPaths: ctx.records[i]!.files.map((f) => f.path),
      };
    });
    const r = await runScripts(ctx.tx, ctx.root, packages, { noScripts: o.noScripts, base: ctx.base });
    for (const s of r.ran) o.progress(`Ran ${s.label}`);
    const memory = r.memory;
    if (memory) ctx.writeTree = (root) => memory.writeTree(root);
  };
}

/** The base's top-level symlinks to directories (usrmerge: bin → usr/bin), as "/bin" → "/usr/bin". */
function topLevelDirLinks(repo: Repo, base: string): Map<string, string> {
  const out = new Map<string, string>();
  const c = repo.loadCommit(base);
  const target = symlinkReader((x) => repo.loadFile(x));
  for (const [name, csum] of repo.loadDirTree(c.rootTree).files) {
    const t = target(csum);
    if (t && !t.includes("..")) out.set(`/${name}`, `/${t.replace(/^\/+/, "").replace(/\/+$/, "")}`);
  }
  return out;
}

/** A path as the package names it and as other packages may name the same file through top-level links. */
function pathAliases(path: string, links: Map<string, string>): string[] {
  const out = [path];
  for (const [link, to] of links) {
    if (path.startsWith(`${link}/`)) out.push(to + path.slice(link.length));
    if (path.startsWith(`${to}/`)) out.push(link + path.slice(to.length));
  }
  return out;
}

export async function assembleLayered(
  repo: Repo,
  base: string,
  kind: PackageKind,
  packages: LayerPackage[],
  request: LayerRequest,
  removed: string[],
  o: LayeredOptions,
): Promise<string> {
  const metas = new Map(packages.map((p) => [p.commit, readPackageMeta(repo, p.commit)]));
  const baseDb = readPackageDb(repo, base);
  const topLinks = topLevelDirLinks(repo, base);
  const steps: AssemblySteps = {
    removeBase: (root) => {
      if (!removed.length) return;
      if (!baseDb)
        throw new AssembleError("the base has no package database, so its packages cannot be removed");
      removePackageFiles(
        root,
        baseDb,
        removed,
        symlinkReader((c) => repo.loadFile(c)),
      );
    },
    relocate: (pkg, tree, tx) => relocateTree(tree, relocationStore(repo, tx), { name: pkg.name }),
    baseOwner: (path) => {
      for (const p of pathAliases(path, topLinks)) {
        const o = baseDb?.owners(p)[0]?.name;
        if (o) return o;
      }
      return null;
    },
    after: [
      nativeDbStep(
        kind,
        packages.map((p) => metas.get(p.commit)!),
        removed.map((name) => ({ name })),
      ),
      scriptsStep(metas, o),
      packageDbStep(baseDb, metas, removed),
    ],
  };
  const layered = packages.map((p) => [p.name, p.evr, p.arch]);
  return assemble({
    repo,
    base,
    packages,
    steps,
    subject: `Layered ${[...request.packages, ...request.localPackages.map((l) => l.nevra)].join(", ") || "nothing"}${removed.length ? `; removed ${removed.join(", ")}` : ""}`,
    metadata: [
      ["tsostree.clientlayer", Variant.of("b", true)],
      ["tsostree.base-commit", Variant.of("s", base)],
      ["tsostree.requested-packages", Variant.of("as", request.packages)],
      ["tsostree.layered-packages", Variant.of("a(sss)", layered)],
      ["tsostree.packageset-digest", Variant.of("s", packageSetDigest(packages))],
      ["tsostree.removed-base-packages", Variant.of("as", removed)],
      ["tsostree.scripts", Variant.of("b", !o.noScripts)],
    ],
    progress: o.progress,
  });
}
