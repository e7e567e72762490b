// The boot runner of the boot proof: picks a BLS entry of a sysroot as a boot menu would, builds an
// ext4 disk image from the sysroot directory without mounting it (`mkfs.ext4 -d`), boots the entry's
// kernel and initramfs with QEMU (TCG: on this kind of machine the guest hangs under KVM) and reads
// the marker the guest prints on its serial console (fixtures/boottree.sh). A kernel panic, an
// emergency shell or a timeout fail the boot early, with the end of the console log.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, existsSync, renameSync } from "node:fs";
import { join } from "node:path";
import { entryFileWithCounter, parseEntryFile } from "../../src/sysroot/boot-counting.js";
import { bootMenu, countTry, entriesDir, type MenuEntry } from "./entries.js";

export interface Marker {
  /** The `ostree=` kernel argument the guest was booted with. */
  karg: string;
  /** Where it leads in the guest (`readlink -f /sysroot$karg`). */
  deployment: string;
  commit: string;
  /** `strace -V`'s first line (spaces as `_`), or `absent`. */
  strace: string;
  /** The marker was told to fail (`tsostree.marker=fail`): the boot never completes. */
  fail: boolean;
  /** The guest's own `ostree admin status`. */
  status: string;
}

export interface BootResult {
  marker: Marker;
  /** The menu entry booted (its file name before the boot's counting). */
  entry: MenuEntry;
  /** Entries the guest marked good (boot counting), as their new names. */
  blessed: string[];
  seconds: number;
  /** The serial console log. */
  log: string;
}

export interface BootOptions {
  /** Directory for the disk image and the console log. */
  work: string;
  /** Index in the boot menu (0, the default, when absent): what a user picks in the menu. */
  entry?: number;
  /** Rewrites the entry's kernel command line (the negative control points ostree= nowhere). */
  options?: (options: string) => string;
  timeoutSeconds?: number;
}

export class BootError extends Error {}

const FAILURES: [RegExp, string][] = [
  [/Kernel panic/, "kernel panic"],
  [/Entering emergency mode|You are in emergency mode|Give root password for maintenance/, "emergency shell"],
  [/dracut Warning: .*Could not boot|dracut: FATAL/, "the initramfs gave up"],
];

/** One marker line, when complete: `TSOSTREE-MARKER key=value … END`. */
export function parseMarker(line: string): Marker | null {
  const m = /TSOSTREE-MARKER (.*) END$/.exec(line);
  if (!m) return null;
  const kv = new Map<string, string>();
  for (const part of (m[1] as string).split(" ")) {
    const i = part.indexOf("=");
    if (i > 0) kv.set(part.slice(0, i), part.slice(i + 1));
  }
  const keys = ["karg", "deployment", "commit", "strace", "fail", "status"];
  if (!keys.every((k) => kv.has(k))) return null;
  return {
    karg: kv.get("karg") as string,
    deployment: kv.get("deployment") as string,
    commit: kv.get("commit") as string,
    strace: kv.get("strace") as string,
    fail: kv.get("fail") === "1",
    status: Buffer.from(kv.get("status") as string, "base64").toString("utf8"),
  };
}

function arg(options: string, name: string): string | undefined {
  for (const a of options.split(/\s+/)) if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
  return undefined;
}

