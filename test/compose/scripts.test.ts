import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, type TestContext, test } from "node:test";
import {
  type InstalledInterest,
  planScripts,
  runScripts,
  ScriptError,
  type ScriptPackage,
  UnsupportedScriptError,
} from "../../src/compose/scripts.js";
import { haveTools, skipOrFail } from "../helpers.js";
import {
  buildDeb,
  commitTree,
  DEBS,
  debPackage,
  MINBASE,
  MutableTree,
  minbaseCommit,
  Repo,
  Transaction,
} from "./fixture.js";

const pkg = (p: Partial<ScriptPackage> & { name: string }): ScriptPackage => ({
  kind: "deb",
  arch: "amd64",
  version: "1.0",
  scripts: [],
  triggers: [],
  newPaths: [],
  ...p,
});
const sh = (phase: string, body = "#!/bin/sh\nexit 0\n", interpreter = "") => ({ phase, interpreter, body });

test("plan: deb preinst install for every package, then postinst configure '', with dpkg's environment", () => {
  const { steps, files } = planScripts({
    packages: [
      pkg({ name: "a", scripts: [sh("preinst"), sh("postinst")] }),
      pkg({ name: "b", scripts: [sh("postinst"), sh("prerm")] }),
    ],
    installed: [],
    dpkgVersion: "1.21.22",
    hasLdconfig: false,
  });
  assert.deepEqual(
    steps.map((s) => [s.label, ...s.argv.slice(1)]),
    [
      ["a preinst", "install"],
      ["a postinst", "configure", ""],
      ["b postinst", "configure", ""],
    ],
  );
  assert.equal(steps[0]!.argv[0], "/run/tsostree/a_amd64.preinst");
  assert.deepEqual(
    files.map((f) => f.name),
    ["a_amd64.preinst", "a_amd64.postinst", "b_amd64.postinst"],
  );
  assert.deepEqual(steps[2]!.env, {
    DPKG_ADMINDIR: "/var/lib/dpkg",
    DPKG_ROOT: "",
    DPKG_MAINTSCRIPT_PACKAGE_REFCOUNT: "1",
    DEBIAN_FRONTEND: "noninteractive",
    DEBCONF_NONINTERACTIVE_SEEN: "true",
    HOME: "/root",
    DPKG_MAINTSCRIPT_PACKAGE: "b",
    DPKG_MAINTSCRIPT_ARCH: "amd64",
    DPKG_MAINTSCRIPT_NAME: "postinst",
    DPKG_RUNNING_VERSION: "1.21.22",
  });
});

test("plan: triggers run once, for installed packages whose interest a new path or activation hits", () => {
  const interest = (p: string, trigger: string, kind = "interest-noawait"): InstalledInterest => ({
    package: p,
    arch: "amd64",
    kind,
    trigger,
    postinst: `/var/lib/dpkg/info/${p}.postinst`,
  });
  const { steps } = planScripts({
    packages: [
      pkg({ name: "lib", newPaths: ["/usr/lib/x86_64-linux-gnu/libz.so.1"] }),
      pkg({
        name: "doc",
        newPaths: ["/usr/share/man/man1/x.1.gz"],
        triggers: [{ kind: "activate-noawait", condition: "mime", interpreter: "", body: "" }],
      }),
      pkg({
        name: "new-watcher",
        triggers: [{ kind: "interest", condition: "/usr/share/man", interpreter: "", body: "" }],
      }),
    ],
    installed: [
      interest("libc-bin", "ldconfig", "interest-await"),
      interest("man-db", "/usr/share/man"),
      interest("man-db", "mime"),
      interest("shells", "/usr/share/shells.d"),
    ],
    dpkgVersion: "1.21.22",
    hasLdconfig: true,
  });
  assert.deepEqual(
    steps.map((s) => s.argv),
    [
      ["/var/lib/dpkg/info/libc-bin.postinst", "triggered", "ldconfig"],
      ["/var/lib/dpkg/info/man-db.postinst", "triggered", "/usr/share/man mime"],
    ],
  );
  // Nobody interested in ldconfig: the tree's ldconfig runs itself.
  const direct = planScripts({
    packages: [pkg({ name: "lib", newPaths: ["usr/lib64/libq.so"] })],
    installed: [],
    dpkgVersion: "",
    hasLdconfig: true,
  });
  assert.deepEqual(
    direct.steps.map((s) => s.argv),
    [["ldconfig"]],
  );
});

