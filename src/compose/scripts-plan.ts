// Which maintainer scripts and triggers a layering runs, in which order, with which arguments and
// environment: pure, from the packages' recorded scripts and the base's trigger interests.
//
// Order. Every package's files are already in the tree when scripts start (the union happens on
// dirtrees first), so as apt's unpack-all-then-configure-all: deb `preinst install` of every
// package in install order, then `postinst configure ""` of every package, then triggers once;
// rpm (as rpm-ostree) %pretrans, all %pre, all %post, %filetriggerin and %triggerin, %posttrans,
// %transfiletriggerin. A package configured in this run has its own trigger interests handled by
// its configure, as dpkg treats pending triggers of a package it configures; only installed
// (base) packages get `postinst triggered`.
//
// Removal scripts (prerm/postrm remove, %preun/%postun 0) are planned by planRemovalScripts but
// not run by a layering, as rpm-ostree does not: a layered tree is recomposed from the base, so a
// removed layered package was never in the new tree, and a removed base package's scripts would
// act on state (users, alternatives) that the base image owns.
import { SANDBOX_FILES, type SandboxFile, type SandboxStep } from "./sandbox.js";

export interface PackageScript {
  /** deb: preinst, postinst, prerm, postrm; rpm: pretrans, pre, post, preun, postun, posttrans. */
  phase: string;
  /** rpm: the interpreter with its arguments ("/bin/sh", "<lua>"); deb: "" (the shebang decides). */
  interpreter: string;
  body: string;
}

export interface PackageTrigger {
  /** deb: interest, interest-noawait, activate-noawait…; rpm: filetriggerin, transfiletriggerin, triggerin. */
  kind: string;
  /** deb: trigger name or path; rpm: path prefix (file triggers) or package name (triggerin). */
  condition: string;
  interpreter: string;
  body: string;
}

/** A package layered in this transaction, with what its scripts need. */
export interface ScriptPackage {
  kind: "deb" | "rpm";
  name: string;
  arch: string;
  version: string;
  /** The version it replaces (an upgrade or override), if any. */
  oldVersion?: string;
  scripts: PackageScript[];
  triggers: PackageTrigger[];
  /** Files it installs, as the package names them ("/usr/lib/x86_64-linux-gnu/libfoo.so.1"). */
  newPaths: string[];
}

/** A trigger interest of an installed (base) deb package, from its info/PKG.triggers file. */
export interface InstalledInterest {
  package: string;
  arch: string;
  /** interest, interest-await or interest-noawait */
  kind: string;
  /** A trigger name or an absolute path. */
  trigger: string;
  /** Its postinst inside the sandbox, e.g. /var/lib/dpkg/info/libc-bin.postinst. */
  postinst: string;
}

export interface ScriptPlanInput {
  packages: ScriptPackage[];
  installed: InstalledInterest[];
  /** DPKG_RUNNING_VERSION: the tree's dpkg version. */
  dpkgVersion: string;
  /** Whether the tree has ldconfig (run directly when no package is interested in the trigger). */
  hasLdconfig: boolean;
}

export interface PlannedScript extends SandboxStep {
  package: string;
  /** "postinst", "%post", "postinst triggered", "ldconfig"… */
  script: string;
}

export interface ScriptPlan {
  steps: PlannedScript[];
  /** Script bodies to place at /run/tsostree/NAME. */
  files: SandboxFile[];
}

export class UnsupportedScriptError extends Error {
  override name = "UnsupportedScriptError";
}

const DEB_ENV = {
  DPKG_ADMINDIR: "/var/lib/dpkg",
  DPKG_ROOT: "",
  DPKG_MAINTSCRIPT_PACKAGE_REFCOUNT: "1",
  DEBIAN_FRONTEND: "noninteractive",
  DEBCONF_NONINTERACTIVE_SEEN: "true",
  HOME: "/root",
};

/** A shared library in a directory the dynamic linker searches (what dpkg's ldconfig trigger is for). */
const SHARED_LIB = /^\/?(usr\/)?lib(32|64|x32)?\/([^/]+\/)?[^/]+\.so(\.[0-9]+)*$/;

