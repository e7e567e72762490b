// A small RPM world for the layering end-to-end tests, built by rpmbuild from specs written here
// (noarch, nothing compiled): a base to install with `rpm --root`, layered packages for a
// createrepo_c repository, and the dnf oracle against both.
//
// The base needs a working /bin/sh, since rpm runs scriptlets with it: tso-shell carries the host's
// dash with its libc and loader (a noarch package holding x86_64 binaries, which is all a test needs).
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { type DnfEntry, dnfAssumeNo } from "../backends/rpm/dnf-oracle.js";
import { gpgTestKey, run, sh } from "../helpers.js";

/** Where the base's rpmdb lives in an ostree-ready tree (and where `rpm --root` is told to put it). */
export const RPM_DBPATH = "/usr/lib/sysimage/rpm";

export interface RpmWorld {
  /** tso-filesystem, tso-shell, tso-libfoo, tso-release, tso-kernel (1.0-1). */
  base: string[];
  /** tso-hello 1.0-1: /usr/bin/tso-hello, requires tso-libfoo and tso-greeting. */
  hello: string;
  /** tso-greeting 1.0-1: %config(noreplace) /etc/tso-greeting.conf, %pre/%post/%postun. */
  greeting: string;
  /** tso-bad 1.0-1: its %post exits 1. */
  bad: string;
  /** tso-hello 2.0-1, for an upgrade repository. */
  hello2: string;
}

const DIRS: [string, string][] = [
  ["boot", "0755"],
  ["dev", "0755"],
  ["etc", "0755"],
  ["home", "0755"],
  ["media", "0755"],
  ["mnt", "0755"],
  ["opt", "0755"],
  ["proc", "0555"],
  ["root", "0700"],
  ["run", "0755"],
  ["srv", "0755"],
  ["sys", "0555"],
  ["tmp", "1777"],
  ["usr", "0755"],
  ["usr/bin", "0755"],
  ["usr/sbin", "0755"],
  ["usr/lib", "0755"],
  ["usr/lib64", "0755"],
  ["usr/lib/modules", "0755"],
  ["usr/share", "0755"],
  ["var", "0755"],
  ["var/cache", "0755"],
  ["var/lib", "0755"],
  ["var/log", "0755"],
  ["var/tmp", "1777"],
];
const LINKS: [string, string][] = [
  ["bin", "usr/bin"],
  ["sbin", "usr/sbin"],
  ["lib", "usr/lib"],
  ["lib64", "usr/lib64"],
];

/** The host files that make /usr/bin/sh run in the tree: [host path, path in the tree]. */
function shellFiles(): [string, string][] {
  const ldd = sh("ldd", ["/usr/bin/dash"]);
  const libc = /libc\.so\.6 => (\S+)/.exec(ldd)?.[1];
  const loader = /^\s*(\/\S*ld-linux\S*)/m.exec(ldd)?.[1];
  if (!libc || !loader) throw new Error(`cannot find dash's libc and loader in ldd's output: ${ldd}`);
  // The loader at the path dash asks for; libc where that loader looks without an ld.so.cache.
  return [
    ["/usr/bin/dash", "/usr/bin/sh"],
    [libc, "/usr/lib/libc.so.6"],
    [loader, `/usr/lib64/${basename(loader)}`],
  ];
}

function pkg(name: string, preamble: string, files: string, scripts = ""): string {
  return `%package -n ${name}\nSummary: ${name} for tsostree tests\nAutoReqProv: no\n${preamble}\n%description -n ${name}\n${name}.\n${scripts}\n%files -n ${name}\n${files}\n`;
}

