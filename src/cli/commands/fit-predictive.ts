import type { Command } from "commander";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { LatentProbe } from "../../model/latents.js";
import { DEFAULT_MODEL_DIR, loadModel, modelIdOf, readCodecConfig, readModelDir } from "../../model/load.js";
import { fitPredictiveRvq } from "../../model/predictive-rvq.js";
import { withPredictiveRvq } from "../../model/predictive-store.js";
import { Rng } from "../../nn/rng.js";
import { initJax, tree } from "../../nn/runtime.js";
import { openTrainingData } from "../../train/data.js";
import { clipLatents } from "../../train/stage-residuals.js";
import { UserError } from "../../util/errors.js";
import { writeFileAtomic } from "../../util/files.js";
import { parseFloatOption, parseIntOption } from "../options.js";

interface FitPredictiveOpts {
  model?: string;
  data: string;
  output: string;
  rho: number;
  seed: number;
  iterations: number;
  refits: number;
  maxFrames: number;
  stages?: number;
}

export function registerFitPredictive(program: Command): void {
  program
    .command("fit-predictive")
    .description(
      "fit a model's predictive RVQ (closed form, no training): each frame's latent is predicted from the last decoded one and the RVQ codes only what is new " +
        "(flowmac encode --predictive). Writes a model directory whose codec weights carry it (a new model id)",
    )
    .option("--model <dir>", "model directory (default: the bundled model)")
    .requiredOption("--data <dir>", "a corpus made by 'flowmac corpus' (its train split) or a folder of audio files (all but the validation share)")
    .requiredOption("-o, --output <dir>", "output model directory (the input model's files, codec.safetensors with the predictive RVQ); may be the input model's own")
    .option("--rho <x>", "the predictor's shrink: 1 is the least-squares predictor, less limits how far one frame's error carries", parseFloatOption("rho", 0, 1), 0.8)
    .option("--seed <n>", "k-means++ seed", parseIntOption("seed", 0, 2 ** 31 - 1), 1)
    .option("--iterations <n>", "most Lloyd iterations per stage", parseIntOption("iterations", 1, 1000), 12)
    .option("--refits <n>", "closed-loop refits of the codebooks after the open-loop fit", parseIntOption("refits", 0, 10), 2)
    .option("--stages <n>", "predictive stages to fit (default the model's): fewer serve only the lower rates, and each stage's codebook is fitted for the closed loop at that many stages", parseIntOption("stages", 1, 64))
    .option("--max-frames <n>", "fit on about n frames of whole, evenly spaced clips (k-means time grows with it)", parseIntOption("max-frames", 256, 1e8), 40_000)
    .action(async (o: FitPredictiveOpts) => {
      const modelDir = o.model ?? DEFAULT_MODEL_DIR;
      if (!existsSync(o.data)) throw new UserError(`${o.data}: no such directory`);
      if (existsSync(o.output) && !statSync(o.output).isDirectory()) throw new UserError(`${o.output}: exists and is not a directory (the output is a model directory)`);
      const files = readModelDir(modelDir);
      const modelStages = readCodecConfig(modelDir)?.rvq.stages;
      if (o.stages !== undefined && modelStages !== undefined && o.stages > modelStages) throw new UserError(`--stages ${o.stages}: the model has ${modelStages} RVQ stages`);
      const log = (m: string) => console.error(m);
      const cacheDir = mkdtempSync(join(tmpdir(), "flowmac-fit-predictive-"));
      try {
        const data = await openTrainingData(o.data, { cacheDir, log });
        if (!data.train.length) throw new UserError(`${o.data}: no training clips`);
        await initJax();
        const m = await loadModel(files);
        const c = m.info.codec;
        const { dim, codebookSize: k } = c.rvq;
        const stages = Math.min(o.stages ?? c.rvq.stages, c.rvq.stages);
        const t0 = Date.now();
        let shown = 0;
        const clips = clipLatents(new LatentProbe(m.codec, m.buffers, c, m.info.stats), data.train, o.maxFrames, (d, of) => {
          if (d === of || d >= shown + of / 10) log(`latents: ${(shown = d)}/${of} clips`);
        });
        tree.dispose([m.codec, m.buffers, m.generator] as never);
        const frames = clips.reduce((s, x) => s + x.frames, 0);
        if (frames < k) throw new UserError(`${o.data}: ${frames} training frames, fewer than the ${k} entries of a codebook`);
        log(`${frames} frames of ${clips.length} clips, ${((Date.now() - t0) / 1000).toFixed(0)} s; fitting ${stages} stages (rho ${o.rho}, ${o.refits} closed-loop refits)`);
        const q = fitPredictiveRvq(clips, dim, {
          stages, codebookSize: k, rho: o.rho, iterations: o.iterations, refits: o.refits, rng: new Rng(o.seed),
          onRefit: (r, mse) => log(`closed loop before refit ${r}: latent MSE ${mse.toPrecision(4)} per frame`),
        });
        const fit = { from: await modelIdOf(files.codec), rho: o.rho, frames, clips: clips.length, seed: o.seed, iterations: o.iterations, refits: o.refits };
        const codec = withPredictiveRvq(files.codec, q, fit, files.codecSource);
        mkdirSync(o.output, { recursive: true });
        if (resolve(o.output) !== resolve(modelDir))
          for (const f of readdirSync(modelDir)) if (f !== "codec.safetensors" && statSync(join(modelDir, f)).isFile()) copyFileSync(join(modelDir, f), join(o.output, f));
        writeFileAtomic(join(o.output, "codec.safetensors"), codec);
        console.log(`${o.output}: predictive RVQ of ${stages} stages fitted on ${frames} training frames in ${((Date.now() - t0) / 1000).toFixed(0)} s; model id ${await modelIdOf(codec)}`);
      } finally {
        rmSync(cacheDir, { recursive: true, force: true });
      }
    });
}
