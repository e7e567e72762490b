// `tsostree-pkg inspect FILE`: read a .deb or .rpm without installing it.
import type { Command } from "commander";
import { backendFor } from "../../packages/backends.js";
import { inspectJson, inspectText } from "../../packages/inspect.js";

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("show a package file's metadata, relations, files and scripts")
    .argument("<file>", "a .deb or .rpm file")
    .option("--json", "print one JSON object")
    .option("--files", "include the file list")
    .option("--scripts", "include maintainer scripts / scriptlets")
    .action(async (file: string, opts: { json?: boolean; files?: boolean; scripts?: boolean }) => {
      const backend = await backendFor(file);
      const info = await backend.read(file);
      if (opts.json)
        process.stdout.write(
          `${JSON.stringify(inspectJson(info, backend.formatVersion(info), opts), null, 2)}\n`,
        );
      else process.stdout.write(`${inspectText(info, opts).join("\n")}\n`);
    });
}
