// The dpkg database writer against dpkg itself: the same packages installed by the real
// `dpkg --root=R -i` and written by us from the same .debs must give the same status file and info/
// files, and dpkg-query and dpkg --audit must read ours as they read dpkg's.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  dpkgInfoFiles,
  dpkgInfoNames,
  dpkgStatusInstall,
  dpkgStatusRemove,
} from "../../../backends/deb/dpkg-db-write.js";
import { debBackend, parseDeb822 } from "../../../backends/deb/index.js";
import { haveTools, projectRoot, run, scratch, sh, skipOrFail } from "../../helpers.js";
import { buildDeb, craftDeb, demoTree } from "./build.js";

const DEBS = join(projectRoot, "fixtures/out/debs");
/** Real packages without maintainer scripts (dpkg runs them; these have none to run on the host). */
const PLAIN = ["strace", "libunwind8", "liblzma5", "gcc-12-base", "libgcc-s1"];
/** Real packages with conffiles, templates, shlibs, symbols and scripts: repacked with scripts that do nothing. */
const SCRIPTED = ["logrotate", "libc6"];

function fixture(name: string): string | undefined {
  const f = existsSync(DEBS) ? readdirSync(DEBS).find((n) => n.startsWith(`${name}_`)) : undefined;
  return f && join(DEBS, f);
}

/** The same .deb with every maintainer script replaced by `exit 0`: dpkg --root runs them on the host. */
function neutralized(deb: string, dir: string): string {
  const tree = join(dir, `tree-${deb.split("/").pop()}`);
  sh("dpkg-deb", ["-R", deb, tree]);
  for (const s of ["preinst", "postinst", "prerm", "postrm", "config"]) {
    const p = join(tree, "DEBIAN", s);
    if (existsSync(p)) {
      writeFileSync(p, "#!/bin/sh\nexit 0\n");
      chmodSync(p, 0o755);
    }
  }
  const out = join(dir, `neutral-${deb.split("/").pop()}`);
  sh("dpkg-deb", ["-Zgzip", "-z1", "-b", tree, out]);
  return out;
}

/** The real dpkg on a scratch root: scripts (neutral here) run outside a chroot, triggers left alone. */
function dpkgAt(root: string, args: string[]): void {
  sh("dpkg", [
    "--force-not-root",
    "--force-depends",
    "--force-script-chrootless",
    "--no-triggers",
    `--root=${root}`,
    ...args,
  ]);
}

function emptyAdmindir(root: string): string {
  const admin = join(root, "var/lib/dpkg");
  for (const d of ["info", "updates", "triggers"]) mkdirSync(join(admin, d), { recursive: true });
  writeFileSync(join(admin, "status"), "");
  return admin;
}

function md5(b: Buffer): string {
  return createHash("md5").update(b).digest("hex");
}

interface Read {
  name: string;
  arch: string;
  multiArch?: string;
  members: [string, Buffer][];
  paths: string[];
  md5s: [string, string][];
  conffiles: string[];
}

/** What layering has of a package: its control members and its payload's paths and digests. */
async function readDeb(deb: string): Promise<Read> {
  const o = await debBackend.open(deb);
  const paths = ["/."];
  const md5s: [string, string][] = [];
  for await (const e of o.payload()) {
    paths.push(e.file.path);
    if (e.file.type === "file") {
      const parts: Buffer[] = [];
      if (Buffer.isBuffer(e.data)) parts.push(e.data);
      else if (e.data) for await (const c of e.data) parts.push(c);
      md5s.push([e.file.path, md5(Buffer.concat(parts))]);
    }
  }
  const i = o.info;
  return {
    name: i.name,
    arch: i.arch,
    multiArch: i.multiArch,
    members: i.native!.controlFiles!,
    paths,
    md5s,
    conffiles: i.conffiles,
  };
}

function writeOurs(admin: string, pkgs: Read[]): void {
  for (const d of ["info", "updates"]) mkdirSync(join(admin, d), { recursive: true });
  writeFileSync(join(admin, "info/format"), "1\n");
  const status = dpkgStatusInstall(
    Buffer.alloc(0),
    pkgs.map((p) => {
      const sums = new Map(p.md5s);
      return {
        control: p.members.find(([n]) => n === "control")![1],
        conffiles: p.conffiles.map((path) => ({ path, md5: sums.get(path)! })),
      };
    }),
  );
  writeFileSync(join(admin, "status"), status);
  for (const p of pkgs)
    for (const [name, f] of dpkgInfoFiles({
      name: p.name,
      arch: p.arch,
      multiArch: p.multiArch,
      controlMembers: p.members,
      paths: p.paths,
      md5s: p.md5s,
    })) {
      writeFileSync(join(admin, "info", name), f.data);
      chmodSync(join(admin, "info", name), f.mode);
    }
}

