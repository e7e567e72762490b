// `tsostree admin upgrade` over HTTP end to end: a server archive repo written by the real ostree
// behind a real nginx on loopback, a sandbox sysroot deployed from it (REMOTE:REF), then new commits
// on the server: --check, upgrade, a refused downgrade, --pull-only, the server gone, --deploy-only;
// `ostree admin status` agrees at each step.
import assert from "node:assert/strict";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { haveTools, ostree, tsostree } from "../helpers.js";
import { ok as ostreeOk } from "../pull/fixture.js";
import { startNginx } from "../pull/server.js";
import { deploymentDirs, makeSysroot, makeTree, must, os, sysScratch } from "../sysroot/fixture.js";

const REF = "testos/stable";

/** Commits TREE to the server repo as version V at minute M of 2024-01-01, then updates the summary. */
function serverCommit(srv: string, tree: string, v: string, minute: number): string {
  const c = ostreeOk([
    `--repo=${srv}`,
    "commit",
    "-b",
    REF,
    `--tree=dir=${tree}`,
    "-s",
    v,
    `--add-metadata-string=version=${v}`,
    `--timestamp=2024-01-01 00:${String(minute).padStart(2, "0")}:00`,
  ]).trim();
  ostreeOk([`--repo=${srv}`, "summary", "-u"]);
  return c;
}

interface Status {
  deployments: { checksum: string; version: string; origin?: string }[];
}

test("admin upgrade pulls REMOTE:REF over nginx and deploys it; --check, downgrade, --pull-only, server down", async (t) => {
  if (!haveTools(t, "ostree", "nginx")) return;
  const dir = sysScratch(t);
  const srv = join(dir, "srv");
  ostreeOk(["init", `--repo=${srv}`, "--mode=archive"]);
  const c1 = serverCommit(srv, makeTree(join(dir, "t1")), "1.0", 10);
  const nginx = await startNginx(srv, join(dir, "nginx"));
  t.after(() => nginx.stop());

  const S = makeSysroot(join(dir, "S"), "ts");
  const repo = join(S, "ostree/repo");
  const ts = (...args: string[]) => tsostree(args);
  must(ts("remote", "add", "--no-gpg-verify", `--sysroot=${S}`, "origin", nginx.url), "remote add");
  must(ts("pull", `--sysroot=${S}`, "origin", REF), "pull");
  must(ts("admin", `--sysroot=${S}`, "deploy", "--os=testos", `origin:${REF}`), "deploy");
  const admin = (...args: string[]) => ts("admin", `--sysroot=${S}`, ...args);
  const status = () => JSON.parse(must(admin("status", "--json"), "status")) as Status;
  const commits = () => status().deployments.map((d) => d.checksum);
  const remoteRef = () => readFileSync(join(repo, "refs/remotes/origin", REF), "utf8").trim();
  assert.deepEqual(commits(), [c1]);
  // A local /etc edit, to be carried into the next deployment by the merge.
  const etc1 = join(S, "ostree/deploy/testos/deploy", deploymentDirs(S)[0]!, "etc/app.conf");
  appendFileSync(etc1, "local=1\n");

  // A new commit on the server: --check sees it and changes nothing.
  const c2 = serverCommit(srv, makeTree(join(dir, "t2"), { app: "a=2\n", kernel: "K2\n" }), "2.0", 20);
  const check = admin("upgrade", "--check");
  assert.equal(check.status, 0, check.stderr);
  assert.equal(check.stdout, `Update available: ${c2}\n`);
  assert.deepEqual(commits(), [c1]);
  assert.equal(remoteRef(), c1, "--check must not move the ref");
  assert.equal(existsSync(join(repo, "state", `${c2}.commitpartial`)), true, "only the commit was fetched");

  // upgrade: pulled and deployed; the previous deployment is the rollback; /etc merged.
  const up = admin("upgrade");
  assert.equal(up.status, 0, up.stderr);
  assert.deepEqual(commits(), [c2, c1]);
  assert.equal(remoteRef(), c2);
  assert.equal(existsSync(join(repo, "state", `${c2}.commitpartial`)), false);
  const top = join(S, "ostree/deploy/testos/deploy", `${c2}.0`);
  assert.equal(readFileSync(join(top, "usr/etc/app.conf"), "utf8"), "a=2\n");
  assert.equal(readFileSync(join(top, "etc/app.conf"), "utf8"), "a=1\nlocal=1\n");
  const st = os(S, "status");
  assert.match(
    st,
    new RegExp(`testos ${c2}\\.0\\n {4}Version: 2\\.0\\n {4}origin refspec: origin:${REF}\\n`),
  );
  assert.match(st, new RegExp(`testos ${c1}\\.0\\n {4}Version: 1\\.0\\n`));
  assert.ok(st.indexOf(c2) < st.indexOf(c1));
  must(ostree(["fsck", `--repo=${repo}`]), "ostree fsck");

  // Up to date.
  assert.equal(must(admin("upgrade"), "upgrade again"), "No update available.\n");
  const none = admin("upgrade", "--check");
  assert.equal(none.status, 77, none.stderr);
  assert.equal(none.stdout, "No update available.\n");

  // The server offers an older commit: refused before its tree is fetched; nothing moves.
  const c0 = serverCommit(srv, makeTree(join(dir, "t0"), { app: "old\n" }), "0.5", 5);
  const down = admin("upgrade");
  assert.notEqual(down.status, 0);
  assert.match(
    down.stderr,
    new RegExp(
      `Upgrade target revision '${c0}' with timestamp '.*' is chronologically older than current revision '${c2}'.*--allow-downgrade`,
    ),
  );
  assert.deepEqual(commits(), [c2, c1]);
  assert.equal(remoteRef(), c2);
  assert.equal(existsSync(join(repo, "state", `${c0}.commitpartial`)), true);

  // A newer one again: --pull-only downloads it and deploys nothing.
  const c3 = serverCommit(srv, makeTree(join(dir, "t3"), { app: "a=3\n" }), "3.0", 30);
  assert.equal(must(admin("upgrade", "--pull-only"), "--pull-only"), "");
  assert.equal(remoteRef(), c3);
  assert.deepEqual(commits(), [c2, c1]);

  // The server goes away: a clear error, nothing changed; --deploy-only needs no server.
  await nginx.stop();
  const gone = admin("upgrade");
  assert.notEqual(gone.status, 0);
  assert.match(gone.stderr, new RegExp(`127\\.0\\.0\\.1:${nginx.port}`));
  assert.match(gone.stderr, /ECONNREFUSED|refused/i);
  assert.equal(gone.stderr.trim().split("\n").length, 1, gone.stderr);
  assert.deepEqual(commits(), [c2, c1]);
  assert.equal(remoteRef(), c3);
  must(admin("upgrade", "--deploy-only"), "--deploy-only");
  assert.deepEqual(commits(), [c3, c2]);
  assert.match(os(S, "status"), new RegExp(`testos ${c3}\\.0\\n {4}Version: 3\\.0[\\s\\S]*testos ${c2}\\.0`));
  const both = admin("upgrade", "--pull-only", "--deploy-only");
  assert.match(both.stderr, /Cannot simultaneously specify --pull-only and --deploy-only/);
});
