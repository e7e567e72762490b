// The layering transaction (`tsostree-pkg install/uninstall/override/reset/upgrade`): the origin of
// the deployment it starts from, changed by the command → solve against the base's installed set →
// fetch and import → assemble the layered commit → deploy it with the new origin, the deployment it
// started from kept for rollback. The sysroot lock is held from the first read to the last write, so
// two transactions never interleave; a failure at any step leaves no new deployment.
import { join } from "node:path";
import type { PkgVersion } from "../packages/index.js";
import type { PackageKind } from "../packages/model.js";
import { parseRequest, resolveWithRetry } from "../packages/resolve.js";
import type { Transaction as SolverTransaction } from "../packages/solver-types.js";
import { generateDeploymentRefs } from "../sysroot/cleanup.js";
import { commitDeploymentList, deployTree, simpleDeploymentList } from "../sysroot/deploy.js";
import type { Deployment } from "../sysroot/deployment.js";
import {
  discardEarlyCheckout,
  type EarlyCheckout,
  startEarlyCheckout,
  takeEarlyCheckout,
} from "../sysroot/early-checkout.js";
import { stateroot } from "../sysroot/layout.js";
import { withLockedSysroot } from "../sysroot/ops.js";
import { type Sysroot, SysrootError } from "../sysroot/sysroot.js";
import type { LayerPackage } from "./assemble.js";
import { beginLayerFaults, layerFault } from "./fault.js";
import { commitBySha256, fetchAndImport, importLocalFiles, type LocalImport } from "./fetch-import.js";
import { baseOf, layeredPackagesOf } from "./layered-commit.js";
import { installOrder } from "./order.js";
import {
  formatLayerRequest,
  isPlainBase,
  type LayerRequest,
  type LocalPackage,
  parseLayerRequest,
} from "./origin.js";
import { checkRemovals, withoutPackages } from "./override.js";
import { readPackageMeta } from "./package-meta.js";
import { assembleLayered } from "./steps.js";
import { baseFacts, loadLayerWorld, localPackageSet } from "./world.js";

export class LayerError extends Error {
  override name = "LayerError";
}

export interface LayerOptions {
  sysroot: string;
  osname?: string;
  /**
   * What the command does to the request of the deployment it starts from; `local` are the package
   * files of `localFiles`, imported.
   */
  change(r: LayerRequest, s: Sysroot, local: LocalImport[]): LayerRequest;
  /** Package files to layer (`install ./foo.deb`): imported under the lock before planning. */
  localFiles?: string[];
  /**
   * Use this base commit instead of the starting deployment's (upgrade; `from` is the starting
   * deployment's base). May pull it first: it runs under the sysroot lock.
   */
  rebase?(r: LayerRequest, s: Sysroot, from: string): string | null | Promise<string | null>;
  dryRun?: boolean;
  recommends?: boolean;
  /** Requests for packages the base already has are kept (inactive) instead of refused. */
  allowInactive?: boolean;
  noScripts?: boolean;
  refresh?: boolean;
  progress?(msg: string): void;
}

export interface LayerPlan {
  base: string;
  /** The base's package kind (null for a plain base: nothing was resolved). */
  kind: PackageKind | null;
  request: LayerRequest;
  install: PkgVersion[];
  /** Requested packages the base already has. */
  inactive: PkgVersion[];
  /** Base packages taken out by overrides (removed or replaced). */
  removed: string[];
  /** Names the user asked for (by name or as a file), as opposed to dependencies. */
  requested: ReadonlySet<string>;
}

export interface LayerResult {
  plan: LayerPlan;
  /** False when the result equals the deployment it started from (nothing deployed). */
  changed: boolean;
  commit?: string;
  deployment?: Deployment;
  /** How many packages were downloaded and imported (the rest were in the repo already). */
  imported: number;
  /** What would change against the starting deployment (set for dry runs). */
  update?: UpdateSummary;
}

export interface UpdateSummary {
  /** The starting deployment's base commit. */
  baseFrom: string;
  /** Layered package changes, one line each ("strace 6.1-0.1 -> 6.2-1", "+ libfoo 1.0", "- libbar 2"). */
  packages: string[];
  /** True when the result would differ from the starting deployment. */
  available: boolean;
}

/** Compares a plan with the deployment it starts from. */
function updateSummary(s: Sysroot, from: Deployment, p: LayerPlan): UpdateSummary {
  const baseFrom = baseOf(s.repo, from.csum);
  const before = new Map(layeredPackagesOf(s.repo, from.csum).map((x) => [`${x.name}:${x.arch}`, x.version]));
  const packages: string[] = [];
  for (const v of p.install) {
    const key = `${v.name}:${v.arch}`;
    const old = before.get(key);
    if (old === undefined) packages.push(`+ ${v.name} ${v.evr}`);
    else if (old !== v.evr) packages.push(`${v.name} ${old} -> ${v.evr}`);
    before.delete(key);
  }
  for (const [key, version] of before) packages.push(`- ${key.split(":")[0]} ${version}`);
  return { baseFrom, packages, available: baseFrom !== p.base || packages.length > 0 };
}

