// Simulated boots: what is booted, pending and rollback; rollback flips and flips back; /etc edits
// made in the running root are merged into the next deployment; cleanup keeps what it must.
import assert from "node:assert/strict";
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { haveTools, ostree } from "../helpers.js";
import { commit, deploymentDirs, makeSysroot, makeTree, must, os, sysScratch, ts } from "./fixture.js";

interface St {
  booted: boolean;
  nextBoot: string | null;
  rollbackTarget: string | null;
  deployments: {
    checksum: string;
    booted: boolean;
    pending: boolean;
    rollback: boolean;
    pinned: boolean;
    version: string;
  }[];
}
const status = (s: string) => JSON.parse(ts(s, "status", "--json")) as St;
const versions = (s: string) => status(s).deployments.map((d) => d.version);

test("boot, edit /etc in the running root, upgrade, rollback twice, cleanup", (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = sysScratch(t);
  const S = makeSysroot(join(dir, "S"), "ts");
  commit(S, makeTree(join(dir, "t1")), "1.0");
  ts(S, "deploy", "--os=testos", "testos/stable", "--karg=root=LABEL=r");
  assert.equal(status(S).booted, false);
  ts(S, "boot");
  let st = status(S);
  assert.equal(st.booted, true);
  assert.equal(st.deployments[0]!.booted, true);
  // The running root: a hardlink farm of the deployment, /etc and /var as the boot would give them.
  const live = join(S, "run/root");
  assert.equal(readFileSync(join(live, "usr/lib/os-release"), "utf8").includes("Test OS"), true);
  appendFileSync(join(live, "etc/app.conf"), "local=1\n");
  writeFileSync(join(live, "var/lib/state"), "persist\n");
  assert.match(ts(S, "config-diff"), /^M {4}app\.conf$/m);

  commit(S, makeTree(join(dir, "t2"), { app: "a=2\n", kernel: "K2\n" }), "2.0");
  assert.match(ts(S, "upgrade"), /Copying \/etc changes: 1 modified, 0 removed, 0 added/);
  assert.match(ts(S, "upgrade"), /No update available/);
  st = status(S);
  assert.deepEqual(versions(S), ["2.0", "1.0"]);
  assert.equal(st.deployments[0]!.pending, true);
  assert.equal(st.deployments[1]!.booted, true);
  // status --json says what boots next and what a rollback would pick (here: the booted one).
  assert.equal(st.nextBoot, `testos ${st.deployments[0]!.checksum}.0`);
  assert.equal(st.rollbackTarget, `testos ${st.deployments[1]!.checksum}.0`);
  assert.match(os(S, "status"), /2\.0[\s\S]*1\.0/);

  // rollback while an update is pending: the booted one becomes the default again; twice = undo.
  ts(S, "rollback");
  assert.deepEqual(versions(S), ["1.0", "2.0"]);
  ts(S, "rollback");
  assert.deepEqual(versions(S), ["2.0", "1.0"]);

  ts(S, "boot");
  st = status(S);
  assert.equal(st.deployments[0]!.booted, true);
  assert.equal(st.deployments[1]!.rollback, true);
  assert.equal(readFileSync(join(live, "etc/app.conf"), "utf8"), "a=1\nlocal=1\n");
  assert.equal(readFileSync(join(live, "var/lib/state"), "utf8"), "persist\n");
  assert.equal(readFileSync(join(live, "usr/lib/modules/6.1.0-test/vmlinuz"), "utf8"), "K2\n");
  // The booted deployment can never be undeployed.
  assert.throws(() => ts(S, "undeploy", "0"), /Cannot undeploy currently booted deployment/);
  // Rolling back when booted into the newest: the previous one becomes the default.
  ts(S, "rollback");
  assert.deepEqual(versions(S), ["1.0", "2.0"]);
  ts(S, "boot");
  assert.equal(status(S).deployments[0]!.booted, true);
});

test("deploy keeps booted, merge and pinned deployments; --retain keeps all; cleanup removes only orphans", (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = sysScratch(t);
  const S = makeSysroot(join(dir, "S"));
  for (const v of ["1", "2", "3", "4"]) {
    commit(S, makeTree(join(dir, `t${v}`), { app: `v=${v}\n` }), v);
    ts(S, "deploy", "--os=testos", "testos/stable");
    if (v === "1") ts(S, "pin", "0");
    if (v === "2") ts(S, "boot");
  }
  // 4 (new default), 2 (booted), 1 (pinned); 3 was the pending one and is gone.
  assert.deepEqual(versions(S), ["4", "2", "1"]);
  const st = status(S);
  assert.equal(st.deployments[1]!.booted, true);
  assert.equal(st.deployments[2]!.pinned, true);
  commit(S, makeTree(join(dir, "t5"), { app: "v=5\n" }), "5");
  ts(S, "deploy", "--os=testos", "testos/stable", "--retain");
  assert.deepEqual(versions(S), ["5", "4", "2", "1"]);
  // An interrupted deploy's leftover directory is removed by cleanup; referenced ones stay.
  const leftover = join(S, "ostree/deploy/testos/deploy", `${"f".repeat(64)}.0`);
  must(ostree(["checkout", `--repo=${S}/ostree/repo`, "testos/stable", leftover]), "checkout");
  ts(S, "cleanup");
  assert.equal(existsSync(leftover), false);
  assert.equal(deploymentDirs(S).length, 4);
  // ostree sees no booted deployment in a sandbox; otherwise the listings agree.
  assert.equal(
    os(S, "status"),
    ts(S, "status")
      .replace(/^\*/m, " ")
      .replace(/ \((pending|rollback)\)/g, ""),
  );
});

test("a staged deployment merges /etc at the simulated shutdown; a plain deploy discards it", (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = sysScratch(t);
  const S = makeSysroot(join(dir, "S"), "ts");
  commit(S, makeTree(join(dir, "t1")), "1");
  ts(S, "deploy", "--os=testos", "testos/stable");
  assert.throws(() => ts(S, "deploy", "--stage", "testos/stable"), /Not currently booted/);
  ts(S, "boot");
  commit(S, makeTree(join(dir, "t2"), { app: "a=2\n" }), "2");
  ts(S, "deploy", "--stage", "testos/stable");
  assert.match(ts(S, "status"), /^ {2}testos [0-9a-f]{64}\.0 \(staged\)\n {4}Version: 2\n/);
  assert.equal(readdirSync(join(S, "boot/loader/entries")).length, 1, "no boot entry before shutdown");
  // Edited after staging: still carried over, because the merge happens at shutdown.
  appendFileSync(join(S, "run/root/etc/app.conf"), "late=1\n");
  ts(S, "boot");
  assert.deepEqual(versions(S), ["2", "1"]);
  assert.equal(status(S).deployments[0]!.booted, true);
  assert.equal(readFileSync(join(S, "run/root/etc/app.conf"), "utf8"), "a=1\nlate=1\n");
  assert.equal(os(S, "status").includes("Version: 2"), true);
  // Staged again, then a normal deploy: the staged one is dropped with its directory.
  commit(S, makeTree(join(dir, "t3"), { app: "a=3\n" }), "3");
  ts(S, "deploy", "--stage", "testos/stable");
  commit(S, makeTree(join(dir, "t4"), { app: "a=4\n" }), "4");
  ts(S, "deploy", "testos/stable");
  assert.deepEqual(versions(S), ["4", "2"]);
  assert.equal(deploymentDirs(S).length, 2, "the staged deployment's directory is gone");
  assert.equal(existsSync(join(S, "run/ostree/staged-deployment")), false);
});
