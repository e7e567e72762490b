// Commands registered on demand: a CLI lists its commands as [name, loader] pairs, and only the
// module of the command being run is loaded (every one for help or an unknown word, none for --version).
// Loading all commands' dependencies up front cost more than the work of a small command.
import type { Command } from "commander";

export type Register = (program: Command) => void;
export type CommandTable = [string, () => Promise<Register>][];

/** The command word of argv, skipping global options; `valued` lists global options that take a value. */
export function commandWord(args: string[], valued: string[] = []): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (valued.includes(a)) i++;
    else if (!a.startsWith("-")) return a;
    else if (!valued.some((v) => a.startsWith(`${v}=`))) return undefined;
  }
  return undefined;
}

/** Registers the command argv names on `program`, or all of them when it names none of the table. */
export async function registerCommands(
  program: Command,
  table: CommandTable,
  argv: string[],
  valued: string[] = [],
): Promise<void> {
  const args = argv.slice(2);
  const word = commandWord(args, valued);
  if (word === undefined && (args.includes("--version") || args.includes("-V"))) return;
  const chosen = table.filter(([name]) => name === word);
  // Several words may share one module (install/uninstall/…): register each module once.
  const done = new Set<Register>();
  for (const [, load] of chosen.length ? chosen : table) {
    const register = await load();
    if (!done.has(register)) register(program);
    done.add(register);
  }
}