function query(admin: string, args: string[]): string {
  const r = run("dpkg-query", [`--admindir=${admin}`, ...args]);
  assert.equal(r.status, 0, `dpkg-query ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

function infoListing(admin: string): Map<string, string> {
  const dir = join(admin, "info");
  return new Map(
    readdirSync(dir)
      .filter((n) => n !== "format")
      .sort()
      .map((n) => [
        n,
        `${(statSync(join(dir, n)).mode & 0o777).toString(8)} ${md5(readFileSync(join(dir, n)))}`,
      ]),
  );
}

test("dpkg's own admindir and ours, from the same .debs, read the same", async (t) => {
  if (!haveTools(t, "dpkg", "dpkg-deb", "dpkg-query")) return;
  const real = [...PLAIN, ...SCRIPTED].map((n) => [n, fixture(n)] as const);
  const missing = real.filter(([, f]) => !f).map(([n]) => n);
  if (missing.length)
    return skipOrFail(t, `missing ${missing.join(", ")}: run fixtures/fetch-debian-packages.sh`);
  const dir = scratch(t);
  demoTree(dir);
  // A package without md5sums: dpkg writes one from what it unpacked, and so do we.
  const bare = join(dir, "crafted.deb");
  writeFileSync(
    bare,
    await craftDeb([
      { name: "./", type: "directory" },
      { name: "./usr/", type: "directory" },
      { name: "./usr/share/", type: "directory" },
      { name: "./usr/share/crafted", content: "no md5sums\n" },
    ]),
  );
  const debs = [
    buildDeb(dir, "xz"),
    bare,
    ...real.map(([n, f]) => (SCRIPTED.includes(n) ? neutralized(f!, dir) : f!)),
  ];
  const root = join(dir, "root");
  const theirs = emptyAdmindir(root);
  dpkgAt(root, ["-i", ...debs]);
  const ours = join(dir, "ours");
  const pkgs = await Promise.all(debs.map(readDeb));
  writeOurs(ours, pkgs);

  assert.equal(readFileSync(join(ours, "status"), "utf8"), readFileSync(join(theirs, "status"), "utf8"));
  assert.deepEqual(infoListing(ours), infoListing(theirs), "info/: same files, modes and contents");
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
  const fmt = ["-W", "-f=${binary:Package} ${Status} ${Version}\\n"];
  assert.equal(query(ours, fmt), query(theirs, fmt));
  assert.match(query(ours, ["-W", "strace"]), /^strace\t6\.1-0\.1\n$/);
  for (const p of pkgs) {
    const id = p.multiArch === "same" ? `${p.name}:${p.arch}` : p.name;
    assert.equal(query(ours, ["-s", id]), query(theirs, ["-s", id]), `dpkg-query -s ${id}`);
    assert.equal(query(ours, ["-L", id]), query(theirs, ["-L", id]), `dpkg-query -L ${id}`);
  }
  const audit = run("dpkg", [`--admindir=${ours}`, "--audit"]);
  assert.equal(audit.status, 0, audit.stderr);
  assert.equal(audit.stdout, "", "dpkg --audit finds nothing to say");
  const verify = run("dpkg", [`--admindir=${ours}`, `--root=${root}`, "--verify", "strace"]);
  assert.equal(verify.status, 0, `dpkg --verify on our md5sums: ${verify.stdout}${verify.stderr}`);

  // Purging with dpkg and removing with us leave the same database.
  const gone = pkgs.filter((p) => p.name === "logrotate" || p.name === "liblzma5");
  dpkgAt(root, ["-P", ...gone.map((p) => p.name)]);
  const status = dpkgStatusRemove(
    readFileSync(join(ours, "status")),
    gone.map((p) => ({ name: p.name })),
  );
  assert.equal(status.toString("utf8"), readFileSync(join(theirs, "status"), "utf8"));
  const left = readdirSync(join(ours, "info"));
  const removed = new Set(gone.flatMap((p) => dpkgInfoNames(p.name, p.arch, p.multiArch, left)));
  assert.ok(removed.has("liblzma5:amd64.list") && removed.has("logrotate.conffiles"));
  assert.deepEqual(left.filter((n) => !removed.has(n)).sort(), readdirSync(join(theirs, "info")).sort());
});

test("an installed package is replaced, a Multi-Arch: same one of another arch is not", () => {
  const ctl = (v: string, arch: string, ma = "same") =>
    Buffer.from(`Package: libx\nVersion: ${v}\nArchitecture: ${arch}\nMulti-Arch: ${ma}\nDescription: x\n`);
  let s = dpkgStatusInstall(Buffer.alloc(0), [
    { control: ctl("1", "amd64"), conffiles: [] },
    { control: ctl("1", "i386"), conffiles: [] },
    { control: Buffer.from("Package: a\nVersion: 0:1\nArchitecture: all\nDescription: a\n"), conffiles: [] },
  ]);
  s = dpkgStatusInstall(s, [{ control: ctl("2", "amd64"), conffiles: [] }]);
  const text = s.toString();
  assert.deepEqual(
    parseDeb822(text).map((x) => `${x.Package} ${x.Architecture} ${x.Version}`),
    ["a all 1", "libx amd64 2", "libx i386 1"],
  );
  assert.ok(text.endsWith("\n\n"));
  assert.equal(
    dpkgStatusRemove(s, [{ name: "libx", arch: "i386" }])
      .toString()
      .match(/^Package:/gm)?.length,
    2,
  );
});

test("on debootstrap's status file, ours is the file dpkg writes when it installs the same packages", async (t) => {
  if (!haveTools(t, "dpkg")) return;
  const base = join(projectRoot, "fixtures/out/minbase/var/lib/dpkg/status");
  const debs = ["strace", "libunwind8"].map(fixture);
  if (!existsSync(base) || debs.includes(undefined))
    return skipOrFail(t, "missing fixtures: run fixtures/minbase.sh and fixtures/fetch-debian-packages.sh");
  const root = scratch(t);
  const admin = emptyAdmindir(root);
  writeFileSync(join(admin, "status"), readFileSync(base));
  dpkgAt(root, ["-i", ...(debs as string[])]);
  const pkgs = await Promise.all((debs as string[]).map(readDeb));
  const ours = dpkgStatusInstall(
    readFileSync(base),
    pkgs.map((p) => ({ control: p.members.find(([n]) => n === "control")![1], conffiles: [] })),
  );
  assert.ok(ours.equals(readFileSync(join(admin, "status"))), "byte for byte");
});