function worldSpec(): string {
  const shell = shellFiles();
  const install = [
    ...DIRS.map(([d]) => `mkdir -p %{buildroot}/${d}`),
    ...LINKS.map(([l, t]) => `ln -s ${t} %{buildroot}/${l}`),
    "printf 'root:x:0:0:root:/root:/usr/bin/sh\\n' > %{buildroot}/etc/passwd",
    "printf 'root:x:0:\\n' > %{buildroot}/etc/group",
    ...shell.map(([from, to]) => `cp -L ${from} %{buildroot}${to}`),
    "printf '#!/usr/bin/sh\\necho tso-sh \"$@\"\\n' > %{buildroot}/usr/bin/tso-sh",
    "chmod 755 %{buildroot}/usr/bin/tso-sh",
    "echo 'fake libfoo 1.0' > %{buildroot}/usr/lib64/libfoo.so.1",
    "mkdir -p %{buildroot}/etc/yum.repos.d",
    `printf 'NAME="tsostree test"\\nID=tsotest\\nVERSION_ID=1\\nPRETTY_NAME="tsostree test 1"\\n' > %{buildroot}/usr/lib/os-release`,
    "ln -s ../usr/lib/os-release %{buildroot}/etc/os-release",
    "mkdir -p %{buildroot}/usr/lib/modules/6.1.0-tso",
    "echo KERNEL > %{buildroot}/usr/lib/modules/6.1.0-tso/vmlinuz",
    "echo INITRD > %{buildroot}/usr/lib/modules/6.1.0-tso/initramfs.img",
    helloInstall("1.0"),
    "echo Hello > %{buildroot}/etc/tso-greeting.conf",
    "mkdir -p %{buildroot}/usr/share/tso-greeting %{buildroot}/usr/share/tso-bad",
    "echo 'tso-greeting data' > %{buildroot}/usr/share/tso-greeting/README",
    "echo 'tso-bad data' > %{buildroot}/usr/share/tso-bad/README",
  ];
  return [
    "Name: tso-world\nVersion: 1.0\nRelease: 1\nSummary: tsostree test world\nLicense: MIT\nBuildArch: noarch",
    "%description\ntsostree test world.",
    pkg(
      "tso-filesystem",
      "",
      [
        ...DIRS.map(([d, m]) => `%dir %attr(${m},root,root) /${d}`),
        ...LINKS.map(([l]) => `/${l}`),
        "%config(noreplace) /etc/passwd",
        "%config(noreplace) /etc/group",
      ].join("\n"),
    ),
    pkg("tso-shell", "Provides: /bin/sh", ["/usr/bin/tso-sh", ...shell.map(([, to]) => to)].join("\n")),
    pkg("tso-libfoo", "Provides: libfoo.so.1()(64bit)", "/usr/lib64/libfoo.so.1"),
    pkg("tso-release", "", "/usr/lib/os-release\n/etc/os-release\n%dir /etc/yum.repos.d"),
    pkg("tso-kernel", "", "/usr/lib/modules/6.1.0-tso"),
    pkg("tso-hello", "Requires: tso-libfoo\nRequires: tso-greeting", "/usr/bin/tso-hello"),
    pkg(
      "tso-greeting",
      "",
      "%config(noreplace) /etc/tso-greeting.conf\n%dir /usr/share/tso-greeting\n/usr/share/tso-greeting/README",
      [
        "%pre -n tso-greeting",
        'echo "tso-greeting pre $1"',
        "%post -n tso-greeting",
        'echo "tso-greeting post $1" > /usr/share/tso-greeting/post-ran',
        "if command -v useradd >/dev/null 2>&1; then",
        "  useradd -r -M -d /usr/share/tso-greeting -s /usr/sbin/nologin tsogreet",
        "else",
        '  echo "tso-greeting: no useradd in this tree, user tsogreet not added"',
        "fi",
        "%postun -n tso-greeting",
        'echo "tso-greeting postun $1"',
      ].join("\n"),
    ),
    pkg(
      "tso-bad",
      "",
      "%dir /usr/share/tso-bad\n/usr/share/tso-bad/README",
      '%post -n tso-bad\necho "tso-bad: %post fails on purpose" >&2\nexit 1',
    ),
    `%install\n${install.join("\n")}\n`,
  ].join("\n");
}

function helloInstall(version: string): string {
  return [
    "mkdir -p %{buildroot}/usr/bin",
    `printf '#!/usr/bin/sh\\nread -r greeting < /etc/tso-greeting.conf\\necho "$greeting from tso-hello ${version}"\\n' > %{buildroot}/usr/bin/tso-hello`,
    "chmod 755 %{buildroot}/usr/bin/tso-hello",
  ].join("\n");
}

