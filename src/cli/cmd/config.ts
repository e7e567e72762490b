// `tsostree config get|set|unset SECTION.KEY [VALUE]` (or `--group=GROUP KEY`), on REPO/config.
import type { Command } from "commander";
import { RepoError } from "../../repo/repo.js";
import { openRepo, printJson, UsageError, withJson, withRepo } from "../common.js";

/** `core.mode` → [core, mode]; `remote "origin".url` → [remote "origin", url]; --group wins. */
export function splitKey(spec: string, group?: string): [string, string] {
  if (group) return [group, spec];
  const i = spec.lastIndexOf(".");
  if (i <= 0 || i === spec.length - 1)
    throw new UsageError(`Section and key must be given as SECTION.KEY (or use --group), got '${spec}'`);
  return [spec.slice(0, i), spec.slice(i + 1)];
}

export function registerConfig(program: Command): void {
  withJson(withRepo(program.command("config")))
    .description("change repository configuration")
    .argument("<action>", "get, set or unset")
    .argument("<key>", "SECTION.KEY, or KEY with --group")
    .argument("[value]", "the value for set")
    .option("--group <group>", "group name for remote config options")
    .action(
      (
        action: string,
        key: string,
        value: string | undefined,
        opts: { repo?: string; json?: boolean; group?: string },
      ) => {
        const repo = openRepo(opts);
        const [group, name] = splitKey(key, opts.group);
        switch (action) {
          case "get": {
            const v = repo.config.get(group, name);
            if (v === undefined) {
              if (!repo.config.hasGroup(group))
                throw new RepoError(`Key file does not have group “${group}”`);
              throw new RepoError(`Key file does not have key “${name}” in group “${group}”`);
            }
            if (opts.json) printJson({ group, key: name, value: v });
            else process.stdout.write(`${v}\n`);
            return;
          }
          case "set":
            if (value === undefined) throw new UsageError("config set needs a VALUE");
            repo.setConfig(group, name, value);
            return;
          case "unset":
            repo.config.remove(group, name);
            repo.saveConfig();
            return;
          default:
            throw new UsageError(`Unknown config action '${action}' (use get, set or unset)`);
        }
      },
    );
}