test("plan: rpm %pretrans, %pre 1, %post 1, file triggers with paths on stdin, %posttrans; Lua refused", () => {
  const r = pkg({
    kind: "rpm",
    name: "r",
    arch: "x86_64",
    scripts: [
      sh("posttrans", "echo pt", "/bin/sh"),
      sh("post", "echo post", "/bin/sh"),
      sh("pre", "echo pre", "/bin/bash -e"),
    ],
    triggers: [
      { kind: "transfiletriggerin", condition: "/usr/share/fonts", interpreter: "/bin/sh", body: "cat" },
    ],
    newPaths: ["/usr/share/fonts/a.ttf", "/usr/bin/r"],
  });
  const { steps } = planScripts({ packages: [r], installed: [], dpkgVersion: "", hasLdconfig: false });
  assert.deepEqual(
    steps.map((s) => [s.script, ...s.argv]),
    [
      ["%pre", "/bin/bash", "-e", "/run/tsostree/r_x86_64.pre", "1"],
      ["%post", "/bin/sh", "/run/tsostree/r_x86_64.post", "1"],
      ["%posttrans", "/bin/sh", "/run/tsostree/r_x86_64.posttrans"],
      ["%transfiletriggerin", "/bin/sh", "/run/tsostree/r_x86_64.transfiletriggerin", "1"],
    ],
  );
  assert.equal(steps[3]!.stdin, "/usr/share/fonts/a.ttf\n");
  assert.throws(
    () =>
      planScripts({
        packages: [pkg({ kind: "rpm", name: "luapkg", scripts: [sh("post", "print(1)", "<lua>")] })],
        installed: [],
        dpkgVersion: "",
        hasLdconfig: false,
      }),
    (e: Error) => e instanceof UnsupportedScriptError && /luapkg: its %post scriptlet is Lua/.test(e.message),
  );
});

// ---- real maintainer scripts on the minbase tree ----

let shared: Promise<{ dir: string; repo: string; base: string }> | null = null;
let sharedDir: string | null = null;
after(() => {
  if (sharedDir && !process.env.KEEP_TMP) rmSync(sharedDir, { recursive: true, force: true });
});
function minbase(t: TestContext): Promise<{ dir: string; repo: string; base: string }> | null {
  if (!haveTools(t, "ostree", "bwrap", "unshare", "dpkg-deb")) return null;
  if (!existsSync(join(MINBASE, ".complete"))) {
    skipOrFail(t, "fixtures/out/minbase is missing: run `sudo bash fixtures/minbase.sh`");
    return null;
  }
  if (!existsSync(join(DEBS, "cron_3.0pl1-162_amd64.deb"))) {
    skipOrFail(t, "fixtures/out/debs is missing: run `bash fixtures/fetch-debian-packages.sh`");
    return null;
  }
  shared ??= (async () => {
    const dir = mkdtempSync(join(process.env.TSOSTREE_TEST_TMP ?? tmpdir(), "tsostree-scripts-"));
    sharedDir = dir;
    const repo = join(dir, "repo");
    execFileSync("ostree", ["init", `--repo=${repo}`, "--mode=bare"]);
    return { dir, repo, base: minbaseCommit(dir, repo) };
  })();
  return shared;
}

let seq = 0;
/** Commits the packages' payloads, unions them over the base and runs their scripts. */
async function layer(
  env: { dir: string; repo: string; base: string },
  debs: string[],
  opts: { noScripts?: boolean } = {},
): Promise<{ tx: Transaction; tree: MutableTree; run: () => ReturnType<typeof runScripts> }> {
  const pkgs = debs.map((d) => {
    const work = join(env.dir, `pkg-${seq++}`);
    mkdirSync(work);
    return debPackage(d, work, env.repo);
  });
  const repo = Repo.open(env.repo);
  const tx = await Transaction.begin(repo);
  const tree = MutableTree.fromCommit(tx, env.base);
  for (const p of pkgs) {
    const c = repo.loadCommit(p.commit);
    tree.overlay(c.rootTree, c.rootMeta);
  }
  return {
    tx,
    tree,
    run: () =>
      runScripts(
        tx,
        tree,
        pkgs.map((p) => p.pkg),
        opts,
      ),
  };
}

const ostree = (repo: string, ...args: string[]) =>
  execFileSync("ostree", [`--repo=${repo}`, ...args], { encoding: "utf8" });

const TEST_POSTINST = `#!/bin/sh
set -e
[ "$1" = configure ] || exit 0
[ "$DPKG_MAINTSCRIPT_NAME" = postinst ] && [ "$DPKG_MAINTSCRIPT_PACKAGE" = tsotest ]
update-alternatives --install /usr/bin/tsotest-editor tsotest-editor /usr/bin/tsotest 50
if command -v adduser >/dev/null; then
  adduser --system --group --no-create-home --home /nonexistent tsotest
  addgroup --system crontab
else
  useradd --system --user-group --no-create-home --home-dir /nonexistent tsotest
  groupadd --system crontab
fi
`;

