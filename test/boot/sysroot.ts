// The sysroot of the boot proof: the boot tree (fixtures/boottree.sh) composed into a base commit
// with `tsostree-pkg compose rootfs` and deployed with `tsostree admin deploy`, kernel arguments as
// ostree-prepare-root needs them (root=LABEL=…, rw, console=ttyS0); apt pointed at a local signed
// repository of real Debian packages (strace and its closure).
import assert from "node:assert/strict";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { installAptSource, makeAptRepo } from "../compose/apt-fixture.js";
import { fixture, tsostree, tsostreePkg } from "../helpers.js";
import { sysScratch } from "../sysroot/fixture.js";
import type { BootResult } from "./qemu.js";

export const OS = "debian";
export const REF = "debian/bookworm/boot";
export const LABEL = "tsostree-root";
/** A fixed commit time: the same tree commits to the same checksum. */
const TIMESTAMP = "2026-01-01T00:00:00Z";

export interface Deployment {
  checksum: string;
  serial: number;
  bootCounting: { triesLeft: number; triesDone: number; failed: boolean } | null;
}

export interface Status {
  nextBoot: string | null;
  deployments: Deployment[];
}

export interface BootSysroot {
  dir: string;
  sysroot: string;
  /** Scratch space for disk images and console logs. */
  work: string;
  baseCommit: string;
  /** Deployments, in the sysroot's order. */
  deployments(): Deployment[];
  statusJson(): Status;
  pkg(...args: string[]): string;
  admin(...args: string[]): string;
  /** Composes the boot tree again into a fresh repo and returns the commit. */
  recompose(): string;
}

function ok(r: { status: number; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.status, 0, `${what} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

function compose(tree: string, repo: string): string {
  const out = ok(
    tsostreePkg([
      "compose",
      "rootfs",
      tree,
      `--repo=${repo}`,
      `--branch=${REF}`,
      `--timestamp=${TIMESTAMP}`,
      "--json",
    ]),
    "compose rootfs",
  );
  return (JSON.parse(out) as { commit: string }).commit;
}

export function prepareBootSysroot(t: { after(fn: () => void): void }): BootSysroot {
  const tree = fixture("boottree");
  const debsDir = fixture("debs");
  const dir = sysScratch(t);
  const sysroot = join(dir, "sysroot");
  const repo = join(sysroot, "ostree/repo");
  ok(tsostree(["admin", "init-fs", sysroot]), "init-fs");
  ok(tsostree(["admin", "os-init", OS, `--sysroot=${sysroot}`]), "os-init");
  const baseCommit = compose(tree, repo);
  // Boot counting: every new deployment's entry gets two tries (src/sysroot/boot-counting.ts).
  ok(tsostree(["config", `--repo=${repo}`, "set", "sysroot.boot-counting-tries", "2"]), "config set");
  const kargs = [`root=LABEL=${LABEL}`, "rw", "console=ttyS0"].map((k) => `--karg-append=${k}`);
  ok(tsostree(["admin", "deploy", `--sysroot=${sysroot}`, `--os=${OS}`, ...kargs, REF]), "admin deploy");
  const s: BootSysroot = {
    dir,
    sysroot,
    work: dir,
    baseCommit,
    statusJson: () =>
      JSON.parse(ok(tsostreePkg(["status", "--json", `--sysroot=${sysroot}`]), "status")) as Status,
    deployments: () => s.statusJson().deployments,
    pkg: (...args) => ok(tsostreePkg([...args, `--sysroot=${sysroot}`]), `tsostree-pkg ${args.join(" ")}`),
    admin: (...args) =>
      ok(tsostree(["admin", ...args, `--sysroot=${sysroot}`]), `tsostree admin ${args.join(" ")}`),
    recompose() {
      const other = join(dir, "recompose-repo");
      ok(tsostree(["init", `--repo=${other}`, "--mode=bare"]), "init");
      try {
        return compose(tree, other);
      } finally {
        rmSync(other, { recursive: true, force: true });
      }
    },
  };
  const [d] = s.deployments();
  assert.ok(d, "the base is deployed");
  const etc = join(sysroot, "ostree/deploy", OS, "deploy", `${d.checksum}.${d.serial}`, "etc");
  // The admin points apt at the local repository instead of Debian's mirrors.
  rmSync(join(etc, "apt/sources.list"), { force: true });
  const debs = readdirSync(debsDir)
    .filter((f) => f.endsWith(".deb"))
    .map((f) => join(debsDir, f));
  installAptSource(etc, makeAptRepo(dir, debs));
  return s;
}

/** The guest booted deployment `d` of the sysroot. */
export function bootedDeployment(r: BootResult, d: Deployment | undefined): void {
  assert.ok(d);
  const dirName = `${d.checksum}.${d.serial}`;
  assert.equal(r.marker.deployment, `/sysroot/ostree/deploy/${OS}/deploy/${dirName}`, r.marker.status);
  assert.equal(r.marker.commit, d.checksum);
  assert.match(
    r.marker.status,
    new RegExp(`\\* ${OS} ${d.checksum}\\.${d.serial}`),
    "the guest's ostree admin status",
  );
}

/** Each boot's time, printed (the issue asks for it). */
export function bootLog(what: string, r: BootResult): void {
  process.stdout.write(
    `# boot ${what}: ${r.entry.file} → ${r.marker.commit.slice(0, 12)} in ${r.seconds.toFixed(1)} s\n`,
  );
}
