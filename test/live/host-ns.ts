// A "real host" for the live-apply tests, made without touching this machine's /usr: inside a
// private mount namespace (`unshare -m --propagation private`), the booted deployment's directory is
// bind-mounted at HOST and set up as ostree-prepare-root sets up `/` (the physical sysroot at
// /sysroot, its /boot, the stateroot's /var, fresh /proc, /dev, /run and /tmp, /run/ostree-booted),
// and tsostree runs chrooted into it with `--sysroot=/`. So `isRealRoot` holds and the booted
// deployment is found by the inode of `/`: the host code path runs (overlay on /usr, writes through
// /run, `ldconfig -X`). Node and the project come from this machine, bound read-only under
// /run/host; node runs on the deployment's own glibc and libstdc++ (a Debian bookworm minbase, as
// this machine is). The namespace, and every mount in it, ends with the script.
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot, type RunResult, run } from "../helpers.js";

export const MINBASE = join(projectRoot, "fixtures/out/minbase");

/** A minbase tree as an ostree OS tree ships it: /sysroot and /ostree -> sysroot/ostree (hardlinks of MINBASE). */
export function hostTree(dir: string): string {
  const tree = join(dir, "tree");
  const r = run("cp", ["-a", "--link", MINBASE, tree]);
  if (r.status !== 0) throw new Error(`cp -al ${MINBASE}: ${r.stderr}`);
  mkdirSync(join(tree, "sysroot"), { mode: 0o755 });
  symlinkSync("sysroot/ostree", join(tree, "ostree"));
  return tree;
}

export interface Host {
  sysroot: string;
  /** The booted deployment's directory (becomes `/`). */
  deployment: string;
  /** The stateroot's /var. */
  var: string;
  /** The mount point used as `/` inside the namespace. */
  mnt: string;
}

/** `tsostree-pkg ARGS --sysroot=/` inside HOST, as a shell command line; `env`: VAR=value words. */
export function hostPkg(args: string, env = ""): string {
  return `chroot "$HOST" /usr/bin/env -i ${env} PATH=/usr/sbin:/usr/bin:/sbin:/bin /run/host/usr/bin/node /run/host/main/bin/tsostree-pkg.js ${args} --sysroot=/`;
}

/**
 * Runs `script` (sh, `set -u`) in a private mount namespace with $HOST set up as the booted host;
 * $DEPLOYMENT is the deployment's directory seen from outside the chroot (not through HOST's mounts).
 */
export function inHost(h: Host, script: string): RunResult {
  mkdirSync(h.mnt, { recursive: true });
  const setup = `
set -u
HOST='${h.mnt}'
DEPLOYMENT='${h.deployment}'
mount --bind "$DEPLOYMENT" "$HOST"
mount --bind '${h.sysroot}' "$HOST/sysroot"
mount --bind '${join(h.sysroot, "boot")}' "$HOST/boot"
mount --bind '${h.var}' "$HOST/var"
mount -t proc proc "$HOST/proc"
mount --rbind /dev "$HOST/dev"
mount -t tmpfs tmpfs "$HOST/run"
mount -t tmpfs tmpfs "$HOST/tmp"
mkdir -p "$HOST/run/host/usr" "$HOST/run/host/main"
mount --bind -o ro /usr "$HOST/run/host/usr"
mount --bind -o ro '${projectRoot}' "$HOST/run/host/main"
: > "$HOST/run/ostree-booted"
`;
  const file = join(h.mnt, "..", "host-script.sh");
  writeFileSync(file, `${setup}\n${script}\n`);
  return run("unshare", ["-m", "--propagation", "private", "sh", file]);
}