const RPM_PHASES: Record<string, string> = {
  pretrans: "pretrans",
  pre: "pre",
  prein: "pre",
  post: "post",
  postin: "post",
  preun: "preun",
  postun: "postun",
  posttrans: "posttrans",
};

export function rpmPhase(phase: string): string | undefined {
  return RPM_PHASES[phase.replace(/^%/, "")];
}

function scriptOf(p: ScriptPackage, phase: string): PackageScript | undefined {
  return p.scripts.find((s) => (p.kind === "rpm" ? rpmPhase(s.phase) === phase : s.phase === phase));
}

const fileName = (p: ScriptPackage, what: string) => `${p.name}_${p.arch}.${what}`.replace(/[^\w.+-]/g, "_");

/** Where a path activates a trigger interest on `target` (a path): the path itself or below it. */
export function pathMatches(path: string, target: string): boolean {
  const p = path.startsWith("/") ? path : `/${path}`;
  const t = target.replace(/\/+$/, "");
  return p === t || p.startsWith(`${t}/`);
}

export function planScripts(input: ScriptPlanInput): ScriptPlan {
  const steps: PlannedScript[] = [];
  const files: SandboxFile[] = [];
  const debs = input.packages.filter((p) => p.kind === "deb");
  const rpms = input.packages.filter((p) => p.kind === "rpm");
  for (const p of rpms)
    for (const s of p.scripts)
      if (s.interpreter.trim() === "<lua>")
        throw new UnsupportedScriptError(
          `${p.name}: its %${rpmPhase(s.phase) ?? s.phase} scriptlet is Lua, which cannot run in the script sandbox; install with --no-scripts to skip all scripts`,
        );

  const deb = (p: ScriptPackage, phase: string, args: string[]) => {
    const s = scriptOf(p, phase);
    if (!s) return;
    const name = fileName(p, phase);
    files.push({ name, data: s.body, mode: 0o755 });
    steps.push({
      package: p.name,
      script: phase,
      label: `${p.name} ${phase}`,
      argv: [`${SANDBOX_FILES}/${name}`, ...args],
      env: {
        ...DEB_ENV,
        DPKG_MAINTSCRIPT_PACKAGE: p.name,
        DPKG_MAINTSCRIPT_ARCH: p.arch,
        DPKG_MAINTSCRIPT_NAME: phase,
        DPKG_RUNNING_VERSION: input.dpkgVersion,
      },
    });
  };
  for (const p of debs) deb(p, "preinst", p.oldVersion ? ["upgrade", p.oldVersion] : ["install"]);
  for (const p of debs) deb(p, "postinst", ["configure", p.oldVersion ?? ""]);

  const rpmStep = (
    p: ScriptPackage,
    label: string,
    s: Pick<PackageScript, "interpreter" | "body">,
    args: string[],
    stdin?: string,
  ) => {
    const prog = s.interpreter.trim() ? s.interpreter.trim().split(/\s+/) : ["/bin/sh"];
    let argv = prog;
    if (s.body.trim()) {
      const name = fileName(p, label.replace(/^%/, ""));
      files.push({ name, data: s.body, mode: 0o755 });
      argv = [...prog, `${SANDBOX_FILES}/${name}`, ...args];
    }
    steps.push({
      package: p.name,
      script: label,
      label: `${p.name} ${label}`,
      argv,
      env: { HOME: "/root" },
      stdin,
    });
  };
  const rpmPhaseAll = (phase: string, args: string[]) => {
    for (const p of rpms) {
      const s = scriptOf(p, phase);
      if (s) rpmStep(p, `%${phase}`, s, args);
    }
  };
  const allNew = input.packages.flatMap((p) => p.newPaths.map((x) => (x.startsWith("/") ? x : `/${x}`)));
  const rpmFileTriggers = (kind: string, args: string[]) => {
    for (const p of rpms)
      for (const t of p.triggers.filter((x) => x.kind.replace(/^%/, "") === kind)) {
        const hits = allNew.filter((x) => pathMatches(x, t.condition));
        if (hits.length) rpmStep(p, `%${kind}`, t, args, `${hits.join("\n")}\n`);
      }
  };
  rpmPhaseAll("pretrans", []);
  rpmPhaseAll("pre", ["1"]);
  rpmPhaseAll("post", ["1"]);
  rpmFileTriggers("filetriggerin", ["1", "1"]);
  const newNames = new Set(input.packages.map((p) => p.name));
  for (const p of rpms)
    for (const t of p.triggers.filter((x) => x.kind.replace(/^%/, "") === "triggerin"))
      if (newNames.has(t.condition.trim().split(/[\s<>=]/)[0]!)) rpmStep(p, "%triggerin", t, ["1", "1"]);
  rpmPhaseAll("posttrans", []);
  rpmFileTriggers("transfiletriggerin", ["1"]);

  // deb triggers, once, after every configure.
  const activated = new Set<string>();
  for (const p of input.packages)
    for (const t of p.triggers) if (t.kind.startsWith("activate")) activated.add(t.condition);
  if (allNew.some((x) => SHARED_LIB.test(x))) activated.add("ldconfig");
  const pending = new Map<string, { i: InstalledInterest; names: string[] }>();
  for (const i of input.installed) {
    if (!i.kind.startsWith("interest") || newNames.has(i.package)) continue;
    const hit = i.trigger.startsWith("/")
      ? allNew.some((x) => pathMatches(x, i.trigger))
      : activated.has(i.trigger);
    if (!hit) continue;
    const key = `${i.package}:${i.arch}`;
    const e = pending.get(key) ?? { i, names: [] };
    if (!e.names.includes(i.trigger)) e.names.push(i.trigger);
    pending.set(key, e);
  }
  for (const { i, names } of [...pending.values()].sort((a, b) => (a.i.package < b.i.package ? -1 : 1)))
    steps.push({
      package: i.package,
      script: "postinst triggered",
      label: `${i.package} postinst triggered`,
      argv: [i.postinst, "triggered", names.join(" ")],
      env: {
        ...DEB_ENV,
        DPKG_MAINTSCRIPT_PACKAGE: i.package,
        DPKG_MAINTSCRIPT_ARCH: i.arch,
        DPKG_MAINTSCRIPT_NAME: "postinst",
        DPKG_RUNNING_VERSION: input.dpkgVersion,
      },
    });
  const ldconfigHandled = [...pending.values()].some((e) => e.names.includes("ldconfig"));
  if (activated.has("ldconfig") && !ldconfigHandled && input.hasLdconfig)
    steps.push({
      package: "ldconfig",
      script: "ldconfig",
      label: "ldconfig trigger",
      argv: ["ldconfig"],
      env: {},
    });
  return { steps, files };
}

