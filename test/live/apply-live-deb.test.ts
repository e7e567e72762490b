// Live-apply on a Debian minbase booted (simulated) in a sandbox sysroot: `install --apply-live
// strace` makes strace (and libunwind8) run from the running root at once, the booted deployment
// stays byte for byte as it was, and the repo passes the real ostree's fsck; `uninstall --apply-live
// strace` is refused while a process of the running root has strace open, and removes it live once
// nothing does. Needs root (the minbase tree keeps real owners), as CI runs it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { installAptSource, makeAptRepo } from "../compose/apt-fixture.js";
import { deployedBase } from "../compose/base-sysroot.js";
import { buildDeb } from "../compose/fixture.js";
import { diffManifests, manifest } from "../compose/tree-oracle.js";
import { fixture, needRoot, projectRoot, run, tsostree, tsostreePkg } from "../helpers.js";
import { sysScratch } from "../sysroot/fixture.js";
import { liveRoot, noEtc, runLive } from "./live-root.js";

const MINBASE = join(projectRoot, "fixtures/out/minbase");
const DEBS = join(projectRoot, "fixtures/out/debs");
const OS = "debian";
const REF = "debian/bookworm";

function ok(r: { status: number; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.status, 0, `${what} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

const cleanups: (() => void)[] = [];
/** Set by the first test: the sysroot and its booted deployment's directory and manifest. */
let ctx: { sysroot: string; booted: string; before: ReturnType<typeof manifest> } | undefined;

describe("apply-live on a Debian minbase", () => {
  after(() => {
    for (const fn of cleanups) fn();
  });
  it("install --apply-live strace: strace -V runs from the running root; the booted deployment is unchanged", (t) => {
    if (!needRoot(t, "live-apply on minbase")) return;
    fixture("minbase");
    fixture("debs");
    const dir = sysScratch({ after: (fn) => cleanups.push(fn) });
    const { sysroot, repo } = deployedBase(dir, MINBASE, OS, REF);
    const st = JSON.parse(ok(tsostreePkg(["status", "--json", `--sysroot=${sysroot}`]), "status")) as {
      deployments: { checksum: string; serial: number }[];
    };
    const d = st.deployments[0]!;
    const booted = join(sysroot, "ostree/deploy", OS, "deploy", `${d.checksum}.${d.serial}`);
    const debs = readdirSync(DEBS)
      .filter((f) => f.endsWith(".deb"))
      .map((f) => join(DEBS, f));
    // A shell registered in /usr/share/debianutils/shells.d: minbase's debianutils has a trigger
    // interest there, whose update-shells rewrites /etc/shells.
    debs.push(
      buildDeb(
        join(dir, "tso-shell_1.0_all.deb"),
        dir,
        "tso-shell",
        {
          "usr/share/debianutils/shells.d/tso-shell": "/usr/bin/tso-shell\n",
        },
        {},
      ),
    );
    rmSync(join(booted, "etc/apt/sources.list"), { force: true });
    installAptSource(join(booted, "etc"), makeAptRepo(dir, debs));
    ok(tsostree(["admin", "boot", `--sysroot=${sysroot}`]), "admin boot");
    const before = manifest(booted, noEtc);
    ctx = { sysroot, booted, before };
    assert.notEqual(runLive(sysroot, ["/usr/bin/strace", "-V"]).status, 0, "strace before the install");

    const t0 = performance.now();
    const out = ok(
      tsostreePkg(["install", "--apply-live", "strace", `--sysroot=${sysroot}`]),
      "install --apply-live",
    );
    t.diagnostic(`install --apply-live strace: ${(performance.now() - t0).toFixed(0)} ms`);
    assert.match(out, /Applied [0-9a-f]{64} live/);
    assert.doesNotMatch(out, /note:/);
    const v = runLive(sysroot, ["/usr/bin/strace", "-V"]);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /strace -- version 6\./);
    assert.deepEqual(diffManifests(before, manifest(booted, noEtc)), { added: [], removed: [], changed: [] });
    const fsck = run("setpriv", ["--bounding-set=-sys_admin", "ostree", "fsck", `--repo=${repo}`]);
    assert.equal(fsck.status, 0, fsck.stderr);
    const live = JSON.parse(ok(tsostreePkg(["status", "--json", `--sysroot=${sysroot}`]), "status")) as {
      live: { commit: string; state: string } | null;
      deployments: { checksum: string }[];
    };
    assert.equal(live.live?.commit, live.deployments[0]!.checksum);
    assert.equal(live.live?.state, "complete");
  });

  it("uninstall --apply-live strace: refused while the running root has it open; applied once nothing does", async (t) => {
    if (!ctx) return t.skip("needs the install test before it");
    const { sysroot, booted, before } = ctx;
    const root = liveRoot(sysroot);
    // A process of the running system (root = the running root) holding /usr/bin/strace open.
    const holder = spawn("chroot", [root, "/bin/sh", "-c", "exec 3</usr/bin/strace; exec sleep 60"], {
      stdio: "ignore",
    });
    cleanups.push(() => holder.kill("SIGKILL"));
    const fd3 = () => {
      try {
        return readlinkSync(`/proc/${holder.pid}/fd/3`);
      } catch {
        return "";
      }
    };
    for (let i = 0; i < 100 && !fd3().endsWith("/usr/bin/strace"); i++)
      await new Promise((r) => setTimeout(r, 20));
    const refused = tsostreePkg(["uninstall", "--apply-live", "strace", `--sysroot=${sysroot}`]);
    assert.equal(refused.status, 1, refused.stdout);
    assert.match(refused.stderr, new RegExp(`in use: /usr/bin/strace \\(open in pid ${holder.pid} sleep\\)`));
    assert.ok(existsSync(join(root, "usr/bin/strace")), "nothing removed while in use");
    holder.kill("SIGKILL");
    await once(holder, "exit");
    // The same request again: its commit is the live one already, then the removal with nobody using it.
    ok(
      tsostreePkg(["install", "--apply-live", "strace", `--sysroot=${sysroot}`]),
      "install --apply-live again",
    );
    const out = ok(
      tsostreePkg(["uninstall", "--apply-live", "strace", `--sysroot=${sysroot}`]),
      "uninstall --apply-live",
    );
    assert.match(out, /removed: .*\/usr\/bin\/strace/);
    assert.equal(existsSync(join(root, "usr/bin/strace")), false);
    assert.notEqual(runLive(sysroot, ["/usr/bin/strace", "-V"]).status, 0);
    assert.equal(runLive(sysroot, ["/bin/true"]).status, 0);
    assert.deepEqual(diffManifests(before, manifest(booted, noEtc)), { added: [], removed: [], changed: [] });
  });

  it("a base package's trigger the new package activates, which rewrites /etc/shells: not re-run live, listed for the next boot", (t) => {
    if (!ctx) return t.skip("needs the install test before it");
    const { sysroot, booted, before } = ctx;
    const root = liveRoot(sysroot);
    const shells = readFileSync(join(root, "etc/shells"), "utf8");
    const out = ok(
      tsostreePkg(["install", "--apply-live", "tso-shell", `--sysroot=${sysroot}`]),
      "install --apply-live tso-shell",
    );
    // The layering ran it: the new deployment's default /etc/shells has the shell.
    assert.match(out, /Ran debianutils postinst triggered/);
    assert.match(
      out,
      /note: trigger debianutils postinst triggered: a trigger of the base, not of an added package — it ran when the new deployment was composed: the files it made come with the commit, the rest takes effect at the next boot/,
    );
    assert.ok(existsSync(join(root, "usr/share/debianutils/shells.d/tso-shell")));
    assert.match(readFileSync(join(root, "usr/etc/shells"), "utf8"), /^\/usr\/bin\/tso-shell$/m);
    // The running system's own /etc/shells is not rewritten live.
    assert.equal(readFileSync(join(root, "etc/shells"), "utf8"), shells);
    assert.deepEqual(diffManifests(before, manifest(booted, noEtc)), { added: [], removed: [], changed: [] });
    // strace's libraries activated ldconfig only: refreshed by the linker cache, not listed.
    assert.doesNotMatch(out, /ldconfig/);
  });
});