/** An ext4 image of the sysroot directory, labelled as `root=LABEL=…` asks, built without mounting. */
export function diskImage(sysroot: string, image: string, label: string): void {
  const du = spawnSync("du", ["-sb", sysroot], { encoding: "utf8" });
  const bytes = Number(du.stdout.split("\t")[0]);
  if (!(bytes > 0)) throw new BootError(`cannot size ${sysroot}: ${du.stderr}`);
  const mb = Math.ceil((bytes * 1.3) / 2 ** 20) + 256;
  const r = spawnSync("mkfs.ext4", ["-q", "-F", "-L", label, "-d", sysroot, image, `${mb}M`], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new BootError(`mkfs.ext4 -d ${sysroot} failed: ${r.stderr}`);
}

/** The names under a directory of an ext4 image, read with debugfs (no mount). */
export function imageList(image: string, dir: string): string[] {
  const r = spawnSync("debugfs", ["-R", `ls -p ${dir}`, image], { encoding: "utf8" });
  if (r.status !== 0) throw new BootError(`debugfs ls ${dir} failed: ${r.stderr}`);
  // -p: /inode/mode/uid/gid/name/size/ per entry.
  return r.stdout
    .split("\n")
    .map((l) => l.split("/")[5])
    .filter((n): n is string => !!n && n !== "." && n !== "..");
}

/** Boots an entry of the sysroot's menu under QEMU and returns the guest's marker. */
export async function bootSysroot(sysroot: string, opts: BootOptions): Promise<BootResult> {
  const menu = bootMenu(sysroot);
  const entry = menu[opts.entry ?? 0];
  if (!entry) throw new BootError(`no boot entry ${opts.entry ?? 0} in ${entriesDir(sysroot)}`);
  const linux = entry.config.get("linux");
  const initrd = entry.config.get("initrd");
  let options = entry.config.get("options") ?? "";
  if (!linux || !initrd) throw new BootError(`${entry.file} has no linux or initrd line`);
  if (opts.options) options = opts.options(options);
  const label = arg(options, "root")?.replace(/^LABEL=/, "");
  if (!label) throw new BootError(`${entry.file}: options have no root=LABEL=…: ${options}`);
  // systemd-boot counts the try before it boots the entry: the image carries the new name.
  const counted = countTry(sysroot, entry);
  const image = join(opts.work, "disk.img");
  diskImage(sysroot, image, label);
  const logPath = join(opts.work, "console.log");
  const logFile = createWriteStream(logPath);
  const start = Date.now();
  const qemu = spawn(
    "qemu-system-x86_64",
    [
      ...["-accel", "tcg", "-m", "1536", "-smp", "1", "-nographic", "-no-reboot"],
      ...["-kernel", join(sysroot, "boot", linux), "-initrd", join(sysroot, "boot", initrd)],
      ...["-append", options, "-drive", `file=${image},format=raw,if=virtio`],
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  let pending = "";
  let marker: Marker | null = null;
  let failure: string | null = null;
  const exited = new Promise<number | null>((resolve) => qemu.on("exit", (code) => resolve(code)));
  const onData = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    logFile.write(chunk);
    log += text;
    pending += text;
    const lines = pending.split(/\r?\n/);
    pending = lines.pop() ?? "";
    for (const line of lines) {
      marker ??= parseMarker(line.replace(/\r/g, ""));
      for (const [re, what] of FAILURES) if (!failure && re.test(line)) failure = what;
    }
    if (failure && !marker) qemu.kill("SIGKILL");
  };
  qemu.stdout.on("data", onData);
  qemu.stderr.on("data", onData);
  const timeout = (opts.timeoutSeconds ?? 600) * 1000;
  const timer = setTimeout(() => {
    failure ??= `no marker after ${timeout / 1000} s`;
    qemu.kill("SIGKILL");
  }, timeout);
  await exited;
  clearTimeout(timer);
  await new Promise((r) => logFile.end(r));
  const seconds = (Date.now() - start) / 1000;
  const found = marker as Marker | null;
  if (!found) {
    const tail = log.split(/\r?\n/).slice(-40).join("\n");
    throw new BootError(
      `${entry.file} did not boot (${failure ?? "qemu exited"}, ${seconds.toFixed(0)} s; log ${logPath}):\n${tail}`,
    );
  }
  // What the guest marked good (its bless unit renames the entry on the disk): the same rename in
  // the sysroot directory, which stands for the disk between boots.
  const loader = spawnSync("readlink", [join(sysroot, "boot/loader")], { encoding: "utf8" }).stdout.trim();
  const onDisk = imageList(image, `/boot/${loader}/entries`);
  const blessed: string[] = [];
  if (!onDisk.includes(counted)) {
    const good = entryFileWithCounter(parseEntryFile(counted).stem, null);
    if (onDisk.includes(good) && existsSync(join(entriesDir(sysroot), counted))) {
      renameSync(join(entriesDir(sysroot), counted), join(entriesDir(sysroot), good));
      blessed.push(good);
    }
  }
  return { marker: found, entry, blessed, seconds, log };
}
