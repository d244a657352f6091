import type { Command } from "commander";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseMelStats, type MelStats } from "../../audio/stats.js";
import { CODEC_CONFIGS } from "../../model/config.js";
import { fitLinearCodec, serializeLinearCodec } from "../../model/linear-codec.js";
import { DEFAULT_MODEL_DIR, readModelMelStats } from "../../model/load.js";
import { loadClips } from "../../train/data.js";
import { sampleNormalisedFrames } from "../../train/linear-frames.js";
import { UserError } from "../../util/errors.js";
import { checkInputPath, writeFileAtomic } from "../../util/files.js";
import { parseIntOption, requireOutput } from "../options.js";

interface FitLinearOpts {
  data: string;
  output: string;
  stats?: string;
  model?: string;
  stages: number;
  dim: number;
  codebookSize: number;
  seed: number;
  iterations: number;
  maxFrames: number;
}

const RVQ = CODEC_CONFIGS.small.rvq; // the learned codec's sizes, so the two are comparable

function statsFor(o: FitLinearOpts): MelStats {
  if (o.stats) {
    checkInputPath(o.stats);
    return parseMelStats(readFileSync(o.stats, "utf8"), o.stats);
  }
  return readModelMelStats(o.model ?? DEFAULT_MODEL_DIR);
}

export function registerFitLinear(program: Command): void {
  program
    .command("fit-linear")
    .description("fit the linear reference codec (PCA of the normalised log-mel + residual VQ by k-means) to a corpus's training split: the floor the learned codec must clear (eval rows linear@3, linear@1.5)")
    .requiredOption("--data <corpus-dir>", "corpus directory (from 'flowmac corpus'); its train split is used")
    .requiredOption("-o, --output <file.safetensors>", "output file: the fitted codec, with its mel statistics")
    .option("--stats <stats.json>", "mel statistics to normalise with (default: those of --model)")
    .option("--model <dir>", "model whose mel statistics to use (default: the bundled model)")
    .option("--stages <n>", "residual VQ stages (log2(codebook size) bits each per frame)", parseIntOption("stages", 1, 64), RVQ.stages)
    .option("--dim <n>", "PCA dimensions", parseIntOption("dim", 1, 128), RVQ.dim)
    .option("--codebook-size <n>", "entries per codebook (a power of two)", parseIntOption("codebook-size", 2, 65536), RVQ.codebookSize)
    .option("--seed <n>", "k-means++ seed", parseIntOption("seed", 0, 2 ** 31 - 1), 0)
    .option("--iterations <n>", "most Lloyd iterations per stage", parseIntOption("iterations", 0, 1000), 25)
    .option("--max-frames <n>", "fit on at most n frames, evenly spaced over the split (k-means time grows with it)", parseIntOption("max-frames", 2, 1e8), 200_000)
    .action((o: FitLinearOpts) => {
      const out = requireOutput(o.output, ".safetensors");
      // Checked before the (long) corpus load; fitLinearCodec checks it again.
      if ((o.codebookSize & (o.codebookSize - 1)) !== 0) throw new UserError(`--codebook-size must be a power of two, got ${o.codebookSize}`);
      if (!existsSync(dirname(out))) throw new UserError(`${out}: directory ${dirname(out)} does not exist`);
      if (!existsSync(o.data)) throw new UserError(`${o.data}: no such corpus directory`);
      if (!statSync(o.data).isDirectory()) throw new UserError(`${o.data}: not a directory (expected a corpus directory)`);
      if (!existsSync(join(o.data, "manifest.jsonl"))) throw new UserError(`${o.data}: no manifest.jsonl (not a corpus directory; build one with 'flowmac corpus')`);
      const stats = statsFor(o);
      const log = (m: string) => console.error(m);
      const clips = loadClips(o.data, "train", log);
      const sample = sampleNormalisedFrames(clips, stats, o.maxFrames);
      log(`fitting on ${sample.n} of ${sample.total} training frames${sample.n < sample.total ? " (evenly spaced)" : ""}`);
      const t0 = Date.now();
      const codec = fitLinearCodec(sample.frames, sample.n, { stats, dim: o.dim, stages: o.stages, codebookSize: o.codebookSize, seed: o.seed, iterations: o.iterations, log });
      writeFileAtomic(out, serializeLinearCodec(codec));
      console.log(`${out}: linear codec, ${o.dim} dims x ${o.stages} stages x ${o.codebookSize} entries, fitted on ${sample.n} frames in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    });
}
