import type { Command } from "commander";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { withCodeTables } from "../../bitstream/code-model.js";
import { DEFAULT_MODEL_DIR, modelIdOf, readModelDir } from "../../model/load.js";
import { openTrainingData } from "../../train/data.js";
import { fitCodeTables } from "../../train/code-tables.js";
import { UserError } from "../../util/errors.js";
import { writeFileAtomic } from "../../util/files.js";
import { modelOptions, openModel, type ModelOpts } from "../model-options.js";
import { parseIntOption } from "../options.js";

interface FitEntropyOpts extends ModelOpts {
  data: string;
  output: string;
  maxFrames: number;
  validationFrames: number;
  betas: number[];
  tableStages: number;
}

function parseBetas(value: string): number[] {
  const b = value.split(",").map(Number);
  if (b.length === 0 || b.some((x) => !(Number.isFinite(x) && x > 0))) throw new UserError(`--betas must be positive numbers separated by commas, got '${value}'`);
  return b;
}

export function registerFitEntropy(program: Command): void {
  modelOptions(program.command("fit-entropy"), "model directory to fit the tables for (default: the bundled model)")
    .description(
      "fit a model's code tables on its own codes of training audio: allocated streams then range-code the indices of the RVQ stages where the tables pay, each given the previous frame's index at its stage " +
        "(a .fmac version 3), and the bits saved buy more stages at the same rate. Writes a model directory whose codec weights carry the tables (a new model id)",
    )
    .requiredOption("--data <dir>", "a corpus made by 'flowmac corpus' or a folder of audio files (its training part fits, its validation part measures)")
    .requiredOption("-o, --output <dir>", "output model directory (the input model's files, codec.safetensors with the tables); may be the input model's own")
    .option("--max-frames <n>", "fit on about n frames of whole, evenly spaced training clips", parseIntOption("max-frames", 1000, 1e8), 300_000)
    .option("--validation-frames <n>", "measure on about n frames of validation clips", parseIntOption("validation-frames", 0, 1e8), 60_000)
    .option("--table-stages <n>", "the most stages given tables (by default every stage whose tables pay, 10 for the bundled model): each adds 131 KB to a model of 256-entry codebooks", parseIntOption("table-stages", 1, 64), 64)
    .option("--betas <list>", "smoothing weights tried per stage (chosen on held-out training clips): a context seen n times trusts its own counts n / (n + b), the rest the stage's overall counts", parseBetas, [4, 16, 64, 256])
    .action(async (o: FitEntropyOpts) => {
      const modelDir = o.model ?? DEFAULT_MODEL_DIR;
      if (!existsSync(o.data)) throw new UserError(`${o.data}: no such directory`);
      if (existsSync(o.output) && !statSync(o.output).isDirectory()) throw new UserError(`${o.output}: exists and is not a directory (the output is a model directory)`);
      const files = readModelDir(modelDir);
      const log = (m: string) => console.error(m);
      const cacheDir = mkdtempSync(join(tmpdir(), "flowmac-fit-entropy-"));
      try {
        const data = await openTrainingData(o.data, { cacheDir, log });
        if (!data.train.length) throw new UserError(`${o.data}: no training clips`);
        const engine = await openModel(o);
        const t0 = Date.now();
        const fit = await fitCodeTables(engine, data.train, data.val, { maxFrames: o.maxFrames, validationFrames: o.validationFrames, betas: o.betas, maxStages: o.tableStages, log });
        engine.dispose();
        const bits = Math.log2(fit.model.symbols);
        const codec = withCodeTables(files.codec, fit.model, { code_model_fit: JSON.stringify({ trainFrames: fit.trainFrames, validationFrames: fit.validationFrames, validationBits: fit.validationBits.map((b) => +b.toFixed(3)) }) }, files.codecSource);
        mkdirSync(o.output, { recursive: true });
        // Every other file of the model directory comes along (the vocoder, the card), unless it is the same directory.
        if (resolve(o.output) !== resolve(modelDir))
          for (const f of readdirSync(modelDir)) if (f !== "codec.safetensors" && statSync(join(modelDir, f)).isFile()) copyFileSync(join(modelDir, f), join(o.output, f));
        writeFileAtomic(join(o.output, "codec.safetensors"), codec);
        const seconds = ((Date.now() - t0) / 1000).toFixed(0);
        const T = fit.model.stages.length;
        const measured = fit.validationFrames ? `; on ${fit.validationFrames} validation frames an index of stage 1..${T + 1} costs ${fit.validationBits.slice(0, T + 1).map((b) => b.toFixed(2)).join(", ")} bits of ${bits}` : "";
        console.log(`${o.output}: code tables for ${T} of ${fit.validationBits.length} stages, fitted on ${fit.trainFrames} training frames in ${seconds} s${measured}; model id ${await modelIdOf(codec)}`);
      } finally {
        rmSync(cacheDir, { recursive: true, force: true });
      }
    });
}