/**
 * The deployment whose request a transaction changes: the stateroot's default (first) one, so that a
 * second `install` before a reboot adds to the pending deployment instead of replacing it (as
 * rpm-ostree does). /etc and the package sources come from the merge deployment (the booted one).
 */
export function startingDeployment(s: Sysroot, osname?: string): Deployment {
  const os = s.resolveOsname(osname);
  const d = s.deployments.find((x) => x.osname === os);
  if (!d)
    throw new LayerError(
      `no deployment of '${os}' to start from; deploy a base first (tsostree admin deploy)`,
    );
  return d;
}

function refusedChanges(t: SolverTransaction): string[] {
  return [
    ...t.upgrade.map((u) => `upgrade base package ${u.from.name} ${u.from.evr} -> ${u.to.evr}`),
    ...t.remove.map((v) => `remove base package ${v.name} ${v.evr}`),
  ];
}

/** The package commits of requested package files (imported when they were first layered). */
function localCommits(s: Sysroot, list: LocalPackage[]): string[] {
  return list.map((l) => {
    const c = commitBySha256(s.repo, l.sha256);
    if (!c)
      throw new LayerError(
        `the requested package file ${l.nevra} (sha256 ${l.sha256.slice(0, 12)}) is no longer in the repository; install the file again or uninstall ${l.nevra.replace(/-[^-]*-[^-]*$/, "")}`,
      );
    return c;
  });
}

async function plan(
  s: Sysroot,
  from: Deployment,
  merge: Deployment,
  o: LayerOptions,
  local: LocalImport[],
  /** Called once the base to layer onto is known (not for a plain base). */
  onBase: (base: string) => void,
): Promise<LayerPlan> {
  const current = parseLayerRequest(from.origin);
  if (!current)
    throw new LayerError(
      `deployment ${from.csum}.${from.deployserial} has no origin refspec to layer onto; deploy the base from a ref first (\`tsostree admin deploy REF\`)`,
    );
  const request = o.change(current, s, local);
  const fromBase = baseOf(s.repo, from.csum);
  const base = (await o.rebase?.(request, s, fromBase)) ?? request.baseCommit ?? fromBase;
  if (isPlainBase(request))
    return { base, kind: null, request, install: [], inactive: [], removed: [], requested: new Set() };
  onBase(base);
  const facts = baseFacts(s.repo, base);
  const world = await loadLayerWorld({
    base: facts,
    configRoot: s.deploymentDir(merge),
    cacheDir: join(stateroot(s.path, from.osname), "var/cache/tsostree/md"),
    refresh: o.refresh,
  });
  if (!world.repos.length && request.packages.length)
    throw new LayerError(
      `no package repositories are configured in the deployment's /etc (${facts.kind === "deb" ? "/etc/apt/sources.list, /etc/apt/sources.list.d/" : "/etc/yum.repos.d/"}); add one and retry`,
    );
  const requests = request.packages.map(parseRequest);
  const replacements = localCommits(s, request.replacements).map((c) => readPackageMeta(s.repo, c));
  const removed = new Set([...request.removals, ...replacements.map((m) => m.name)]);
  for (const n of removed)
    if (!world.installed.byName(n).length)
      throw new LayerError(
        `${n} is not a package of the base image, so there is nothing to override; layered packages are removed with \`uninstall\``,
      );
  world.installed = withoutPackages(world.installed, removed);
  const locals = [
    ...localCommits(s, request.localPackages).map((c) => readPackageMeta(s.repo, c)),
    ...replacements,
  ];
  if (locals.length) {
    world.repos.unshift(localPackageSet(facts.kind, locals));
    for (const m of locals) requests.push({ name: m.name, version: m.evr, arch: m.arch });
  }
  const t = await resolveWithRetry(world, requests, { recommends: !!o.recommends });
  const refused = refusedChanges(t);
  if (refused.length)
    throw new LayerError(
      `layering does not change base packages, but this request would ${refused.join(", ")}; pick another version or use \`override replace\``,
    );
  if (t.unchanged.length && !o.allowInactive)
    throw new LayerError(
      `${t.unchanged.map((v) => `${v.name} ${v.evr}`).join(", ")} ${t.unchanged.length === 1 ? "is" : "are"} already in the base image; use --allow-inactive to request ${t.unchanged.length === 1 ? "it" : "them"} anyway`,
    );
  if (removed.size) {
    // A removed base package that the request pulls back in from a repository is no removal.
    const back = t.install.filter((v) => request.removals.includes(v.name));
    if (back.length)
      throw new LayerError(
        `${back.map((v) => v.name).join(", ")} ${back.length === 1 ? "is" : "are"} removed from the base but needed by the requested packages; uninstall what needs ${back.length === 1 ? "it" : "them"} or \`override reset\``,
      );
    checkRemovals(removed, [...(world.installed.all?.() ?? []), ...t.install]);
  }
  return {
    base,
    kind: facts.kind,
    request,
    install: installOrder(world.dialect, t.install),
    inactive: t.unchanged,
    removed: [...removed].sort(),
    requested: new Set([...request.packages.map((r) => parseRequest(r).name), ...locals.map((m) => m.name)]),
  };
}

