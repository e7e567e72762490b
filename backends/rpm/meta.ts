// Package metadata from the main rpm header: NEVRA, descriptive tags, dependencies, scriptlets and
// triggers, mapped onto the backend-neutral model.
import type { Dep, PackageMeta, RelationKind, Relations, Script, Trigger } from "../../src/packages/model.js";
import type { RpmHeader } from "./header.js";
import { opFromFlags, rpmDep } from "./relations.js";
import { SENSE, TAG } from "./tags.js";

const DEP_TAGS: [RelationKind, number, number, number][] = [
  ["depends", TAG.REQUIRENAME, TAG.REQUIREFLAGS, TAG.REQUIREVERSION],
  ["provides", TAG.PROVIDENAME, TAG.PROVIDEFLAGS, TAG.PROVIDEVERSION],
  ["conflicts", TAG.CONFLICTNAME, TAG.CONFLICTFLAGS, TAG.CONFLICTVERSION],
  ["obsoletes", TAG.OBSOLETENAME, TAG.OBSOLETEFLAGS, TAG.OBSOLETEVERSION],
  ["recommends", TAG.RECOMMENDNAME, TAG.RECOMMENDFLAGS, TAG.RECOMMENDVERSION],
  ["suggests", TAG.SUGGESTNAME, TAG.SUGGESTFLAGS, TAG.SUGGESTVERSION],
  ["supplements", TAG.SUPPLEMENTNAME, TAG.SUPPLEMENTFLAGS, TAG.SUPPLEMENTVERSION],
  ["enhances", TAG.ENHANCENAME, TAG.ENHANCEFLAGS, TAG.ENHANCEVERSION],
];

/** Requires(pre) / Requires(pretrans) must hold before the package is unpacked. */
const PRE_MASK = SENSE.SCRIPT_PRE | SENSE.PRETRANS;
/** Scriptlet qualifiers: legacy PreReq counts as "pre" only when no scriptlet qualifier says otherwise. */
const SCRIPT_MASK =
  SENSE.SCRIPT_PRE |
  SENSE.SCRIPT_POST |
  SENSE.SCRIPT_PREUN |
  SENSE.SCRIPT_POSTUN |
  SENSE.PRETRANS |
  SENSE.POSTTRANS;

/** Whether a Requires entry with these flags is needed before unpacking (deb Pre-Depends). */
export function isPreRequire(flags: number): boolean {
  return (flags & PRE_MASK) !== 0 || ((flags & SENSE.PREREQ) !== 0 && (flags & SCRIPT_MASK) === 0);
}

function sameLength(what: string, ...arrays: (unknown[] | undefined)[]): void {
  const n = arrays[0]?.length ?? 0;
  for (const a of arrays) if (a && a.length !== n) throw new Error(`${what}: tag arrays disagree in length`);
}

export function rpmRelations(h: RpmHeader): Relations {
  const rel: Relations = {};
  for (const [kind, nt, ft, vt] of DEP_TAGS) {
    const names = h.stringArray(nt);
    if (!names) continue;
    const flags = h.ints(ft) ?? [];
    const versions = h.stringArray(vt) ?? [];
    sameLength(
      `${kind} tags`,
      names,
      flags.length ? flags : undefined,
      versions.length ? versions : undefined,
    );
    names.forEach((name, i) => {
      const f = flags[i] ?? 0;
      const dep: Dep = rpmDep(name, f, versions[i] ?? "");
      let k = kind;
      if (kind === "depends" && isPreRequire(f)) k = "pre-depends";
      const list = rel[k] ?? [];
      list.push(dep);
      rel[k] = list;
    });
  }
  return rel;
}

export function rpmMeta(h: RpmHeader): PackageMeta {
  const name = h.string(TAG.NAME);
  const version = h.string(TAG.VERSION);
  const release = h.string(TAG.RELEASE);
  if (!name || version === undefined || release === undefined)
    throw new Error("header lacks NAME, VERSION or RELEASE");
  const desc = h.string(TAG.DESCRIPTION) ?? "";
  const meta: PackageMeta = {
    kind: "rpm",
    name,
    epoch: h.int(TAG.EPOCH) ?? 0,
    version,
    release,
    arch: h.string(TAG.ARCH) ?? "noarch",
    summary: h.string(TAG.SUMMARY) ?? "",
    description: desc,
    relations: rpmRelations(h),
    extra: {},
  };
  const size = h.int(TAG.LONGSIZE) ?? h.int(TAG.SIZE);
  if (size !== undefined) meta.installedSize = Math.ceil(size / 1024);
  const lic = h.string(TAG.LICENSE);
  if (lic !== undefined) meta.license = lic;
  const url = h.string(TAG.URL);
  if (url !== undefined) meta.homepage = url;
  const src = h.string(TAG.SOURCERPM);
  if (src !== undefined) meta.source = src;
  const packager = h.string(TAG.PACKAGER);
  if (packager !== undefined) meta.maintainer = packager;
  const group = h.string(TAG.GROUP);
  if (group !== undefined) meta.section = group;
  const extra = meta.extra as Record<string, string>;
  const put = (k: string, v: string | number | undefined) => {
    if (v !== undefined) extra[k] = String(v);
  };
  put("Vendor", h.string(TAG.VENDOR));
  put("Buildhost", h.string(TAG.BUILDHOST));
  put("Buildtime", h.int(TAG.BUILDTIME));
  put("Size", size);
  put("Payloadformat", h.string(TAG.PAYLOADFORMAT) ?? "cpio");
  put("Payloadcompressor", h.string(TAG.PAYLOADCOMPRESSOR) ?? "gzip");
  put("Payloadflags", h.string(TAG.PAYLOADFLAGS));
  return meta;
}

