// Boot counting in the entries tsostree writes (sysroot.boot-counting-tries): a new deployment's
// entry is named NAME+TRIES-0.conf, existing entries keep their counters across later deployments,
// the real ostree still reads the sysroot, and status says what boots next and why. The counting by
// a bootloader and the fallback are proven by booting (test/boot/cycle.test.ts).
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, readlinkSync, renameSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tsostree, tsostreePkg } from "../helpers.js";
import { commit, makeSysroot, makeTree, must, os, sysScratch, ts } from "./fixture.js";

function entries(sysroot: string): string[] {
  return readdirSync(join(sysroot, "boot/loader/entries")).sort();
}

describe("boot counting", () => {
  it("gives a new deployment's entry its tries and carries counters over", (t) => {
    const dir = sysScratch(t);
    const sysroot = makeSysroot(join(dir, "sysroot"));
    const tree = makeTree(join(dir, "tree"));
    commit(sysroot, tree, "1");
    ts(sysroot, "deploy", "--os=testos", "testos/stable");
    assert.deepEqual(entries(sysroot), ["ostree-1-testos.conf"], "no counting unless configured");
    must(
      tsostree(["config", `--repo=${sysroot}/ostree/repo`, "set", "sysroot.boot-counting-tries", "3"]),
      "config",
    );
    ts(sysroot, "deploy", "--os=testos", "testos/stable");
    assert.deepEqual(entries(sysroot), ["ostree-1-testos.conf", "ostree-2-testos+3-0.conf"]);
    // A bootloader counted two tries on it; the next deployment keeps that on its (renumbered) entry,
    // even though the same kernel and options would let ostree swap only the bootlinks.
    const e = join(sysroot, "boot/loader/entries");
    renameSync(join(e, "ostree-2-testos+3-0.conf"), join(e, "ostree-2-testos+1-2.conf"));
    ts(sysroot, "deploy", "--os=testos", "testos/stable");
    assert.deepEqual(entries(sysroot), ["ostree-1-testos+1-2.conf", "ostree-2-testos+3-0.conf"]);
    const target = (entry: string) => {
      const link = /ostree=(\S+)/.exec(readFileSync(join(e, entry), "utf8"))?.[1] as string;
      return readlinkSync(join(sysroot, link));
    };
    assert.match(target("ostree-1-testos+1-2.conf"), /\.1$/, "the counted tries stay with deployment .1");
    assert.match(target("ostree-2-testos+3-0.conf"), /\.2$/);
    // The real ostree reads the sysroot.
    assert.equal(os(sysroot, "status").match(/^ {2}testos /gm)?.length, 2);
    const text = ts(sysroot, "status");
    assert.match(text, /Boot counting: not yet confirmed by a completed boot \(3 tries left, 0 done\)/);
  });

  it("status: an entry whose tries are used up is not what boots next, and says why", (t) => {
    const dir = sysScratch(t);
    const sysroot = makeSysroot(join(dir, "sysroot"));
    const tree = makeTree(join(dir, "tree"));
    commit(sysroot, tree, "1");
    ts(sysroot, "deploy", "--os=testos", "testos/stable");
    must(
      tsostree(["config", `--repo=${sysroot}/ostree/repo`, "set", "sysroot.boot-counting-tries", "2"]),
      "config",
    );
    ts(sysroot, "deploy", "--os=testos", "testos/stable");
    const e = join(sysroot, "boot/loader/entries");
    renameSync(join(e, "ostree-2-testos+2-0.conf"), join(e, "ostree-2-testos+0-2.conf"));
    const st = JSON.parse(ts(sysroot, "status", "--json")) as {
      nextBoot: string;
      deployments: { serial: number; defaultNextBoot: boolean; bootCounting: unknown }[];
    };
    assert.equal(st.deployments[0]?.serial, 1);
    assert.deepEqual(st.deployments[0]?.bootCounting, { triesLeft: 0, triesDone: 2, failed: true });
    assert.equal(st.deployments[1]?.defaultNextBoot, true);
    assert.match(st.nextBoot, /\.0$/);
    assert.match(ts(sysroot, "status"), /Boot failed: no boot reached boot-complete.target in 2 tries/);
    const pkg = must(tsostreePkg(["status", `--sysroot=${sysroot}`]), "pkg status");
    assert.match(pkg, /BootFailed: no boot completed in 2 tries/);
  });

  it("refuses a config value that is not a number of tries", (t) => {
    const dir = sysScratch(t);
    const sysroot = makeSysroot(join(dir, "sysroot"));
    commit(sysroot, makeTree(join(dir, "tree")), "1");
    must(
      tsostree(["config", `--repo=${sysroot}/ostree/repo`, "set", "sysroot.boot-counting-tries", "many"]),
      "config",
    );
    const r = tsostree(["admin", `--sysroot=${sysroot}`, "deploy", "--os=testos", "testos/stable"]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /sysroot\.boot-counting-tries=many .* not a number of tries/);
    assert.equal(existsSync(join(sysroot, "ostree/deploy/testos/deploy")), false, "nothing checked out");
  });
});
