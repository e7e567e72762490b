// The sysroot every layering test starts from: DIR/sysroot laid out, stateroot OS made, TREE
// composed into the base commit REF (`tsostree-pkg compose rootfs`) and deployed.
import { join } from "node:path";
import { tsostree, tsostreePkg } from "../helpers.js";
import { must } from "../sysroot/fixture.js";

export function deployedBase(
  dir: string,
  tree: string,
  os: string,
  ref: string,
): { sysroot: string; repo: string } {
  const sysroot = join(dir, "sysroot");
  const repo = join(sysroot, "ostree/repo");
  must(tsostree(["admin", "init-fs", sysroot]), "init-fs");
  must(tsostree(["admin", "os-init", os, `--sysroot=${sysroot}`]), "os-init");
  must(tsostreePkg(["compose", "rootfs", tree, `--repo=${repo}`, `--branch=${ref}`]), "compose rootfs");
  must(tsostree(["admin", "deploy", `--sysroot=${sysroot}`, `--os=${os}`, ref]), "admin deploy");
  return { sysroot, repo };
}