test("scripts: real postinsts (update-alternatives, adduser, dpkg-statoverride, update-rc.d, deb-systemd-helper) change only the new tree", async (t) => {
  const envP = minbase(t);
  if (!envP) return;
  const env = await envP;
  const deb = buildDeb(
    join(env.dir, "tsotest.deb"),
    env.dir,
    "tsotest",
    { "usr/bin/tsotest": "#!/bin/sh\n" },
    {
      postinst: TEST_POSTINST,
    },
  );
  const { tx, tree, run } = await layer(env, [
    deb,
    join(DEBS, "cron_3.0pl1-162_amd64.deb"),
    join(DEBS, "logrotate_3.21.0-1_amd64.deb"),
  ]);
  const r = await run();
  assert.deepEqual(
    r.ran.map((s) => s.label),
    ["cron preinst", "tsotest postinst", "cron postinst", "logrotate postinst"],
  );
  const out = commitTree(tx, tree, r.memory!);
  await tx.commit();
  const cat = (p: string) => ostree(env.repo, "cat", out, p);
  assert.match(cat("/usr/etc/passwd"), /^tsotest:x:\d+:\d+:/m);
  assert.match(cat("/usr/etc/group"), /^crontab:x:\d+:/m);
  assert.match(cat("/usr/etc/shadow"), /^tsotest:/m);
  assert.match(cat("/usr/etc/gshadow"), /^crontab:/m);
  assert.match(
    ostree(env.repo, "ls", out, "/usr/etc/alternatives/tsotest-editor"),
    /-> \/usr\/bin\/tsotest$/m,
  );
  assert.match(cat("/usr/share/dpkg/database/alternatives/tsotest-editor"), /\/usr\/bin\/tsotest\n50/);
  assert.match(cat("/usr/share/dpkg/database/statoverride"), /^root crontab 2755 \/usr\/bin\/crontab$/m);
  const gid = /^crontab:x:(\d+):/m.exec(cat("/usr/etc/group"))![1];
  assert.match(ostree(env.repo, "ls", out, "/usr/bin/crontab"), new RegExp(`^-02755 0 ${gid} `));
  assert.match(ostree(env.repo, "ls", out, "/usr/etc/rc2.d/S01cron"), /-> \.\.\/init\.d\/cron/);
  assert.match(
    ostree(env.repo, "ls", out, "/usr/etc/systemd/system/timers.target.wants/logrotate.timer"),
    /logrotate\.timer/,
  );
  // Nothing of the scratch /var or the mount points reached the tree, and every object is intact.
  assert.doesNotMatch(ostree(env.repo, "ls", "-R", out, "/var/lib/systemd"), /cron|logrotate/);
  assert.equal(
    ostree(env.repo, "ls", "-R", out, "/var/log"),
    ostree(env.repo, "ls", "-R", env.base, "/var/log"),
  );
  execFileSync("ostree", [`--repo=${env.repo}`, "fsck"], { stdio: "pipe" });
});

test("scripts: a failing postinst is a ScriptError naming package, script and status; nothing of it reaches the tree", async (t) => {
  const envP = minbase(t);
  if (!envP) return;
  const env = await envP;
  const deb = buildDeb(
    join(env.dir, "broken.deb"),
    env.dir,
    "broken",
    { "usr/share/broken/x": "x" },
    {
      postinst: "#!/bin/sh\necho touching >&2\necho x > /etc/broken.conf\necho 'cannot go on' >&2\nexit 7\n",
    },
  );
  const { tx, tree, run } = await layer(env, [deb]);
  const before = tree.write(tx).tree;
  await assert.rejects(run(), (e: Error) => {
    assert.ok(e instanceof ScriptError);
    assert.equal(e.message.split("\n").length, 1);
    assert.match(e.message, /^broken: postinst script failed with exit status 7/);
    assert.equal(e.status, 7);
    assert.match(e.output, /touching\ncannot go on/);
    return true;
  });
  assert.equal(tree.write(tx).tree, before);
  assert.equal(tree.lookup("usr/etc/broken.conf"), null);
  tx.abort();
});

test("scripts: the ldconfig trigger (libc-bin's interest) rebuilds usr/etc/ld.so.cache when a library is added", async (t) => {
  const envP = minbase(t);
  if (!envP) return;
  const env = await envP;
  const { tx, tree, run } = await layer(env, [join(DEBS, "libunwind8_1.6.2-3_amd64.deb")]);
  const r = await run();
  assert.deepEqual(
    r.plan.map((s) => s.argv.join(" ")),
    ["/var/lib/dpkg/info/libc-bin.postinst triggered ldconfig"],
  );
  const out = commitTree(tx, tree, r.memory!);
  await tx.commit();
  const cache = execFileSync("ostree", [`--repo=${env.repo}`, "cat", out, "/usr/etc/ld.so.cache"]);
  assert.ok(cache.includes("libunwind.so.8"), "ld.so.cache lists the new library");
  const old = execFileSync("ostree", [`--repo=${env.repo}`, "cat", env.base, "/usr/etc/ld.so.cache"]);
  assert.ok(!old.includes("libunwind.so.8"));
});

test("scripts: --no-scripts runs nothing and says what it skipped", async (t) => {
  const envP = minbase(t);
  if (!envP) return;
  const env = await envP;
  const { tx, tree, run } = await layer(env, [join(DEBS, "logrotate_3.21.0-1_amd64.deb")], {
    noScripts: true,
  });
  const before = tree.write(tx).tree;
  const r = await run();
  assert.equal(r.skipped, true);
  assert.deepEqual(
    r.plan.map((s) => s.label),
    ["logrotate postinst"],
  );
  assert.equal(r.memory, null);
  assert.equal(tree.write(tx).tree, before);
  tx.abort();
});
