// Test rpms built by rpmbuild from a spec written here, in every payload compression rpm offers.
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sh } from "../../helpers.js";

export const SPEC = `Name: tso-demo
Version: 2.0~rc1
Release: 3.fc40
Epoch: 1
Summary: demo package for tsostree tests
License: MIT
URL: https://example.org/demo
BuildArch: noarch
Requires: (foo or bar >= 2)
Requires: (pkgA if pkgB else pkgC)
Requires: baz >= 1.0-1
Requires(pre): /usr/sbin/useradd
Requires(post): coreutils
Provides: demo-virtual = 5
Recommends: rec-pkg
Suggests: sug-pkg
Supplements: (sup-a and sup-b)
Enhances: enh-pkg
Conflicts: old-demo < 1.0
Obsoletes: older-demo <= 0.9

%description
A demo package.
With two lines.

%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/etc/tso-demo %{buildroot}/usr/share/doc/tso-demo %{buildroot}/var/lib/tso-demo/empty
printf '#!/bin/sh\\necho demo\\n' > %{buildroot}/usr/bin/demo
chmod 0755 %{buildroot}/usr/bin/demo
ln %{buildroot}/usr/bin/demo %{buildroot}/usr/bin/demo-hardlink
printf 'suid stand-in\\n' > %{buildroot}/usr/bin/demo-suid
printf 'caps stand-in\\n' > %{buildroot}/usr/bin/demo-caps
ln -s demo %{buildroot}/usr/bin/demo-link
echo key=value > %{buildroot}/etc/tso-demo/demo.conf
echo doc > %{buildroot}/usr/share/doc/tso-demo/README
head -c 200000 /dev/zero | tr '\\0' x > %{buildroot}/usr/share/doc/tso-demo/big.txt
echo non-ascii > "%{buildroot}/usr/share/doc/tso-demo/naïve-ünïcödé.txt"
touch %{buildroot}/var/lib/tso-demo/state.db

%pretrans -p <lua>
print("pretrans")
%pre
echo pre "$1"
%post -p /bin/bash
echo post "$1"
%preun
echo preun
%postun -p /sbin/ldconfig
%posttrans
echo posttrans
%triggerin -- bash >= 5
echo trigger-bash
%filetriggerin -- /usr/lib/tso-demo /usr/share/tso-demo
echo file-trigger
%transfiletriggerpostun -p <lua> -- /usr/lib/tso-demo
print("trans-file-trigger")

%files
/usr/bin/demo
/usr/bin/demo-hardlink
/usr/bin/demo-link
%attr(4755,root,root) /usr/bin/demo-suid
%caps(cap_net_raw=ep) /usr/bin/demo-caps
%config(noreplace) /etc/tso-demo/demo.conf
%dir /etc/tso-demo
%doc /usr/share/doc/tso-demo/README
/usr/share/doc/tso-demo/big.txt
/usr/share/doc/tso-demo/naïve-ünïcödé.txt
%dir /var/lib/tso-demo/empty
%ghost /var/lib/tso-demo/state.db
`;

export const PAYLOADS: Record<string, string> = {
  gzip: "w9.gzdio",
  xz: "w2.xzdio",
  zstd: "w19.zstdio",
  bzip2: "w9.bzdio",
  lzma: "w6.lzdio",
};

/** rpmbuild -bb with the given payload compression; returns the .rpm path. */
export function buildRpm(dir: string, compression: string, spec = SPEC): string {
  const top = join(dir, `top-${compression}`);
  mkdirSync(top, { recursive: true });
  const specPath = join(dir, `demo-${compression}.spec`);
  writeFileSync(specPath, spec);
  sh("rpmbuild", [
    "-bb",
    "--quiet",
    "--define",
    `_topdir ${top}`,
    "--define",
    `_binary_payload ${PAYLOADS[compression]}`,
    "--define",
    "_build_id_links none",
    "--define",
    "__brp_mangle_shebangs %{nil}",
    specPath,
  ]);
  const rpmDir = join(top, "RPMS", "noarch");
  const rpm = readdirSync(rpmDir).find((f) => f.endsWith(".rpm"));
  if (!rpm) throw new Error("rpmbuild produced no rpm");
  return join(rpmDir, rpm);
}
