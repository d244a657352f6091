import type { Command } from "commander";
import { homedir } from "node:os";
import { join } from "node:path";
import { buildCorpus } from "../../corpus/build.js";
import { keepDefaultSignals } from "../interrupt.js";
import { parseFloatOption, parseIntOption } from "../options.js";

export function registerCorpus(program: Command): void {
  // One long synchronous build: a signal handler would run only at its end. A killed
  // run's partial clips are temporaries that the next run removes.
  keepDefaultSignals(program.command("corpus"))
    .description("build the training corpus from Debian packages and synthesis (installs packages with apt-get)")
    .option("-o, --out <dir>", "corpus directory", join(homedir(), "flowmac-data", "corpus"))
    .option("--seed <n>", "random seed", parseIntOption("seed", 0, 2 ** 31 - 1), 1)
    .option("--scale <x>", "scale every duration budget (1 = full corpus, ~9 h with the wider sources)", parseFloatOption("scale", 0.001, 10), 1)
    .action((opts: { out: string; seed: number; scale: number }) => {
      const t0 = Date.now();
      const entries = buildCorpus({ out: opts.out, seed: opts.seed, scale: opts.scale, log: (m) => console.error(m) });
      const hours = entries.reduce((s, e) => s + e.seconds, 0) / 3600;
      const val = entries.filter((e) => e.split === "validation").length;
      const unseen = entries.filter((e) => e.split === "unseen").length;
      console.log(`${opts.out}: ${entries.length} clips, ${hours.toFixed(2)} h (${val} validation, ${unseen} unseen) in ${((Date.now() - t0) / 60000).toFixed(1)} min`);
    });
}