/** What dpkg and rpm run when these packages are removed (planned only; see the header). */
export function planRemovalScripts(removed: ScriptPackage[], dpkgVersion: string): ScriptPlan {
  const files: SandboxFile[] = [];
  const steps: PlannedScript[] = [];
  const add = (p: ScriptPackage, phase: string, script: PackageScript, args: string[]) => {
    const name = fileName(p, phase);
    files.push({ name, data: script.body, mode: 0o755 });
    const prog = p.kind === "rpm" ? (script.interpreter.trim() || "/bin/sh").split(/\s+/) : [];
    const env =
      p.kind === "deb"
        ? {
            ...DEB_ENV,
            DPKG_MAINTSCRIPT_PACKAGE: p.name,
            DPKG_MAINTSCRIPT_ARCH: p.arch,
            DPKG_MAINTSCRIPT_NAME: phase,
            DPKG_RUNNING_VERSION: dpkgVersion,
          }
        : { HOME: "/root" };
    steps.push({
      package: p.name,
      script: phase,
      label: `${p.name} ${phase}`,
      argv: [...prog, `${SANDBOX_FILES}/${name}`, ...args],
      env,
    });
  };
  for (const [deb, rpm, args] of [
    ["prerm", "preun", ["remove"]],
    ["postrm", "postun", ["remove"]],
  ] as const)
    for (const p of removed) {
      const s = scriptOf(p, p.kind === "deb" ? deb : rpm);
      if (s) add(p, p.kind === "deb" ? deb : `%${rpm}`, s, p.kind === "deb" ? [...args] : ["0"]);
    }
  return { steps, files };
}
