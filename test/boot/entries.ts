// The boot menu of a sysroot as systemd-boot sees it: the BLS entries under boot/loader/entries,
// with boot counting (`NAME+LEFT-DONE.conf`, src/sysroot/boot-counting.ts), sorted the way
// systemd-boot orders its menu: entries with tries left first, newest version first; entries whose
// tries are used up go last. The first entry is the default.
import { readdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { BootConfig, strverscmp } from "../../src/sysroot/bls.js";
import {
  type BootCounter,
  entryFileWithCounter,
  parseEntryFile,
  triesUsedUp,
} from "../../src/sysroot/boot-counting.js";

export interface MenuEntry {
  /** The entry's file name under boot/loader/entries. */
  file: string;
  config: BootConfig;
  /** The boot counter in the file name, or null for an entry that is not on trial. */
  counter: BootCounter | null;
}

export function entriesDir(sysroot: string): string {
  return join(sysroot, "boot/loader/entries");
}

/** The boot menu, default entry first. */
export function bootMenu(sysroot: string): MenuEntry[] {
  const dir = entriesDir(sysroot);
  const entries = readdirSync(dir)
    .filter((f) => f.endsWith(".conf"))
    .map((file) => ({
      file,
      config: BootConfig.parse(readFileSync(join(dir, file), "utf8")),
      counter: parseEntryFile(file).counter,
    }));
  const bad = (e: MenuEntry) => (triesUsedUp(e.counter) ? 1 : 0);
  return entries.sort(
    (a, b) =>
      bad(a) - bad(b) ||
      strverscmp(b.config.get("version") ?? "", a.config.get("version") ?? "") ||
      strverscmp(b.file, a.file),
  );
}

/**
 * What systemd-boot does to an entry it is about to boot: one try fewer left, one more done, by
 * renaming the file. Returns the entry's file name as booted.
 */
export function countTry(sysroot: string, entry: MenuEntry): string {
  if (!entry.counter || entry.counter.left === 0) return entry.file;
  const next = entryFileWithCounter(parseEntryFile(entry.file).stem, {
    left: entry.counter.left - 1,
    done: entry.counter.done + 1,
  });
  renameSync(join(entriesDir(sysroot), entry.file), join(entriesDir(sysroot), next));
  return next;
}
