// The .deb backend: dpkg's binary package format read without dpkg.
import type {
  OpenedPackage,
  PackageBackend,
  PackageFile,
  PackageInfo,
  PayloadEntry,
} from "../../src/packages/model.js";
import {
  type DebControl,
  debConffiles,
  debControlFiles,
  debMeta,
  debScripts,
  debTriggers,
  openDeb,
  readDebControl,
} from "./package.js";
import { debPayload, startDebData } from "./payload.js";
import { compareDebVersions, formatDebVersion } from "./version.js";

export { parseDeb822 } from "./deb822.js";
export { parseDebRelations } from "./relations.js";
export { compareDebVersions } from "./version.js";

export const debBackend: PackageBackend = {
  kind: "deb",

  sniff(head: Buffer): boolean {
    return head.length >= 8 && head.toString("latin1", 0, 8) === "!<arch>\n";
  },

  async read(path: string): Promise<PackageInfo> {
    const layout = await openDeb(path);
    const control = await readDebControl(layout);
    // A .deb lists its files only in data.tar: reading them means decompressing the payload.
    const files: PackageFile[] = [];
    for await (const e of debPayload(layout, control)) files.push(e.file);
    return debInfo(path, control, files);
  },

  async *payload(path: string): AsyncIterable<PayloadEntry> {
    yield* debPayload(await openDeb(path));
  },

  async open(path: string): Promise<OpenedPackage> {
    const layout = await openDeb(path);
    // data.tar (the long part) decompresses while control.tar is read and parsed.
    const data = startDebData(layout);
    let control: DebControl;
    try {
      control = await readDebControl(layout);
    } catch (e) {
      data.destroy();
      throw e;
    }
    return {
      info: debInfo(path, control, []),
      payload: () => debPayload(layout, control, { md5sums: false, data }),
      close: () => data.destroy(),
    };
  },

  compareVersions: compareDebVersions,
  formatVersion: formatDebVersion,
};

function debInfo(path: string, control: DebControl, files: PackageFile[]): PackageInfo {
  return {
    ...debMeta(path, control),
    files,
    scripts: debScripts(control),
    triggers: debTriggers(control),
    conffiles: debConffiles(control),
    native: { controlFiles: debControlFiles(control) },
  };
}
