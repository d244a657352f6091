import "core-js/actual/iterator/index.js";
import { Command, CommanderError } from "commander";
import { readFileSync } from "node:fs";
import { UserError } from "../util/errors.js";
import { bundledRatesHelp } from "./bitrate.js";
import { removePartialOutputsOnSignals, usesDefaultSignals } from "./interrupt.js";
import { registerCodec } from "./commands/codec.js";
import { registerCorpus } from "./commands/corpus.js";
import { registerEval } from "./commands/eval.js";
import { registerExport } from "./commands/export.js";
import { registerExtendStages } from "./commands/extend-stages.js";
import { registerFitEntropy } from "./commands/fit-entropy.js";
import { registerFitPredictive } from "./commands/fit-predictive.js";
import { registerFitLinear } from "./commands/fit-linear.js";
import { registerInfo } from "./commands/info.js";
import { registerMel } from "./commands/mel.js";
import { registerPlot } from "./commands/plot.js";
import { registerStats } from "./commands/stats.js";
import { registerTrain } from "./commands/train.js";
import { registerVocoder } from "./commands/vocoder.js";

const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("flowmac")
    .description("FlowMAC neural audio codec: speech and music at a few kbit/s")
    .version(pkg.version)
    .addHelpText("after", bundledRatesHelp)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .hook("preAction", (_program, command) => {
      if (!usesDefaultSignals(command)) removePartialOutputsOnSignals();
    });
  registerCodec(program);
  registerInfo(program);
  registerVocoder(program);
  registerExport(program);
  registerMel(program);
  registerStats(program);
  registerCorpus(program);
  registerTrain(program);
  registerFitLinear(program);
  registerFitEntropy(program);
  registerFitPredictive(program);
  registerExtendStages(program);
  registerPlot(program);
  registerEval(program);
  return program;
}

/** Runs the CLI; every failure becomes one line on stderr and a non-zero exit. */
export async function main(argv: string[]): Promise<void> {
  // `flowmac --help | head`: the reader is gone, so is the rest of the output (no crash trace).
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") process.stderr.write(`flowmac: cannot write the output (${e.message})\n`);
    process.exit(e.code === "EPIPE" ? 0 : 1);
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode; // commander already printed its one-line message (or help)
      return;
    }
    const msg = e instanceof UserError ? e.message : `internal error: ${(e as Error)?.message ?? String(e)}`;
    process.stderr.write(`flowmac: ${msg}\n`);
    if (process.env.FLOWMAC_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exitCode = e instanceof UserError ? 1 : 2;
  }
}
