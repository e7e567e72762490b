// Tiny bootable trees and sysroots for the sysroot tests: a fake kernel + initramfs under
// usr/lib/modules, os-release and a few usr/etc files, committed with the real ostree.
import { spawnSync } from "node:child_process";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ostree, type RunResult, tsostree } from "../helpers.js";

/** A scratch dir whose removal first clears the immutable bit ostree puts on deployment roots. */
export function sysScratch(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(process.env.TSOSTREE_TEST_TMP ?? tmpdir(), "tsostree-sysroot-"));
  if (!process.env.KEEP_TMP)
    t.after(() => {
      spawnSync("chattr", ["-R", "-i", dir], { stdio: "ignore" });
      // Overlays (unlock) and tmpfs (ENOSPC test) mounted below the scratch dir go first.
      for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n").reverse()) {
        const point = line.split(" ")[4];
        if (point?.startsWith(`${dir}/`)) spawnSync("umount", ["-l", point], { stdio: "ignore" });
      }
      rmSync(dir, { recursive: true, force: true });
    });
  return dir;
}

export interface TreeSpec {
  kernel?: string;
  app?: string;
  files?: Record<string, string>;
}

export function makeTree(dir: string, spec: TreeSpec = {}): string {
  const mod = join(dir, "usr/lib/modules/6.1.0-test");
  mkdirSync(mod, { recursive: true });
  mkdirSync(join(dir, "usr/etc/sub"), { recursive: true });
  writeFileSync(join(mod, "vmlinuz"), spec.kernel ?? "KERNEL\n");
  writeFileSync(join(mod, "initramfs.img"), "INITRD\n");
  writeFileSync(join(dir, "usr/lib/os-release"), 'NAME="Test OS"\nID=testos\nPRETTY_NAME="Test OS 42"\n');
  writeFileSync(join(dir, "usr/etc/app.conf"), spec.app ?? "a=1\n");
  writeFileSync(join(dir, "usr/etc/sub/x.conf"), "x\n");
  writeFileSync(join(dir, "usr/etc/removeme.conf"), "gone\n");
  for (const [p, c] of Object.entries(spec.files ?? {})) {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  return dir;
}

export function must(r: RunResult, what: string): string {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** init-fs + os-init testos, by the real ostree (or by us with `by: "ts"`). */
export function makeSysroot(dir: string, by: "ostree" | "ts" = "ostree"): string {
  mkdirSync(dir, { recursive: true });
  if (by === "ostree") {
    must(ostree(["admin", "init-fs", dir]), "init-fs");
    must(ostree(["admin", `--sysroot=${dir}`, "os-init", "testos"]), "os-init");
  } else {
    must(tsostree(["admin", "init-fs", dir]), "init-fs");
    must(tsostree(["admin", `--sysroot=${dir}`, "os-init", "testos"]), "os-init");
  }
  return dir;
}

/** Commits a tree into the sysroot's repo with the real ostree; returns the checksum. The timestamp
 * derives from the version, so the same tree and version give the same commit in every sysroot. */
export function commit(sysroot: string, tree: string, version: string, ref = "testos/stable"): string {
  let h = 0;
  for (const c of version) h = (h * 31 + c.charCodeAt(0)) % 3600;
  const ts = `2024-01-01 00:${String(Math.floor(h / 60)).padStart(2, "0")}:${String(h % 60).padStart(2, "0")}`;
  return must(
    ostree([
      `--repo=${sysroot}/ostree/repo`,
      "commit",
      "-b",
      ref,
      `--tree=dir=${tree}`,
      "-s",
      version,
      `--add-metadata-string=version=${version}`,
      `--timestamp=${ts}`,
    ]),
    "ostree commit",
  ).trim();
}

export function ts(sysroot: string, ...args: string[]): string {
  return must(tsostree(["admin", `--sysroot=${sysroot}`, ...args]), `tsostree admin ${args.join(" ")}`);
}

export function os(sysroot: string, ...args: string[]): string {
  return must(ostree(["admin", `--sysroot=${sysroot}`, ...args]), `ostree admin ${args.join(" ")}`);
}

export function deploymentDirs(sysroot: string): string[] {
  return readdirSync(join(sysroot, "ostree/deploy/testos/deploy"))
    .filter((n) => !n.endsWith(".origin"))
    .sort();
}

/** Everything under a directory as "path type [target|content]" lines, for layout comparisons. */
export function snapshot(dir: string, skip: (rel: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const p = join(dir, r);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out.push(`${r} -> ${readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.push(`${r}/ ${(st.mode & 0o7777).toString(8)}`);
        walk(r);
      } else out.push(`${r} ${(st.mode & 0o7777).toString(8)} ${readFileSync(p).toString("base64")}`);
    }
  };
  walk("");
  return out;
}
