// Bad input to `tsostree-pkg install` on a Debian base (the minbase fixture): a tampered apt
// repository (a .deb byte, Packages' SHA256 or Size, with and without re-signing), a hostile .deb the
// index vouches for, a failing postinst. Each fails with one line, deploys nothing, and leaves the
// repo so that both fscks pass and prune finds nothing new.
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it, type TestContext } from "node:test";
import { projectRoot, sh, skipOrFail } from "../helpers.js";
import { sysScratch } from "../sysroot/fixture.js";
import { type AptTamper, hostileDeb, installAptSource, makeAptRepo, tamperAptRepo } from "./apt-fixture.js";
import { deployedBase } from "./base-sysroot.js";
import { assertFailedCleanly, before, type FaultCtx, faultCtx, pkg } from "./layer-faults-fixture.js";

const MINBASE = join(projectRoot, "fixtures/out/minbase");
const DEBS = join(projectRoot, "fixtures/out/debs");
const OS = "debian";

interface Ctx extends FaultCtx {
  dir: string;
  /** The deployment's /etc, where the apt source is switched between repositories. */
  etc: string;
  debs: string[];
  gpgEnv: NodeJS.ProcessEnv;
}

function missing(): string | null {
  if (process.getuid?.() !== 0)
    return "needs root (the minbase tree keeps real owners): run the tests as root";
  if (!existsSync(join(MINBASE, ".complete"))) return "no minbase tree: run `sudo bash fixtures/minbase.sh`";
  if (!existsSync(DEBS) || !readdirSync(DEBS).some((f) => f.startsWith("strace_")))
    return "no Debian packages: run `bash fixtures/fetch-debian-packages.sh`";
  return null;
}

/** tso-failpost 1.0 (all): one file, a postinst that exits 1. */
function failingPostinst(dir: string): string {
  const root = join(dir, "tso-failpost");
  mkdirSync(join(root, "DEBIAN"), { recursive: true });
  mkdirSync(join(root, "usr/share/tso-failpost"), { recursive: true });
  writeFileSync(join(root, "usr/share/tso-failpost/README"), "fails\n");
  writeFileSync(
    join(root, "DEBIAN/control"),
    "Package: tso-failpost\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: postinst fails on purpose\n",
  );
  writeFileSync(
    join(root, "DEBIAN/postinst"),
    '#!/bin/sh\necho "tso-failpost: postinst fails on purpose" >&2\nexit 1\n',
  );
  chmodSync(join(root, "DEBIAN/postinst"), 0o755);
  const deb = join(dir, "tso-failpost_1.0_all.deb");
  sh("dpkg-deb", ["--root-owner-group", "-Zgzip", "--build", root, deb]);
  return deb;
}

async function setup(): Promise<Ctx> {
  const dir = sysScratch({ after: (fn) => cleanups.push(fn) });
  const { sysroot } = deployedBase(dir, MINBASE, OS, "debian/bookworm");
  const f = faultCtx(sysroot, OS);
  const [d] = readdirSync(f.deployDir).filter((n) => !n.endsWith(".origin"));
  const etc = join(f.deployDir, d!, "etc");
  rmSync(join(etc, "apt/sources.list"), { force: true });
  const debs = readdirSync(DEBS)
    .filter((n) => n.endsWith(".deb"))
    .map((n) => join(DEBS, n));
  debs.push(failingPostinst(dir), await hostileDeb(dir));
  const first = makeAptRepo(join(dir, "good"), debs);
  installAptSource(etc, first);
  return { ...f, dir, etc, debs, gpgEnv: first.gpgEnv };
}

const cleanups: (() => void)[] = [];
let shared: Promise<Ctx> | undefined;

async function need(t: TestContext): Promise<Ctx | undefined> {
  const why = missing();
  if (why) {
    skipOrFail(t, why);
    return undefined;
  }
  shared ??= setup();
  return shared;
}

let repos = 0;

/** A fresh repository of the same packages, spoiled with `how`, made the deployment's only source. */
function spoiled(c: Ctx, how: AptTamper, resign: boolean): void {
  repos++;
  const repo = makeAptRepo(join(c.dir, `tampered-${repos}`), c.debs, { gpgEnv: c.gpgEnv });
  tamperAptRepo(repo, how, { pkg: "strace", resign });
  installAptSource(c.etc, repo);
}

describe("install on a Debian base refuses bad input and changes nothing", { concurrency: false }, () => {
  after(() => {
    for (const fn of cleanups) fn();
  });

  it("a hostile .deb (data.tar path with ..) that the repository index vouches for", async (t) => {
    const c = await need(t);
    if (!c) return;
    const b = before(c);
    const r = pkg(c, ["install", "crafted"]);
    t.diagnostic(assertFailedCleanly(c, r, b, /crafted/, /\.\./, /leave it out of the request/));
  });

  it("a package whose postinst fails", async (t) => {
    const c = await need(t);
    if (!c) return;
    const b = before(c);
    const r = pkg(c, ["install", "tso-failpost"]);
    t.diagnostic(assertFailedCleanly(c, r, b, /tso-failpost/, /postinst/));
  });

  const cases: [AptTamper, boolean, RegExp[]][] = [
    ["deb-byte", false, [/strace/, /sha256 mismatch/i, /tampered/]],
    ["packages-sha256", false, [/Packages/, /(refresh|retry|tamper|mirror)/i]],
    ["packages-size", false, [/Packages/, /(refresh|retry|tamper|mirror)/i]],
    ["packages-sha256", true, [/strace/, /sha256 mismatch/i, /tampered/]],
    ["packages-size", true, [/strace/, /bytes/, /tampered/]],
  ];
  for (const [how, resign, patterns] of cases)
    it(`a tampered repository: ${how}${resign ? ", re-signed" : ""}`, async (t) => {
      const c = await need(t);
      if (!c) return;
      spoiled(c, how, resign);
      const b = before(c);
      const r = pkg(c, ["install", "strace"]);
      t.diagnostic(assertFailedCleanly(c, r, b, ...patterns));
    });
});
