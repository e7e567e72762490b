// `tsostree-pkg upgrade` over HTTP: the base is composed into an archive repo (initialized by the
// real ostree) served by nginx, pulled and deployed as REMOTE:REF (the remote configured in the
// sysroot's etc/ostree/remotes.d), a package layered from an rpm-md repository; then the server gets
// a new base: --check pulls only its commit and package database, upgrade pulls it whole and
// carries the layered package onto it.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { haveTools, run, tsostree, tsostreePkg } from "../helpers.js";
import { ok as ostreeOk } from "../pull/fixture.js";
import { startNginx } from "../pull/server.js";
import { must, sysScratch } from "../sysroot/fixture.js";
import { installRpmRepo, makeRpmBase, makeRpmRepo, RPM_DBPATH, rpmWorld } from "./rpm-fixture.js";

const OS = "tso";
const REF = "tso/base";

interface Status {
  deployments: {
    checksum: string;
    serial: number;
    baseCommit: string;
    version: string;
    layeredPackages: { name: string; version: string }[];
  }[];
}

test("tsostree-pkg upgrade pulls the new base over nginx and re-layers the requested package", async (t) => {
  if (!haveTools(t, "ostree", "nginx", "rpm", "rpmbuild", "createrepo_c", "bwrap")) return;
  const dir = sysScratch(t);
  const w = rpmWorld();
  const srv = join(dir, "srv");
  ostreeOk(["init", `--repo=${srv}`, "--mode=archive"]);
  const compose = (tree: string, version: string) => {
    must(
      tsostreePkg(["compose", "rootfs", tree, `--repo=${srv}`, `--branch=${REF}`, `--version=${version}`]),
      "compose rootfs",
    );
    ostreeOk([`--repo=${srv}`, "summary", "-u"]);
    return ostreeOk([`--repo=${srv}`, "rev-parse", REF]).trim();
  };
  const base1 = compose(makeRpmBase(join(dir, "tree1")), "1");
  const nginx = await startNginx(srv, join(dir, "nginx"));
  t.after(() => nginx.stop());

  const S = join(dir, "sysroot");
  must(tsostree(["admin", "init-fs", S]), "init-fs");
  must(tsostree(["admin", "os-init", OS, `--sysroot=${S}`]), "os-init");
  mkdirSync(join(S, "etc/ostree/remotes.d"), { recursive: true });
  writeFileSync(
    join(S, "etc/ostree/remotes.d/origin.conf"),
    `[remote "origin"]\nurl=${nginx.url}\ngpg-verify=false\n`,
  );
  must(tsostree(["pull", `--sysroot=${S}`, "origin", REF]), "pull");
  must(tsostree(["admin", "deploy", `--sysroot=${S}`, `--os=${OS}`, `origin:${REF}`]), "deploy");
  const pkg = (...args: string[]) => tsostreePkg([...args, `--sysroot=${S}`]);
  const status = () => JSON.parse(must(pkg("status", "--json"), "status")) as Status;
  const deployDir = (d: { checksum: string; serial: number }) =>
    join(S, "ostree/deploy", OS, "deploy", `${d.checksum}.${d.serial}`);
  installRpmRepo(join(deployDir(status().deployments[0]!), "etc"), makeRpmRepo(dir, [w.hello, w.greeting]));
  must(pkg("install", "tso-hello"), "install");
  assert.equal(status().deployments[0]!.baseCommit, base1);

  // A new base on the server.
  const tree2 = makeRpmBase(join(dir, "tree2"));
  writeFileSync(join(tree2, "usr/share/base-v2"), "2\n");
  const base2 = compose(tree2, "2");
  const remoteRef = () => readFileSync(join(S, "ostree/repo/refs/remotes/origin", REF), "utf8").trim();

  const before = status().deployments.map((d) => d.checksum);
  const check = pkg("upgrade", "--check");
  assert.equal(check.status, 0, check.stderr);
  assert.match(check.stdout, new RegExp(`^Base: ${base1} -> ${base2}$`, "m"));
  assert.deepEqual(
    status().deployments.map((d) => d.checksum),
    before,
  );
  assert.equal(remoteRef(), base1, "--check must not move the ref");

  const up = pkg("upgrade");
  assert.equal(up.status, 0, `${up.stderr}${up.stdout}`);
  const top = status().deployments[0]!;
  assert.equal(top.baseCommit, base2);
  assert.equal(top.version, "2");
  assert.deepEqual(
    top.layeredPackages.map((p) => p.name),
    ["tso-greeting", "tso-hello"],
  );
  assert.equal(status().deployments[1]!.checksum, before[0]);
  assert.equal(remoteRef(), base2);
  const root = deployDir(top);
  assert.ok(existsSync(join(root, "usr/share/base-v2")));
  assert.ok(existsSync(join(root, "usr/bin/tso-hello")));
  const qa = run("rpm", [`--root=${root}`, `--dbpath=${RPM_DBPATH}`, "-q", "tso-hello"]);
  assert.equal(qa.status, 0, qa.stderr);
  assert.equal(pkg("upgrade", "--check").status, 77);
});
