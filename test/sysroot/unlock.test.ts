// `admin unlock` on a booted sandbox: an overlay over the running root's /usr (root only), gone
// after the next boot; --hotfix clones the deployment as the rollback target and persists.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { haveTools, needRoot } from "../helpers.js";
import { commit, makeSysroot, makeTree, sysScratch, ts } from "./fixture.js";

test("unlock: development overlay is discarded at boot; hotfix survives and leaves a clean rollback", (t) => {
  if (!needRoot(t, "an overlay mount")) return;
  if (!haveTools(t, "ostree")) return;
  const dir = sysScratch(t);
  const S = makeSysroot(join(dir, "S"), "ts");
  commit(S, makeTree(join(dir, "t1")), "1");
  ts(S, "deploy", "--os=testos", "testos/stable");
  assert.throws(() => ts(S, "unlock"), /Not currently booted/);
  ts(S, "boot");
  const usr = join(S, "run/root/usr");
  const dep = join(S, "ostree/deploy/testos/deploy");
  assert.match(ts(S, "unlock"), /Development mode enabled/);
  assert.match(ts(S, "status"), /Unlocked: development/);
  writeFileSync(join(usr, "lib/dev-file"), "x");
  const depDir = join(dep, ts(S, "status").split("\n")[0]!.split(" ")[2]!);
  assert.equal(existsSync(join(depDir, "usr/lib/dev-file")), false, "the deployment stays untouched");
  ts(S, "boot");
  assert.equal(existsSync(join(usr, "lib/dev-file")), false);
  assert.match(ts(S, "unlock", "--hotfix"), /Hotfix mode enabled/);
  const st = ts(S, "status");
  assert.match(
    st,
    /^\* testos [0-9a-f]{64}\.0\n {4}Version: 1\n {4}Unlocked: hotfix\n[\s\S]*\.1 \(rollback\)/,
  );
  writeFileSync(join(usr, "lib/hotfix-file"), "fix");
  ts(S, "boot");
  assert.equal(readFileSync(join(usr, "lib/hotfix-file"), "utf8"), "fix");
  ts(S, "boot", "1");
  assert.equal(existsSync(join(usr, "lib/hotfix-file")), false, "the clone is clean");
});
