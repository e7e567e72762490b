// The demo's setting: an unprivileged user with a bare-user system repo and user-mode checkouts.
import assert from "node:assert/strict";
import { chownSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { haveTools, needRoot, run, tsostreeBin } from "../helpers.js";
import { makeTree, must, sysScratch } from "./fixture.js";

const NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups", "--"];

function chownR(p: string): void {
  must(run("chown", ["-R", "65534:65534", p]), "chown");
}

test("an unprivileged user deploys, boots and rolls back with a bare-user repo", (t) => {
  if (!needRoot(t, "switching to an unprivileged user")) return;
  if (!haveTools(t, "ostree", "setpriv")) return;
  const dir = sysScratch(t);
  chownSync(dir, 65534, 65534);
  const asNobody = (cmd: string, ...args: string[]) =>
    must(run("setpriv", [...NOBODY, cmd, ...args]), `${cmd} ${args.join(" ")}`);
  const ts = (...args: string[]) => asNobody(process.execPath, tsostreeBin, "admin", ...args);
  const S = join(dir, "S");
  ts("init-fs", S);
  ts(`--sysroot=${S}`, "os-init", "testos");
  assert.match(readFileSync(join(S, "ostree/repo/config"), "utf8"), /mode=bare-user/);
  for (const v of ["1", "2"]) {
    const tree = makeTree(join(dir, `t${v}`), { app: `v=${v}\n`, kernel: `K${v}\n` });
    chownR(tree);
    asNobody(
      "ostree",
      `--repo=${S}/ostree/repo`,
      "commit",
      "-b",
      "testos/stable",
      `--tree=dir=${tree}`,
      `--add-metadata-string=version=${v}`,
    );
    ts(`--sysroot=${S}`, "deploy", "--os=testos", "testos/stable");
    if (v === "1") ts(`--sysroot=${S}`, "boot");
  }
  assert.match(ts(`--sysroot=${S}`, "status"), /\(pending\)\n {4}Version: 2[\s\S]*\* testos/);
  ts(`--sysroot=${S}`, "rollback");
  ts(`--sysroot=${S}`, "boot");
  assert.equal(readFileSync(join(S, "run/root/etc/app.conf"), "utf8"), "v=1\n");
  must(run("setpriv", [...NOBODY, "ostree", "fsck", `--repo=${S}/ostree/repo`]), "fsck");
});
