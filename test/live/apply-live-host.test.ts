// Live-apply on a real host, tested without touching this machine's /usr: a minbase sysroot whose
// booted deployment becomes `/` of a chroot inside a private mount namespace (host-ns.ts), where
// `tsostree-pkg apply-live --sysroot=/` takes the host path: a transient overlay on /usr (upper under
// /run), read-only to the system, written through a private read-write bind. Needs root.
import assert from "node:assert/strict";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { installAptSource, makeAptRepo } from "../compose/apt-fixture.js";
import { diffManifests, manifest } from "../compose/tree-oracle.js";
import { fixture, needRoot, projectRoot, run, tsostree, tsostreePkg } from "../helpers.js";
import { sysScratch } from "../sysroot/fixture.js";
import { type Host, hostPkg, hostTree, inHost } from "./host-ns.js";
import { noEtc } from "./live-root.js";

const DEBS = join(projectRoot, "fixtures/out/debs");
const OS = "debian";
const REF = "debian/bookworm";

function ok(r: { status: number; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.status, 0, `${what} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

const cleanups: (() => void)[] = [];
let shared: Host | undefined;

/** A sysroot with the minbase deployment (to be booted) and a pending one layering strace. */
function setup(): Host {
  fixture("minbase");
  fixture("debs");
  const dir = sysScratch({ after: (fn) => cleanups.push(fn) });
  const sysroot = join(dir, "sysroot");
  const repo = join(sysroot, "ostree/repo");
  const tree = hostTree(dir);
  ok(tsostree(["admin", "init-fs", sysroot]), "init-fs");
  ok(tsostree(["admin", "os-init", OS, `--sysroot=${sysroot}`]), "os-init");
  ok(tsostreePkg(["compose", "rootfs", tree, `--repo=${repo}`, `--branch=${REF}`]), "compose rootfs");
  rmSync(tree, { recursive: true, force: true });
  ok(tsostree(["admin", "deploy", `--sysroot=${sysroot}`, `--os=${OS}`, REF]), "admin deploy");
  const st = JSON.parse(ok(tsostreePkg(["status", "--json", `--sysroot=${sysroot}`]), "status")) as {
    deployments: { checksum: string; serial: number }[];
  };
  const d = st.deployments[0]!;
  const deployment = join(sysroot, "ostree/deploy", OS, "deploy", `${d.checksum}.${d.serial}`);
  const debs = readdirSync(DEBS)
    .filter((f) => f.endsWith(".deb"))
    .map((f) => join(DEBS, f));
  rmSync(join(deployment, "etc/apt/sources.list"), { force: true });
  installAptSource(join(deployment, "etc"), makeAptRepo(dir, debs));
  ok(tsostreePkg(["install", "strace", `--sysroot=${sysroot}`]), "install strace");
  return { sysroot, deployment, var: join(sysroot, "ostree/deploy", OS, "var"), mnt: join(dir, "host") };
}

describe("apply-live on a host (private mount namespace)", () => {
  after(() => {
    for (const fn of cleanups) fn();
  });

  it("strace goes live through a transient /usr overlay; the deployment and the repo stay as they were", (t) => {
    if (!needRoot(t, "live-apply on a host (mount namespace, overlayfs)")) return;
    const h = setup();
    shared = h;
    const before = manifest(h.deployment, noEtc);
    const r = inHost(
      h,
      `
echo "== before"; chroot "$HOST" /usr/bin/strace -V 2>&1 | head -1 || true
echo "== apply"; ${hostPkg("apply-live")} 2>&1; echo "rc=$?"
echo "== strace"; chroot "$HOST" /usr/bin/strace -V 2>&1 | head -1
echo "== usr mount"; awk '$5 == "'"$HOST"'/usr" {print $6, $(NF-2)}' /proc/self/mountinfo
echo "== usr writable"; touch "$HOST/usr/.probe" 2>/dev/null && echo yes || echo no
echo "== binds left"; awk '$5 ~ /live-usr/' /proc/self/mountinfo | wc -l
echo "== staging left"; ls -A "$HOST/usr" | grep -c tsostree-live || true
echo "== deployment"; test -e "$DEPLOYMENT/usr/bin/strace" && echo has-strace || echo no-strace
echo "== status"; ${hostPkg("status --json")} | tr -d ' \\n' | grep -o '"live":{"commit":"[0-9a-f]*","state":"[a-z]*"'
echo "== again"; ${hostPkg("apply-live")} 2>&1
echo "== reset"; ${hostPkg("apply-live --reset")} 2>&1; echo "rc=$?"
echo "== after reset"; test -e "$HOST/usr/bin/strace" && echo has-strace || echo no-strace
echo "== end"
`,
    );
    const out = r.stdout;
    t.diagnostic(out);
    assert.equal(r.status, 0, r.stderr);
    const section = (name: string) => out.split(`== ${name}\n`)[1]!.split("\n== ")[0]!.trim();
    assert.doesNotMatch(section("before"), /strace -- version/);
    assert.match(section("apply"), /Applied [0-9a-f]{64} live/);
    assert.match(section("apply"), /rc=0/);
    assert.doesNotMatch(section("apply"), /note:/);
    assert.match(section("strace"), /strace -- version 6\./);
    // ostree's transient unlock: an overlay, mounted read-only for everyone else.
    assert.match(section("usr mount"), /^ro\S* overlay$/m);
    assert.equal(section("usr writable"), "no");
    assert.equal(section("binds left"), "0");
    assert.equal(section("staging left"), "0");
    assert.equal(section("deployment"), "no-strace");
    assert.match(section("status"), /"state":"complete"/);
    assert.match(section("again"), /already live/);
    assert.match(section("reset"), /Reset the running root/);
    assert.equal(section("after reset"), "no-strace");
    assert.deepEqual(diffManifests(before, manifest(h.deployment, noEtc)), {
      added: [],
      removed: [],
      changed: [],
    });
    const fsck = run("setpriv", [
      "--bounding-set=-sys_admin",
      "ostree",
      "fsck",
      `--repo=${join(h.sysroot, "ostree/repo")}`,
    ]);
    assert.equal(fsck.status, 0, fsck.stderr);
  });

  it("kill -9 during apply-live: the rerun completes it once; --reset restores /usr and /etc exactly", (t) => {
    if (!needRoot(t, "live-apply on a host (mount namespace, overlayfs)")) return;
    const h = shared ?? setup();
    // Names, types, modes, owners, sizes, link targets and content of /usr and /etc as seen inside;
    // directory sizes are left out (a directory copied up into the overlay reports its tmpfs size).
    const sum = `(cd "$HOST" && { find usr etc \\( -type d -printf '%p %m %U %G\\n' \\) -o -printf '%p %y %m %U %G %s %l\\n' | sort; find usr etc -type f -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-16)`;
    const overlays = `awk '$5 == "'"$HOST"'/usr" && $(NF-2) == "overlay"' /proc/self/mountinfo | wc -l`;
    // In the middle of the files, and with every file in place but the state not final.
    const steps = ["added-one", "files-done"];
    const r = inHost(
      h,
      `
echo "== before"; ${sum}
${steps
  .map(
    (step) => `
echo "== killed ${step}"; ${hostPkg("apply-live", `TSOSTREE_FAULT=live:${step}`)} >/dev/null 2>&1; echo "rc=$?"
echo "== state ${step}"; ${hostPkg("status --json")} | tr -d ' \n' | grep -o '"state":"[a-z]*"' | head -1
echo "== rerun ${step}"; ${hostPkg("apply-live")} 2>&1 | head -1
echo "== strace ${step}"; chroot "$HOST" /usr/bin/strace -V 2>&1 | head -1
echo "== overlays ${step}"; ${overlays}
echo "== binds ${step}"; awk '$5 ~ /live-usr/' /proc/self/mountinfo | wc -l
echo "== staging ${step}"; ls -A "$HOST/usr" "$HOST/etc" | grep -c tsostree-live || true
echo "== upper ${step}"; find "$HOST/run/ostree" -type f -name strace 2>/dev/null | wc -l
echo "== reset ${step}"; ${hostPkg("apply-live --reset")} 2>&1 | head -1
echo "== after ${step}"; ${sum}`,
  )
  .join("\n")}
echo "== end"
`,
    );
    const out = r.stdout;
    t.diagnostic(out);
    assert.equal(r.status, 0, r.stderr);
    const section = (name: string) => out.split(`== ${name}\n`)[1]!.split("\n== ")[0]!.trim();
    for (const step of steps) {
      assert.match(section(`killed ${step}`), /rc=137/, `killed at ${step}`);
      assert.equal(section(`state ${step}`), '"state":"interrupted"', `state after a kill at ${step}`);
      assert.match(section(`rerun ${step}`), /Applied [0-9a-f]{64} live/, `rerun after ${step}`);
      assert.match(section(`strace ${step}`), /strace -- version 6\./);
      assert.equal(section(`overlays ${step}`), "1", `one overlay on /usr after ${step}`);
      assert.equal(section(`binds ${step}`), "0");
      assert.equal(section(`staging ${step}`), "0");
      assert.equal(section(`upper ${step}`), "1", `strace once in the overlay's upper dir after ${step}`);
      assert.match(section(`reset ${step}`), /Reset the running root/);
      assert.equal(
        section(`after ${step}`),
        section("before"),
        `--reset after a kill at ${step} restores /usr and /etc`,
      );
    }
  });
});
