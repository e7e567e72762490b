// primary.xml / repomd.xml / .repo parsing: unit cases, the fast scanner against the XML parser, and
// the speed bar on a Fedora-sized synthetic primary (70 k packages).
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRepoFile } from "../../../backends/rpm/repo-file.js";
import { parsePrimary, RpmMdError } from "../../../backends/rpm/rpmmd-primary.js";
import { parseRepomd } from "../../../backends/rpm/rpmmd-repomd.js";

function pkg(i: number, extra = ""): string {
  return `<package type="rpm"><name>p${i}</name><arch>x86_64</arch><version epoch="${i % 3}" ver="1.${i}" rel="1.fc39"/>
<checksum type="sha256" pkgid="YES">${"a".repeat(64)}</checksum><summary>s &amp; t</summary><size package="1234" installed="5" archive="6"/>
<description>A description of a synthetic package, a couple of lines long like Fedora's.
Second line of it.</description><location href="Packages/p/p${i}.rpm"/>
<format><rpm:license>MIT</rpm:license><rpm:sourcerpm>p${i}.src.rpm</rpm:sourcerpm>
<rpm:provides><rpm:entry name="p${i}" flags="EQ" epoch="0" ver="1.${i}" rel="1.fc39"/><rpm:entry name="cap${i % 50}"/><rpm:entry name="libp${i}.so.1()(64bit)"/></rpm:provides>
<rpm:requires><rpm:entry name="libp${(i + 1) % 70000}.so.1()(64bit)"/><rpm:entry name="p${(i + 7) % 70000}" flags="GE" epoch="0" ver="1.0"/><rpm:entry name="(a &gt; 1 or b)"/><rpm:entry name="/bin/sh" pre="1"/></rpm:requires>
${extra}<file>/usr/bin/p${i}</file><file type="dir">/etc/p${i}</file></format></package>
`;
}

function primary(n: number, extra = ""): string {
  const parts = [
    '<?xml version="1.0"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="x">\n',
  ];
  for (let i = 0; i < n; i++) parts.push(pkg(i, extra));
  parts.push("</metadata>\n");
  return parts.join("");
}

test("primary.xml: records, entries, files; scanner and XML parser agree", () => {
  const xml = primary(3);
  const fast = parsePrimary(xml, "file:///r", "t");
  assert.equal(fast.length, 3);
  assert.deepEqual(fast[1].entries?.requires?.[2], { name: "(a > 1 or b)", evr: "" });
  assert.deepEqual(fast[1].entries?.requires?.[3], { name: "/bin/sh", evr: "", pre: true });
  assert.deepEqual(fast[1].entries?.provides?.[0], { name: "p1", evr: "1.1-1.fc39", op: "=" });
  assert.equal(fast[2].epoch, 2);
  assert.deepEqual(fast[0].files, ["/usr/bin/p0", "/etc/p0"]);
  // The archive's size and checksum reach the location: a download is checked against them.
  assert.deepEqual(fast[0].location, {
    baseUrl: "file:///r",
    path: "Packages/p/p0.rpm",
    size: 1234,
    checksum: { algo: "sha256", hex: "a".repeat(64) },
  });
  // CDATA is outside what the scanner handles: the XML parser must give the same records.
  const slow = parsePrimary(xml.replace("<name>p0</name>", "<name><![CDATA[p0]]></name>"), "file:///r", "t");
  assert.deepEqual(slow, fast);
  assert.throws(() => parsePrimary(xml.slice(0, xml.length - 200), "file:///r", "t"), RpmMdError);
});

test("repomd.xml and .repo files", () => {
  const md = parseRepomd(
    `<repomd><data type="primary"><checksum type="sha256">AB</checksum><open-checksum type="sha256">cd</open-checksum><location href="repodata/p.xml.gz"/><size>3</size></data></repomd>`,
    "t",
  );
  assert.deepEqual(md.get("primary"), {
    type: "primary",
    checksum: { algo: "sha256", hex: "ab" },
    openChecksum: { algo: "sha256", hex: "cd" },
    href: "repodata/p.xml.gz",
    size: 3,
  });
  const [r] = parseRepoFile(
    "[fedora]\nname=Fedora $releasever\nbaseurl=http://m/$releasever/$basearch/\n  http://n/$basearch/\ngpgcheck=1\nrepo_gpgcheck=0\ngpgkey=file:///k\npriority=10\n",
    "t",
    { basearch: "x86_64", releasever: "39" },
  );
  assert.deepEqual(r.baseurls, ["http://m/39/x86_64/", "http://n/x86_64/"]);
  assert.equal(r.name, "Fedora 39");
  assert.equal(r.priority, 10);
  assert.ok(r.gpgcheck && !r.repoGpgcheck && r.enabled);
});

test("a Fedora-sized primary.xml (70 k packages) parses in a few seconds", () => {
  const xml = primary(70000);
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const recs = parsePrimary(xml, "file:///r", "t");
  const ms = performance.now() - t0;
  assert.equal(recs.length, 70000);
  assert.ok(ms < 6000, `took ${ms} ms`);
  const grown = process.memoryUsage().rss - rss0;
  assert.ok(grown < xml.length * 10, `grew ${grown} bytes for ${xml.length}`);
});