function hello2Spec(): string {
  return [
    "Name: tso-hello\nVersion: 2.0\nRelease: 1\nSummary: tso-hello for tsostree tests\nLicense: MIT\nBuildArch: noarch",
    "AutoReqProv: no\nRequires: tso-libfoo\nRequires: tso-greeting >= 1.0",
    "%description\ntso-hello 2.0.",
    `%install\n${helloInstall("2.0")}`,
    "%files\n/usr/bin/tso-hello\n",
  ].join("\n");
}

/** rpmbuild -bb of one spec, fast: gzip level 1, no strip, no build-id links; returns the rpms. */
export function rpmbuild(dir: string, name: string, spec: string): string[] {
  const specPath = join(dir, `${name}.spec`);
  writeFileSync(specPath, spec);
  const out = join(dir, "rpms", name);
  const defs = [
    `_topdir ${join(dir, "rpmbuild", name)}`,
    `_rpmdir ${out}`,
    "_binary_payload w1.gzdio",
    "__os_install_post %{nil}",
    "_binaries_in_noarch_packages_terminate_build 0",
    "_build_id_links none",
    "debug_package %{nil}",
  ];
  sh("rpmbuild", ["-bb", "--quiet", ...defs.flatMap((d) => ["--define", d]), specPath]);
  const noarch = join(out, "noarch");
  return readdirSync(noarch)
    .sort()
    .map((f) => join(noarch, f));
}

let world: RpmWorld | undefined;

/** The world's rpms, built on first use and kept for the rest of this test process. */
export function rpmWorld(): RpmWorld {
  if (world) return world;
  const dir = mkdtempSync(join(process.env.TSOSTREE_TEST_TMP ?? tmpdir(), "tsostree-rpm-world-"));
  if (!process.env.KEEP_TMP) process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const rpms = rpmbuild(dir, "tso-world", worldSpec());
  const find = (name: string) => {
    const f = rpms.find((p) => basename(p).startsWith(`${name}-1.0-1.`));
    if (!f) throw new Error(`rpmbuild made no ${name} in ${dir}`);
    return f;
  };
  const [hello2] = rpmbuild(dir, "tso-hello-2", hello2Spec());
  world = {
    base: ["tso-filesystem", "tso-shell", "tso-libfoo", "tso-release", "tso-kernel"].map(find),
    hello: find("tso-hello"),
    greeting: find("tso-greeting"),
    bad: find("tso-bad"),
    hello2,
  };
  return world;
}

/**
 * Installs the base into TREE (created if missing) the way an image build does it without a
 * package manager: `rpm --root=TREE --dbpath=/usr/lib/sysimage/rpm -i --nodeps --noscripts`.
 * Works unprivileged too (rpm then leaves the files owned by the caller); `uid` runs rpm as that
 * user (and group) through setpriv, for root to prove it. Returns TREE.
 */
export function makeRpmBase(
  tree: string,
  rpms: string[] = rpmWorld().base,
  opts: { uid?: number } = {},
): string {
  mkdirSync(tree, { recursive: true });
  const rpm = ["rpm", `--root=${tree}`, `--dbpath=${RPM_DBPATH}`, "-i", "--nodeps", "--noscripts", ...rpms];
  const argv =
    opts.uid === undefined
      ? rpm
      : ["setpriv", `--reuid=${opts.uid}`, `--regid=${opts.uid}`, "--clear-groups", ...rpm];
  const r = run(argv[0], argv.slice(1));
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (${r.status}): ${r.stderr}`);
  return tree;
}

export interface RpmRepo {
  /** The repository directory (holds the rpms and repodata/). */
  root: string;
  /** The repo id, e.g. the section name of `repoFile`. */
  id: string;
  /** `[ID]` section with baseurl=file://ROOT: gpgcheck=0, or repo_gpgcheck=1 with `keyFile`. */
  repoFile: string;
  /** Armored public key that signed repodata/repomd.xml.asc (when signed). */
  keyFile?: string;
}

/**
 * Copies the rpms into DIR/ID and runs createrepo_c there. With `sign`, repomd.xml gets a detached
 * signature by a throwaway key and the .repo asks for it (repo_gpgcheck=1).
 */
export function makeRpmRepo(
  dir: string,
  rpms: string[],
  opts: { id?: string; sign?: boolean } = {},
): RpmRepo {
  const id = opts.id ?? "tsostree-test";
  const root = join(dir, id);
  mkdirSync(root, { recursive: true });
  for (const rpm of rpms) copyFileSync(rpm, join(root, basename(rpm)));
  sh("createrepo_c", ["-q", root]);
  const head = `[${id}]\nname=tsostree test ${id}\nbaseurl=file://${root}\nenabled=1\ngpgcheck=0\n`;
  if (!opts.sign) return { root, id, repoFile: head };
  const env = gpgTestKey(mkdtempSync(join(dir, "gpg-")), "tsostree rpm e2e <e2e@example.org>");
  const keyFile = join(dir, `${id}.asc`);
  sh("gpg", ["--batch", "--yes", "--armor", "--output", keyFile, "--export"], { env });
  const repomd = join(root, "repodata/repomd.xml");
  sh("gpg", ["--batch", "--yes", "--armor", "--detach-sign", "--output", `${repomd}.asc`, repomd], { env });
  return { root, id, keyFile, repoFile: `${head}repo_gpgcheck=1\ngpgkey=file://${keyFile}\n` };
}

