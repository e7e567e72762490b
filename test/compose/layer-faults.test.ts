// Bad input to `tsostree-pkg install` on an RPM base: an unknown name, an unsatisfiable request, a
// package the base has, a tampered .rpm, a hostile .rpm the repository index vouches for, a failing
// %post. Each must fail with one line that says what to do, deploy nothing, and leave the repo so
// that both fscks pass and prune finds nothing new.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it, type TestContext } from "node:test";
import { haveTools } from "../helpers.js";
import { sysScratch } from "../sysroot/fixture.js";
import { assertFailedCleanly, before, pkg, type RpmSysroot, rpmSysroot } from "./layer-faults-fixture.js";

const cleanups: (() => void)[] = [];
let shared: RpmSysroot | undefined;

function need(t: TestContext): RpmSysroot | undefined {
  if (!haveTools(t, "ostree", "rpm", "rpmbuild", "createrepo_c", "bwrap")) return undefined;
  shared ??= rpmSysroot(sysScratch({ after: (fn) => cleanups.push(fn) }));
  return shared;
}

describe("install on an RPM base refuses bad input and changes nothing", { concurrency: false }, () => {
  after(() => {
    for (const fn of cleanups) fn();
  });

  it("an unknown package name", (t) => {
    const c = need(t);
    if (!c) return;
    const b = before(c);
    const r = pkg(c, ["install", "tso-nosuch"]);
    t.diagnostic(assertFailedCleanly(c, r, b, /tso-nosuch/, /check the name/));
  });

  it("a package whose dependency no repository has", (t) => {
    const c = need(t);
    if (!c) return;
    const b = before(c);
    const r = pkg(c, ["install", "tso-orphan"]);
    t.diagnostic(assertFailedCleanly(c, r, b, /tso-orphan/, /tso-missing/, /configure a repository/));
    // Two steps of why, still on one line.
    const chain = pkg(c, ["install", "tso-chain"]);
    t.diagnostic(assertFailedCleanly(c, chain, b, /tso-chain/, /tso-orphan/, /tso-missing/));
  });

  it("a package the base already has: refused, pointing at --allow-inactive", (t) => {
    const c = need(t);
    if (!c) return;
    const b = before(c);
    const r = pkg(c, ["install", "tso-libfoo"]);
    t.diagnostic(assertFailedCleanly(c, r, b, /tso-libfoo/, /--allow-inactive/));
  });

  it("an .rpm whose bytes no longer match the checksum in primary.xml", (t) => {
    const c = need(t);
    if (!c) return;
    const file = join(c.repo.root, "tso-extra-1.0-1.noarch.rpm");
    const good = readFileSync(file);
    const bad = Buffer.from(good);
    bad[bad.length >> 1]! ^= 0xff;
    writeFileSync(file, bad);
    try {
      const b = before(c);
      const r = pkg(c, ["install", "tso-extra"]);
      t.diagnostic(assertFailedCleanly(c, r, b, /tso-extra/, /sha256 mismatch/i, /tampered/));
    } finally {
      writeFileSync(file, good);
    }
  });

  it("a hostile .rpm (payload path with ..) that the repository index vouches for", (t) => {
    const c = need(t);
    if (!c) return;
    const b = before(c);
    const r = pkg(c, ["install", "crafted"]);
    t.diagnostic(assertFailedCleanly(c, r, b, /crafted/, /\.\./, /leave it out of the request/));
  });

  it("a package whose %post fails", (t) => {
    const c = need(t);
    if (!c) return;
    const b = before(c);
    const r = pkg(c, ["install", "tso-bad"]);
    t.diagnostic(assertFailedCleanly(c, r, b, /tso-bad/, /%?post/));
  });
});
