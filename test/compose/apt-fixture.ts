// A signed local apt repository for the layering end-to-end tests: Debian's dists layout (suite
// `tsostree`, component `main`, binary-amd64 with arch:all as Debian does, plus binary-all), indexes
// by apt-ftparchive, InRelease signed with a throwaway GnuPG key; the oracle `apt-get -s install`
// against it; and ways to spoil it after signing.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  type AptSimEntry,
  aptGetSimulate,
  clearsignRelease,
  writeRelease,
} from "../backends/deb/apt-oracle.js";
import { craftDeb, type TarEntry } from "../backends/deb/build.js";
import { gpgTestKey, sh } from "../helpers.js";

export const APT_SUITE = "tsostree";
export const APT_COMPONENT = "main";
const ARCHS = ["amd64", "all"];

export interface AptRepo {
  /** The repository's top directory (holds dists/ and pool/). */
  root: string;
  /** `file:///…` of `root`, as a sources entry names it. */
  uri: string;
  /** Binary OpenPGP keyring with the signing key, for Signed-By. */
  keyring: string;
  /** A deb822 .sources stanza for this repository, Signed-By the host path of `keyring`. */
  sourcesEntry: string;
  /** The GnuPG environment holding the secret key (to re-sign after a change). */
  gpgEnv: NodeJS.ProcessEnv;
}

export interface AptRepoOptions {
  /** Sign with this GnuPG environment's key instead of making a new one (e.g. one key, two repos). */
  gpgEnv?: NodeJS.ProcessEnv;
}

/** The deb822 stanza for `repo`, its key named by `signedBy` (a path as the reader of the file sees it). */
export function aptSourcesEntry(repo: Pick<AptRepo, "uri">, signedBy: string): string {
  return `Types: deb\nURIs: ${repo.uri}\nSuites: ${APT_SUITE}\nComponents: ${APT_COMPONENT}\nSigned-By: ${signedBy}\n`;
}

/**
 * Builds a signed repository under DIR/apt-repo from the given .deb files (copied into the pool, so
 * spoiling the repository never touches the originals).
 */
export function makeAptRepo(dir: string, debs: string[], opts: AptRepoOptions = {}): AptRepo {
  const root = join(dir, "apt-repo");
  const pool = join(root, "pool", APT_COMPONENT);
  mkdirSync(pool, { recursive: true });
  for (const deb of debs) copyFileSync(deb, join(pool, basename(deb)));
  writeIndexes(root);
  const gpgEnv = opts.gpgEnv ?? gpgTestKey(mkdtempSync(join(dir, "gpg-")), "tsostree e2e <e2e@example.org>");
  const keyring = join(dir, "apt-repo.gpg");
  sh("gpg", ["--batch", "--yes", "--output", keyring, "--export"], { env: gpgEnv });
  signAptRepo(root, gpgEnv);
  const uri = `file://${root}`;
  return { root, uri, keyring, sourcesEntry: aptSourcesEntry({ uri }, keyring), gpgEnv };
}

/** Packages and Packages.gz per architecture, from one apt-ftparchive scan of the pool. */
function writeIndexes(root: string): void {
  const stanzas = sh("apt-ftparchive", ["packages", "pool"], { cwd: root })
    .split(/\n\n+/)
    .filter((s) => s.trim());
  for (const arch of ARCHS) {
    const text = stanzas
      .filter((s) => {
        const a = /^Architecture: (\S+)$/m.exec(s)?.[1];
        return a === arch || (a === "all" && arch !== "all");
      })
      .map((s) => `${s}\n`)
      .join("\n");
    writePackages(root, arch, text);
  }
}

function packagesPath(root: string, arch: string): string {
  return join(root, "dists", APT_SUITE, APT_COMPONENT, `binary-${arch}`, "Packages");
}

function writePackages(root: string, arch: string, text: string): void {
  const path = packagesPath(root, arch);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  writeFileSync(`${path}.gz`, gzipSync(text, { level: 9 }));
}

/** (Re)writes Release from the indexes as they are now and signs it into InRelease. */
export function signAptRepo(root: string, gpgEnv: NodeJS.ProcessEnv): void {
  writeRelease(
    root,
    [
      "APT::FTPArchive::Release::Origin=tsostree",
      "APT::FTPArchive::Release::Label=tsostree",
      `APT::FTPArchive::Release::Codename=${APT_SUITE}`,
      `APT::FTPArchive::Release::Components=${APT_COMPONENT}`,
      `APT::FTPArchive::Release::Architectures=${ARCHS.join(" ")}`,
    ],
    undefined,
    APT_SUITE,
  );
  clearsignRelease(root, gpgEnv, APT_SUITE);
}