/** Runs one layering transaction under the sysroot lock. */
export async function layer(o: LayerOptions): Promise<LayerResult> {
  const progress = o.progress ?? (() => {});
  beginLayerFaults();
  return withLockedSysroot(o.sysroot, async (s) => {
    // A transaction killed between the boot entries' swap and the cleanup left the new default
    // without its ostree/B/S/I ref, so a prune would take its objects: restore the refs first.
    generateDeploymentRefs(s);
    const from = startingDeployment(s, o.osname);
    const merge = s.mergeDeployment(from.osname) ?? from;
    const local = o.localFiles?.length ? await importLocalFiles(s.repo, o.localFiles) : [];
    // The base's hardlink farm, the part of the transaction that grows with the base, is written
    // from the moment the base is known, while the request is solved and the layered commit
    // assembled (early-checkout.ts); a request that fails or changes nothing stops it and removes
    // what it made.
    const farm: { early: EarlyCheckout | null } = { early: null };
    const onBase = (base: string) => {
      if (!o.dryRun) farm.early = startEarlyCheckout(s, from.osname, base);
    };
    try {
      const p = await plan(s, from, merge, o, local, onBase);
      if (o.dryRun) return { plan: p, changed: false, imported: 0, update: updateSummary(s, from, p) };
      const { commit, imported } = await layeredCommit(s, from, p, o, progress);
      return await deployLayered(s, from, merge, p, { commit, imported, early: farm.early, progress });
    } finally {
      await discardEarlyCheckout(farm.early);
    }
  });
}

const assembles = (p: LayerPlan): boolean => !!p.kind && (p.install.length > 0 || p.removed.length > 0);

/** Fetch, import and assemble: the layered commit (the base itself when nothing is layered). */
async function layeredCommit(
  s: Sysroot,
  from: Deployment,
  p: LayerPlan,
  o: LayerOptions,
  progress: (msg: string) => void,
): Promise<{ commit: string; imported: number }> {
  if (!p.kind || !assembles(p)) return { commit: p.base, imported: 0 };
  const cache = join(stateroot(s.path, from.osname), "var/cache/tsostree/pkgs");
  const got = await fetchAndImport(s.repo, p.install, cache, progress);
  const imported = got.filter((g) => g.fresh).length;
  layerFault("imported");
  const packages: LayerPackage[] = got.map((g) => ({
    kind: g.pkg.kind,
    name: g.pkg.name,
    evr: g.pkg.evr,
    arch: g.pkg.arch,
    commit: g.commit,
    requested: p.requested.has(g.pkg.name),
    replaces: replacedNames(g.pkg),
  }));
  progress(
    `Assembling ${packages.length} package${packages.length === 1 ? "" : "s"} onto ${p.base.slice(0, 12)}`,
  );
  const commit = await assembleLayered(s.repo, p.base, p.kind, packages, p.request, p.removed, {
    noScripts: !!o.noScripts,
    progress,
  });
  layerFault("assembled");
  return { commit, imported };
}

/** Deploys the layered commit with the new origin, unless both equal the starting deployment's. */
async function deployLayered(
  s: Sysroot,
  from: Deployment,
  merge: Deployment,
  p: LayerPlan,
  r: { commit: string; imported: number; early: EarlyCheckout | null; progress: (msg: string) => void },
): Promise<LayerResult> {
  const { commit, imported, early } = r;
  const origin = formatLayerRequest(p.request, from.origin);
  if (commit === from.csum && origin.toString() === from.origin?.toString())
    return { plan: p, changed: false, commit, imported };
  r.progress("Deploying");
  const fill = early && ((root: string) => takeEarlyCheckout(early, s, commit, root));
  const d = await deployTree(s, from.osname, commit, origin, merge, null, fill);
  const list = simpleDeploymentList(s, from.osname, d, merge, {});
  // Pruning walks every reachable object (it grows with the base); it finds something only when
  // a deployment leaves the list with a commit no deployment keeps: the new commit and the
  // package commits are all referenced (a re-install after a rollback deploys the commit it drops).
  const kept = new Set(list.map((x) => x.csum));
  const dropped = s.deployments.some((x) => !list.includes(x) && !kept.has(x.csum));
  const after = await commitDeploymentList(s, list, dropped);
  const nd = after.deployments.find((x) => x.csum === d.csum && x.deployserial === d.deployserial);
  if (!nd) throw new SysrootError("the new deployment is missing after writing the boot entries");
  layerFault("deployed");
  return { plan: p, changed: true, commit, deployment: nd, imported };
}

/** Names a package declares it may overwrite files of (dpkg Replaces; rpm has none). */
function replacedNames(v: PkgVersion): string[] {
  const out: string[] = [];
  const visit = (d: NonNullable<PkgVersion["relations"]["replaces"]>[number]): void => {
    if (d.kind === "atom") out.push(d.atom.name);
    else if ("terms" in d) d.terms.forEach(visit);
  };
  for (const d of v.relations.replaces ?? []) visit(d);
  return out;
}