const SCRIPTS: [string, number, number][] = [
  ["pretrans", TAG.PRETRANS, TAG.PRETRANSPROG],
  ["pre", TAG.PREIN, TAG.PREINPROG],
  ["post", TAG.POSTIN, TAG.POSTINPROG],
  ["preun", TAG.PREUN, TAG.PREUNPROG],
  ["postun", TAG.POSTUN, TAG.POSTUNPROG],
  ["posttrans", TAG.POSTTRANS, TAG.POSTTRANSPROG],
  ["preuntrans", TAG.PREUNTRANS, TAG.PREUNTRANSPROG],
  ["postuntrans", TAG.POSTUNTRANS, TAG.POSTUNTRANSPROG],
  ["verify", TAG.VERIFYSCRIPT, TAG.VERIFYSCRIPTPROG],
];

/** Scriptlets; the interpreter comes from the PROG tag (a string array of argv in modern rpm). */
export function rpmScripts(h: RpmHeader): Script[] {
  const out: Script[] = [];
  for (const [phase, bodyTag, progTag] of SCRIPTS) {
    const body = h.string(bodyTag);
    const prog = h.stringArray(progTag);
    if (body === undefined && !prog) continue;
    out.push({ phase, interpreter: prog ? prog.join(" ") : "/bin/sh", body: body ?? "" });
  }
  return out;
}

function triggerKind(flags: number): string {
  if (flags & SENSE.TRIGGERPREIN) return "prein";
  if (flags & SENSE.TRIGGERIN) return "in";
  if (flags & SENSE.TRIGGERUN) return "un";
  if (flags & SENSE.TRIGGERPOSTUN) return "postun";
  return "in";
}

function triggerSet(
  h: RpmHeader,
  prefix: string,
  tags: { name: number; version: number; flags: number; index: number; scripts: number; prog: number },
): Trigger[] {
  const names = h.stringArray(tags.name);
  if (!names) return [];
  const versions = h.stringArray(tags.version) ?? [];
  const flags = h.ints(tags.flags) ?? [];
  const index = h.ints(tags.index) ?? [];
  const scripts = h.stringArray(tags.scripts) ?? [];
  const progs = h.stringArray(tags.prog) ?? [];
  return names.map((name, i) => {
    const f = flags[i] ?? 0;
    const op = opFromFlags(f);
    const condition = op && versions[i] ? `${name} ${op} ${versions[i]}` : name;
    const kind = `${prefix}${triggerKind(f)}`;
    const ix = index[i];
    const t: Trigger = { kind, condition };
    if (ix !== undefined && ix < scripts.length)
      t.script = { phase: kind, interpreter: progs[ix] ?? "/bin/sh", body: scripts[ix] };
    return t;
  });
}

export function rpmTriggers(h: RpmHeader): Trigger[] {
  return [
    ...triggerSet(h, "trigger", {
      name: TAG.TRIGGERNAME,
      version: TAG.TRIGGERVERSION,
      flags: TAG.TRIGGERFLAGS,
      index: TAG.TRIGGERINDEX,
      scripts: TAG.TRIGGERSCRIPTS,
      prog: TAG.TRIGGERSCRIPTPROG,
    }),
    ...triggerSet(h, "filetrigger", {
      name: TAG.FILETRIGGERNAME,
      version: TAG.FILETRIGGERVERSION,
      flags: TAG.FILETRIGGERFLAGS,
      index: TAG.FILETRIGGERINDEX,
      scripts: TAG.FILETRIGGERSCRIPTS,
      prog: TAG.FILETRIGGERSCRIPTPROG,
    }),
    ...triggerSet(h, "transfiletrigger", {
      name: TAG.TRANSFILETRIGGERNAME,
      version: TAG.TRANSFILETRIGGERVERSION,
      flags: TAG.TRANSFILETRIGGERFLAGS,
      index: TAG.TRANSFILETRIGGERINDEX,
      scripts: TAG.TRANSFILETRIGGERSCRIPTS,
      prog: TAG.TRANSFILETRIGGERSCRIPTPROG,
    }),
  ];
}
