import type { Command } from "commander";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { extendCodecFile, checkExtendable, MAX_STAGES } from "../../model/extend-stages.js";
import { LatentProbe } from "../../model/latents.js";
import { DEFAULT_MODEL_DIR, loadModel, modelIdOf, readModelDir } from "../../model/load.js";
import { fitResidualStages } from "../../model/rvq-fit.js";
import { initJax, tree } from "../../nn/runtime.js";
import { Rng } from "../../nn/rng.js";
import { openTrainingData } from "../../train/data.js";
import { stageResiduals } from "../../train/stage-residuals.js";
import { UserError } from "../../util/errors.js";
import { writeFileAtomic } from "../../util/files.js";
import { describeRates } from "../bitrate.js";
import { parseIntOption } from "../options.js";

interface ExtendOpts {
  model?: string;
  data: string;
  stages: number;
  output: string;
  seed: number;
  iterations: number;
  maxFrames: number;
}

/** Frames per training batch the EMA statistics are scaled to when the weights do not say (the small recipe's 8 x 128). */
const DEFAULT_BATCH_FRAMES = 8 * 128;

function batchFramesOf(meta: Record<string, string>): number {
  try {
    const t = JSON.parse(meta.train ?? "{}") as { batch?: number; frames?: number };
    return t.batch && t.frames ? t.batch * t.frames : DEFAULT_BATCH_FRAMES;
  } catch {
    return DEFAULT_BATCH_FRAMES;
  }
}

function checkPaths(o: ExtendOpts, modelDir: string): void {
  if (!existsSync(o.data)) throw new UserError(`${o.data}: no such directory`);
  if (existsSync(o.output) && !statSync(o.output).isDirectory()) throw new UserError(`${o.output}: exists and is not a directory (the output is a model directory)`);
  if (resolve(o.output) === resolve(modelDir)) throw new UserError(`${o.output}: is the input model's directory; write the extended model to a new one`);
}

export function registerExtendStages(program: Command): void {
  program
    .command("extend-stages")
    .description("add RVQ stages (higher bit rates) to a trained model: keeps its networks and codebooks, fits the new codebooks by k-means on the residual its stages leave on training latents; lower rates decode exactly as before")
    .option("--model <dir>", "model directory to extend (default: the bundled model)")
    .requiredOption("--data <dir>", "a corpus made by 'flowmac corpus' (its train split) or a folder of audio files (all but the validation share)")
    .requiredOption("--stages <n>", "RVQ stages of the extended model (16 = 6 kbit/s with 256-entry codebooks)", parseIntOption("stages", 2, MAX_STAGES))
    .requiredOption("-o, --output <dir>", "output model directory (codec.safetensors, vocoder.safetensors copied, README.md)")
    .option("--seed <n>", "k-means++ seed", parseIntOption("seed", 0, 2 ** 31 - 1), 0)
    .option("--iterations <n>", "most Lloyd iterations per stage", parseIntOption("iterations", 0, 1000), 15)
    .option("--max-frames <n>", "fit on about n frames of whole, evenly spaced clips (k-means time grows with it)", parseIntOption("max-frames", 2, 1e8), 100_000)
    .action(async (o: ExtendOpts) => {
      const modelDir = o.model ?? DEFAULT_MODEL_DIR;
      checkPaths(o, modelDir);
      const files = readModelDir(modelDir);
      const base = checkExtendable(files.codec, files.codecSource, o.stages);
      const log = (m: string) => console.error(m);
      const cacheDir = mkdtempSync(join(tmpdir(), "flowmac-extend-"));
      try {
        const data = await openTrainingData(o.data, { cacheDir, log });
        await initJax();
        const m = await loadModel(files);
        const { dim, codebookSize: k, stages: s0 } = base.rvq;
        if (!data.train.length) throw new UserError(`${o.data}: no training clips`);
        const probe = new LatentProbe(m.codec, m.buffers, base, m.info.stats);
        const t0 = Date.now();
        let shown = 0;
        const sample = stageResiduals(probe, data.train, dim, o.maxFrames, (d, of) => {
          if (d === of || d >= shown + of / 10) log(`latents: ${(shown = d)}/${of} clips`);
        });
        tree.dispose([m.codec, m.buffers, m.generator] as never);
        if (sample.n < k) throw new UserError(`${o.data}: ${sample.n} training frames, fewer than the ${k} entries of a codebook`);
        log(`residual of ${s0} stages on ${sample.n} frames of ${sample.clips} clips (of ${sample.total} training frames), ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        const counts: Float64Array[] = [];
        const codebooks = fitResidualStages(sample.residual, sample.n, dim, k, o.stages - s0, new Rng(o.seed), o.iterations, (s, f) => {
          counts.push(f.counts);
          log(`stage ${s0 + s + 1}/${o.stages}: ${f.iterations} Lloyd iterations, residual MSE ${f.meanSquaredError.toPrecision(4)} per frame (${f.seconds.toFixed(1)} s)`);
        });
        const baseId = await modelIdOf(files.codec);
        const provenance = { from: baseId, fromConfig: base.name, fromStages: s0, frames: sample.n, clips: sample.clips, seed: o.seed, iterations: o.iterations, maxFrames: o.maxFrames };
        const codec = extendCodecFile(files.codec, files.codecSource, { codebooks, counts, frames: sample.n }, batchFramesOf(m.codecFile.metadata), provenance);
        mkdirSync(o.output, { recursive: true });
        writeFileAtomic(join(o.output, "codec.safetensors"), codec);
        copyFileSync(files.vocoderSource, join(o.output, "vocoder.safetensors"));
        const id = await modelIdOf(codec);
        writeFileAtomic(join(o.output, "README.md"), modelCard({ base: base.name, baseId, baseDir: basename(resolve(modelDir)), id, stages: o.stages, s0, rvq: { ...base.rvq, stages: o.stages }, provenance, data: basename(resolve(o.data)) }));
        const mb = (f: string) => statSync(join(o.output, f)).size / 1e6;
        console.log(`${o.output}: ${base.name} extended to ${o.stages} stages (${describeRates({ ...base.rvq, stages: o.stages })}), model id ${id}; codec ${mb("codec.safetensors").toFixed(1)} MB + vocoder ${mb("vocoder.safetensors").toFixed(1)} MB`);
      } finally {
        rmSync(cacheDir, { recursive: true, force: true });
      }
    });
}

interface CardFacts {
  base: string;
  baseId: string;
  baseDir: string;
  id: string;
  stages: number;
  s0: number;
  rvq: { stages: number; codebookSize: number };
  provenance: { frames: number; clips: number; seed: number; iterations: number };
  data: string;
}

function modelCard(f: CardFacts): string {
  const p = f.provenance;
  return `# Model card: ${f.base}-cq${f.stages} (extended from ${f.baseDir})

- **Rates served**: ${describeRates(f.rvq)}.
- **Made by** \`flowmac extend-stages --stages ${f.stages} --seed ${p.seed} --iterations ${p.iterations}\` from the model
  \`${f.baseDir}\` (codec \`${f.base}\`, model id ${f.baseId}, ${f.s0} stages) on \`${f.data}\`: its encoder, decoder, CFM,
  vocoder and first ${f.s0} codebooks are unchanged; stages ${f.s0 + 1}-${f.stages} are k-means codebooks fitted on the
  residual the first ${f.s0} leave on the encoder latents of ${p.frames} frames (${p.clips} whole training clips).
- **Model id** ${f.id}: streams of this model decode only with it. At ${f.s0} stages or fewer its codes, and the audio
  decoded from them, are those of the base model (only the model id in the header differs).
`;
}
