// The compatibility contract against the real ostree 2022.7: the same inputs give the same /boot,
// bootlinks, deployment directories and refs; each tool reads (and continues) what the other wrote.
import assert from "node:assert/strict";
import { appendFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { haveTools, ostree } from "../helpers.js";
import {
  commit,
  deploymentDirs,
  makeSysroot,
  makeTree,
  must,
  os,
  snapshot,
  sysScratch,
  ts,
} from "./fixture.js";

const layoutSkip = (r: string) => r === "repo" || r === "lock" || r.startsWith("deploy/testos/deploy/");

/** /boot, ostree/ (minus the repo) and the deployed /etc trees; the parts that must be identical. */
function layout(sysroot: string): { boot: string[]; ostree: string[]; etc: string[]; refs: string[] } {
  const etc: string[] = [];
  for (const d of deploymentDirs(sysroot))
    etc.push(d, ...snapshot(join(sysroot, "ostree/deploy/testos/deploy", d, "etc")));
  const refs = must(ostree(["refs", `--repo=${sysroot}/ostree/repo`]), "refs")
    .split("\n")
    .sort();
  return {
    boot: snapshot(join(sysroot, "boot"), (r) => r === "boot"),
    ostree: snapshot(join(sysroot, "ostree"), layoutSkip),
    etc,
    refs,
  };
}

function editEtc(sysroot: string): void {
  const d = join(sysroot, "ostree/deploy/testos/deploy", deploymentDirs(sysroot)[0]!, "etc");
  appendFileSync(join(d, "app.conf"), "local=1\n");
  rmSync(join(d, "removeme.conf"));
  writeFileSync(join(d, "added.conf"), "mine\n");
}

test("deploy writes what ostree admin deploy writes, twice, with the /etc merge", (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = sysScratch(t);
  const t1 = makeTree(join(dir, "t1"));
  const t2 = makeTree(join(dir, "t2"), { app: "a=2\n", kernel: "KERNEL2\n" });
  const A = makeSysroot(join(dir, "A"));
  const B = makeSysroot(join(dir, "B"));
  for (const s of [A, B]) commit(s, t1, "42.1");
  os(A, "deploy", "--os=testos", "testos/stable", "--karg=root=LABEL=root", "--karg=quiet");
  ts(B, "deploy", "--os=testos", "testos/stable", "--karg=root=LABEL=root", "--karg=quiet");
  assert.deepEqual(layout(B), layout(A));
  for (const s of [A, B]) {
    editEtc(s);
    commit(s, t2, "42.2");
  }
  const sorted = (x: string) => x.split("\n").sort().join("\n");
  assert.equal(sorted(ts(B, "config-diff", "--os=testos")), sorted(os(A, "config-diff", "--os=testos")));
  os(A, "deploy", "--os=testos", "testos/stable", "--karg-append=console=ttyS0");
  ts(B, "deploy", "--os=testos", "testos/stable", "--karg-append=console=ttyS0");
  assert.deepEqual(layout(B), layout(A));
  const entry = readFileSync(join(B, "boot/loader/entries/ostree-2-testos.conf"), "utf8");
  assert.match(
    entry,
    /^title Test OS 42 42\.2 \(ostree:0\)\nversion 2\noptions root=LABEL=root quiet ostree=\/ostree\/boot\.0\/testos\/[0-9a-f]{64}\/0 console=ttyS0\nlinux /,
  );
  assert.equal(os(B, "status"), os(A, "status"));
  assert.equal(ts(B, "status"), os(A, "status"));
  // The admin's edits were carried over: modified wins, removed stays removed, added is kept.
  const newest = join(
    B,
    "ostree/deploy/testos/deploy",
    ts(B, "status").split("\n")[0]!.split(" ")[3]!,
    "etc",
  );
  assert.equal(readFileSync(join(newest, "app.conf"), "utf8"), "a=1\nlocal=1\n");
  assert.equal(readFileSync(join(newest, "added.conf"), "utf8"), "mine\n");
  assert.throws(() => readFileSync(join(newest, "removeme.conf")));
});

test("status of each tool reads the other's sysroot; mixed deploys stay consistent", (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = sysScratch(t);
  const S = makeSysroot(join(dir, "S"), "ts");
  const c1 = commit(S, makeTree(join(dir, "t1")), "1.0");
  ts(S, "deploy", "--os=testos", "testos/stable");
  const c2 = commit(S, makeTree(join(dir, "t2"), { app: "two\n" }), "2.0");
  os(S, "deploy", "--os=testos", "testos/stable");
  assert.equal(ts(S, "status"), os(S, "status"));
  const c3 = commit(S, makeTree(join(dir, "t3"), { app: "three\n", kernel: "K3\n" }), "3.0");
  ts(S, "deploy", "--os=testos", "testos/stable", "--retain");
  const ours = ts(S, "status");
  assert.equal(ours, os(S, "status"));
  assert.deepEqual(
    [...ours.matchAll(/testos ([0-9a-f]{64})\.0/g)].map((m) => m[1]),
    [c3, c2, c1],
  );
  // Ours pinned, theirs undeployed, ostree's cleanup must keep our commits (ostree/B/M/I refs).
  ts(S, "pin", "2");
  os(S, "undeploy", "1");
  assert.equal(ts(S, "status"), os(S, "status"));
  assert.match(os(S, "status"), /Pinned: yes/);
  os(S, "cleanup");
  must(ostree(["fsck", `--repo=${S}/ostree/repo`]), "fsck");
  ts(S, "undeploy", "1");
  assert.equal(ts(S, "status"), os(S, "status"));
  assert.deepEqual(deploymentDirs(S), [`${c3}.0`]);
});

test("kargs edit-in-place and rollback produce entries ostree reads", (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = sysScratch(t);
  const S = makeSysroot(join(dir, "S"));
  commit(S, makeTree(join(dir, "t1")), "1.0");
  ts(S, "deploy", "--os=testos", "testos/stable", "--karg=quiet");
  commit(S, makeTree(join(dir, "t2"), { app: "two\n" }), "2.0");
  ts(S, "deploy", "--os=testos", "testos/stable");
  ts(S, "kargs", "edit-in-place", "--append-if-missing=console=tty0", "--delete=quiet");
  const entries = must(ostree(["admin", `--sysroot=${S}`, "status"]), "status");
  assert.match(entries, /2\.0[\s\S]*1\.0/);
  for (const f of ["ostree-1-testos.conf", "ostree-2-testos.conf"])
    assert.match(
      readFileSync(join(S, "boot/loader/entries", f), "utf8"),
      /^options ostree=\S+ console=tty0$/m,
    );
  ts(S, "rollback");
  assert.match(os(S, "status"), /Version: 1\.0[\s\S]*Version: 2\.0/);
});

test("set-origin writes the remote and origin ostree writes; switch follows it", (t) => {
  if (!haveTools(t, "ostree")) return;
  const dir = sysScratch(t);
  const [A, B] = [makeSysroot(join(dir, "A")), makeSysroot(join(dir, "B"))];
  const t1 = makeTree(join(dir, "t1"));
  const t2 = makeTree(join(dir, "t2"), { app: "devel\n" });
  for (const s of [A, B]) {
    commit(s, t1, "1");
    os(s, "deploy", "--os=testos", "testos/stable");
  }
  os(A, "set-origin", "--index=0", "--set=gpg-verify=false", "origin", "https://example.com/repo");
  ts(B, "set-origin", "--index=0", "--set=gpg-verify=false", "origin", "https://example.com/repo");
  const origin = (s: string) =>
    readFileSync(join(s, "ostree/deploy/testos/deploy", `${deploymentDirs(s)[0]}.origin`), "utf8");
  assert.equal(
    readFileSync(join(B, "ostree/repo/config"), "utf8"),
    readFileSync(join(A, "ostree/repo/config"), "utf8"),
  );
  assert.equal(origin(B), origin(A));
  // switch resolves from refs already in the repo (no pull yet): seed the remote refs.
  const devel = commit(B, t2, "2", "testos/devel");
  must(ostree(["refs", `--repo=${B}/ostree/repo`, "--create=origin:testos/devel", devel]), "refs");
  must(ostree(["refs", `--repo=${B}/ostree/repo`, "--create=origin:testos/stable", "testos/stable"]), "refs");
  assert.match(ts(B, "switch", "testos/devel"), /Deleting ref 'origin:testos\/stable'/);
  assert.match(
    os(B, "status"),
    /^ {2}testos [0-9a-f]{64}\.0\n {4}Version: 2\n {4}origin refspec: origin:testos\/devel\n/,
  );
  assert.throws(() => ts(B, "switch", "origin:testos/devel"), /Old and new refs are equal/);
});