/** Writes `repo` as ETC/yum.repos.d/ID.repo (ETC: a tree's `etc`, `usr/etc` or a deployment's `etc`). */
export function installRpmRepo(etc: string, repo: RpmRepo): void {
  mkdirSync(join(etc, "yum.repos.d"), { recursive: true });
  writeFileSync(join(etc, "yum.repos.d", `${repo.id}.repo`), repo.repoFile);
}

/**
 * What `dnf install PACKAGES` would install on TREE (its rpmdb under /usr/lib/sysimage/rpm) with
 * `repos` as the only repositories. dnf writes logs and caches into its installroot, so it runs on
 * a scratch root holding a copy of the rpmdb; %_dbpath reaches it through a HOME of its own.
 * Throws with dnf's output when dnf cannot resolve the request or would remove something.
 */
export function dnfSimulateInstall(o: {
  tree: string;
  repos: RpmRepo[];
  packages: string[];
  /** Scratch directory for dnf (default: a temporary one, removed afterwards). */
  workDir?: string;
}): DnfEntry[] {
  const dir = mkdtempSync(join(o.workDir ?? process.env.TSOSTREE_TEST_TMP ?? tmpdir(), "dnf-sim-"));
  try {
    return dnfInstallIn(dir, o);
  } finally {
    if (!o.workDir && !process.env.KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  }
}

function dnfInstallIn(dir: string, o: { tree: string; repos: RpmRepo[]; packages: string[] }): DnfEntry[] {
  const root = join(dir, "root");
  mkdirSync(join(root, RPM_DBPATH), { recursive: true });
  for (const f of readdirSync(join(o.tree, RPM_DBPATH)))
    if (f.startsWith("rpmdb.sqlite")) copyFileSync(join(o.tree, RPM_DBPATH, f), join(root, RPM_DBPATH, f));
  mkdirSync(join(dir, "home"));
  writeFileSync(join(dir, "home/.rpmmacros"), `%_dbpath ${RPM_DBPATH}\n`);
  mkdirSync(join(dir, "repos.d"));
  for (const repo of o.repos) writeFileSync(join(dir, "repos.d", `${repo.id}.repo`), repo.repoFile);
  const conf = join(dir, "dnf.conf");
  writeFileSync(conf, `[main]\nreposdir=${join(dir, "repos.d")}\ngpgcheck=0\ninstall_weak_deps=True\n`);
  const r = dnfAssumeNo(conf, root, o.packages, [`--setopt=cachedir=${join(dir, "cache")}`], {
    ...process.env,
    HOME: join(dir, "home"),
  });
  // --assumeno makes dnf exit 1 with "Operation aborted" when there was a transaction to make.
  if (r.install.length === 0 || r.remove.length > 0 || !/Operation aborted/.test(r.output))
    throw new Error(`dnf --assumeno install ${o.packages.join(" ")} (exit ${r.status}):\n${r.output}`);
  return r.install;
}