/**
 * Writes `repo`'s key to ETC/apt/keyrings/tsostree-test.gpg and its source to
 * ETC/apt/sources.list.d/tsostree-test.sources, Signed-By the in-tree path: ETC is a tree's `etc`,
 * a composed tree's `usr/etc` or a deployment's `etc`.
 */
export function installAptSource(etc: string, repo: AptRepo): void {
  mkdirSync(join(etc, "apt/keyrings"), { recursive: true });
  mkdirSync(join(etc, "apt/sources.list.d"), { recursive: true });
  copyFileSync(repo.keyring, join(etc, "apt/keyrings/tsostree-test.gpg"));
  writeFileSync(
    join(etc, "apt/sources.list.d/tsostree-test.sources"),
    aptSourcesEntry(repo, "/etc/apt/keyrings/tsostree-test.gpg"),
  );
}

export type AptTamper =
  /** One byte of the package's .deb flipped: its size is right, its SHA256 is not. */
  | "deb-byte"
  /** The package's SHA256 in Packages changed. */
  | "packages-sha256"
  /** The package's Size in Packages changed. */
  | "packages-size";

/**
 * Spoils `repo` after signing, for one package (default: the first in the pool). The Packages
 * changes leave Release as signed (so the index's hash no longer matches) unless `resign`, which
 * re-signs with the repository's own key: then the metadata verifies and only the fetched .deb can
 * catch the lie. Returns the file changed.
 */
export function tamperAptRepo(
  repo: AptRepo,
  how: AptTamper = "deb-byte",
  opts: { pkg?: string; resign?: boolean } = {},
): string {
  const amd64 = readFileSync(packagesPath(repo.root, "amd64"), "utf8");
  const stanzas = amd64.split(/\n\n+/).filter((s) => s.trim());
  const stanza = opts.pkg ? stanzas.find((s) => s.startsWith(`Package: ${opts.pkg}\n`)) : stanzas[0];
  if (!stanza) throw new Error(`tamperAptRepo: no package ${opts.pkg} in ${repo.root}`);
  const filename = /^Filename: (.+)$/m.exec(stanza)?.[1] ?? "";
  if (how === "deb-byte") {
    const path = join(repo.root, filename);
    const buf = readFileSync(path);
    // The middle of a .deb is inside its biggest member, data.tar: the ar framing stays valid.
    buf[buf.length >> 1] ^= 0xff;
    writeFileSync(path, buf);
    return path;
  }
  const spoiled =
    how === "packages-sha256"
      ? stanza.replace(
          /^SHA256: (\S+)$/m,
          (_, h: string) => `SHA256: ${h.replace(/^./, (c) => (c === "0" ? "1" : "0"))}`,
        )
      : stanza.replace(/^Size: (\d+)$/m, (_, n: string) => `Size: ${Number(n) + 1}`);
  for (const arch of ARCHS) {
    const text = readFileSync(packagesPath(repo.root, arch), "utf8");
    if (text.includes(stanza)) writePackages(repo.root, arch, text.replace(stanza, spoiled));
  }
  if (opts.resign) signAptRepo(repo.root, repo.gpgEnv);
  return packagesPath(repo.root, "amd64");
}

/**
 * A .deb (package `crafted`) whose data.tar writes outside the tree through `..`; for other tricks
 * build the entries yourself with test/backends/deb/build.ts `craftDeb` (see hostile.test.ts).
 */
export async function hostileDeb(dir: string, entries?: TarEntry[]): Promise<string> {
  const path = join(dir, "crafted_1.0_all.deb");
  const data = entries ?? [
    { name: "./", type: "directory" },
    { name: "./usr/", type: "directory" },
    { name: "./usr/../../etc/passwd", content: "owned:x:0:0::/:/bin/sh\n" },
  ];
  writeFileSync(path, await craftDeb(data));
  return path;
}

/**
 * What `apt-get -s install PACKAGES` would install on a system with `dpkgStatus`, with `repo` as its
 * only source; sorted by name. Throws with apt's output when apt cannot resolve it.
 */
export function aptGetSimulateInstall(o: {
  dpkgStatus: string;
  repo: AptRepo;
  packages: string[];
  /** Scratch directory for apt's state (default: a new one next to the repository). */
  workDir?: string;
}): AptSimEntry[] {
  const dir = o.workDir ?? mkdtempSync(join(dirname(o.repo.root), "apt-sim-"));
  const sources = join(dir, "tsostree-test.sources");
  writeFileSync(sources, o.repo.sourcesEntry);
  const r = aptGetSimulate({ dir, sources, status: o.dpkgStatus }, o.packages);
  if (r.status !== 0 || r.remove.length > 0)
    throw new Error(`apt-get -s install ${o.packages.join(" ")} (exit ${r.status}):\n${r.output}`);
  return r.install;
}
