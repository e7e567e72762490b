// `tsostree-pkg db list [REV] [PATTERN…]`, `db diff [FROM [TO]]`: package sets of commits.
import type { Command } from "commander";
import { diffRevs, listPackages } from "../../compose/db.js";
import { resolveRev } from "../../repo/refs.js";
import { Sysroot } from "../../sysroot/sysroot.js";
import { printJson } from "../common.js";
import { withSysroot } from "./sysroot-option.js";

interface Opts {
  sysroot: string;
  json?: boolean;
}

/** A REV argument is a deployment word, an index, a checksum or a ref; a PATTERN is anything else. */
function looksLikeRev(s: Sysroot, arg: string): boolean {
  if (/^[0-9]+$/.test(arg) || ["booted", "pending", "rollback"].includes(arg)) return true;
  if (/[*?[]/.test(arg)) return false;
  try {
    return resolveRev(s.repo, arg, true) !== null;
  } catch {
    return false;
  }
}

export function registerDb(program: Command): void {
  const db = program.command("db").description("query the package databases of commits");
  withSysroot(
    db
      .command("list")
      .description("list the packages of REV (default: the booted deployment), optionally matching PATTERNs")
      .argument(
        "[args...]",
        "[REV] [PATTERN…]; REV: a deployment index, booted/pending/rollback, a commit or ref",
      ),
  )
    .option("--json", "print [{name, version, arch, origin, requested}]")
    .action((args: string[], o: Opts) => {
      const s = Sysroot.load(o.sysroot);
      const rev = args[0] !== undefined && looksLikeRev(s, args[0]) ? args[0] : undefined;
      const patterns = rev === undefined ? args : args.slice(1);
      const list = listPackages(s, rev, patterns);
      if (o.json) {
        printJson(
          list.map((p) => ({
            name: p.name,
            version: p.evr,
            arch: p.arch,
            origin: p.origin,
            requested: p.requested,
          })),
        );
        return;
      }
      const lines = list.map(
        (p) => ` ${p.name}-${p.evr}.${p.arch}${p.origin === "layered" ? " (layered)" : ""}`,
      );
      process.stdout.write(`${lines.join("\n")}${lines.length ? "\n" : ""}`);
    });

  withSysroot(
    db
      .command("diff")
      .description("what changes between two commits (default: booted → pending)")
      .argument("[from]", "a deployment index, booted/pending/rollback, a commit or ref")
      .argument("[to]", "as FROM (default: the booted deployment)"),
  )
    .option("--json", 'print {"added","removed","upgraded","downgraded"}, arrays of {name, version, arch}')
    .action((from: string | undefined, to: string | undefined, o: Opts) => {
      const s = Sysroot.load(o.sysroot);
      const d = diffRevs(s, from, to);
      if (o.json) {
        printJson({ added: d.added, removed: d.removed, upgraded: d.upgraded, downgraded: d.downgraded });
        return;
      }
      let out = `ostree diff commit from: ${d.from}\nostree diff commit to:   ${d.to}\n`;
      const section = (title: string, l: typeof d.added) => {
        if (!l.length) return;
        out += `${title}:\n${l.map((e) => `  ${e.name}-${e.version}.${e.arch}`).join("\n")}\n`;
      };
      section("Upgraded", d.upgraded);
      section("Downgraded", d.downgraded);
      section("Removed", d.removed);
      section("Added", d.added);
      if (!d.added.length && !d.removed.length && !d.upgraded.length && !d.downgraded.length)
        out += "No package changes.\n";
      process.stdout.write(out);
    });
}
