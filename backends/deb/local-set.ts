// .deb files given on the command line, as a repository the resolver may choose from (apt's
// `apt install ./foo.deb`): their control paragraphs are an index of their own, pinned above every
// configured repository so that the file given is the version chosen.
import type { PackageSet } from "../../src/packages/index.js";
import { PackagesIndex } from "./apt-packages.js";
import { DebPackageSet } from "./apt-packageset.js";

/** A set of the packages whose `control` members are given. */
export function localDebSet(controls: Buffer[], nativeArch: string): PackageSet {
  const text = controls.map((c) => `${c.toString("utf8").trim()}\n`).join("\n");
  const index = new PackagesIndex(Buffer.from(text, "utf8"), "local packages");
  return new DebPackageSet(index, { id: "@local", pin: 1000, installed: false, nativeArch });
}
