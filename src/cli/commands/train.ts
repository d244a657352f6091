import type { Command } from "commander";
import { existsSync, readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { MelStatsAccumulator, parseMelStats, type MelStats } from "../../audio/stats.js";
import { CODEC_CONFIGS, type CodecConfig } from "../../model/config.js";
import { isRefinerConfig, REFINER_CONFIGS } from "../../model/refiner.js";
import { VOCODER_CONFIGS, type AnyVocoderConfig } from "../../model/vocoder.js";
import type { LoadedFile } from "../../nn/checkpoint.js";
import { initJax } from "../../nn/runtime.js";
import { CODEC_TRAIN, createCodecTask, TRAIN_ENGINES, type TrainEngine } from "../../train/codec-task.js";
import { clipMel, DEFAULT_VAL_FRACTION, HOP, KIND_WEIGHTS, openTrainingData, type Clip } from "../../train/data.js";
import type { ClipKind } from "../../corpus/build.js";
import { configNameOf, initWeightsPath, melStatsOf, readInitWeights } from "../../train/init-weights.js";
import { runTraining, type TrainSettings, type TrainTask } from "../../train/runner.js";
import { createRefinerTask, REFINER_TRAIN } from "../../train/refiner-task.js";
import { DecodedMels } from "../../train/decoded-mels.js";
import { MIN_PACKED_FRAMES } from "../../train/pack.js";
import { DEFAULT_MODEL_DIR } from "../../model/load.js";
import { checkCfmFits, checkLinearFits, readLinearCodecFile, type CodecStart } from "../../train/warm-start.js";
import type { LinearCodec } from "../../model/linear-codec.js";
import { readCheckpointFile } from "../../nn/checkpoint.js";
import { createVocoderTask, VOCODER_TRAIN } from "../../train/vocoder-task.js";
import { UserError } from "../../util/errors.js";
import { writeFileAtomic } from "../../util/files.js";
import { keepDefaultSignals } from "../interrupt.js";
import { parseChoice, parseFloatOption, parseIntOption } from "../options.js";
import { progressBar, type Progress } from "../progress.js";

interface TrainOpts {
  data: string;
  decodedBy?: string;
  decodedShare: number;
  stats?: string;
  config?: string;
  out: string;
  steps?: number;
  batch?: number;
  frames?: number;
  lr?: number;
  seed: number;
  resume?: string;
  init?: string | true;
  initLinear?: string;
  initCfm?: string;
  priorWeight?: number;
  bandDeltaWeight?: number;
  cfmWeight?: number;
  stageDropout?: number;
  packShort?: boolean;
  warp?: number;
  kindWeights?: Partial<Record<ClipKind, number>>;
  sourceBalance?: number;
  valFraction: number;
  maxHours?: number;
  valEvery: number;
  ckptEvery: number;
  logEvery: number;
  engine: TrainEngine;
}

const DATA_HELP = `
Training data (--data): a corpus made by 'flowmac corpus' (it has manifest.jsonl: its clips,
kinds and train/validation split are used as they are), or any folder of audio files, searched
recursively: WAV, FLAC, MP3, Ogg (Vorbis, Opus) and the other formats 'flowmac encode' reads, at
any rate and channel layout, down-mixed and resampled to 24 kHz mono as encode does. For a
plain folder:
  - files that do not decode, or are shorter than 0.4 s, are skipped with a note each;
  - --val-fraction of the files (by a hash of their path inside the folder, so a file is never
    split and the split is the same on every run) is held out for validation; with two or more
    files at least one is held out, a single file trains and validates;
  - all files count as one kind, so clips are drawn in proportion to their duration
    (a corpus weights its kinds: real speech 0.45, real music 0.25, synthetic 0.15 each);
  - the decoded audio and its log-mels are cached once in <run-dir>/data-cache/ (about 430 MB
    per hour of audio), keyed by the files' names, sizes and modification times; a later run
    with the same --out reuses it. Crops are read from the cache files, so memory does not
    grow with the hours of audio.

Fine-tuning (--init): start from trained weights with a fresh optimiser at step 0. --init
<model-dir> takes codec.safetensors or vocoder.safetensors from a model directory (as written
by scripts/package-model.mjs); --init alone or --init default the bundled model; a path to a
.safetensors file (e.g. a run's weights.safetensors) that file. The model config comes from the
weights (--config, if given, must name the same config); the codec keeps the model's mel
statistics and codebooks. The fine-tuned codec's weights are a new model: bitstreams it writes
carry its own model id.

Warm start from the linear codec (--init-linear <linear.safetensors>, a file made by 'flowmac
fit-linear'): a -lin config (default small-lin), whose encoder and decoder have residual linear
paths, takes their PCA basis and mean and the RVQ codebooks from the linear codec, so that at
step 0 it codes and decodes exactly as the linear codec; the run uses the linear codec's mel
statistics. --init-cfm <model-dir> adds the CFM decoder's weights of a trained model of the same
CFM shape (models/default fits small and small-lin). A codec run that starts from trained or
fitted weights (--init, --init-linear, --init-cfm) also validates once at step 0.`;

/** A progress bar for decoding a plain folder into the cache, started on the first file. */
function decodeProgress(): { progress: (done: number, total: number) => void; stop: () => void } {
  let bar: Progress | null = null;
  return {
    progress(done, total) {
      bar ??= progressBar("decode", total, " files");
      bar.update(done);
    },
    stop: () => bar?.stop(),
  };
}

function computeStats(o: TrainOpts, train: Clip[]): MelStats {
  if (o.stats) {
    if (!existsSync(o.stats)) throw new UserError(`${o.stats}: no such file`);
    return parseMelStats(readFileSync(o.stats, "utf8"), o.stats);
  }
  const acc = new MelStatsAccumulator(128);
  for (const c of train) acc.add(clipMel(c));
  return acc.result();
}

/**
 * The codec's mel statistics, saved in the run: the --init model's, the
 * --init-linear codec's, given ones, a resumed run's own, or computed from the training split.
 */
function statsFor(o: TrainOpts, train: Clip[], init: LoadedFile | null, linear: LinearCodec | null, resumed: LoadedFile | null): MelStats {
  const s = init ? melStatsOf(init) : linear ? linear.stats : resumed?.metadata.mel_stats && !o.stats ? melStatsOf(resumed) : computeStats(o, train);
  if (init || linear || !o.stats) {
    mkdirSync(o.out, { recursive: true });
    writeFileAtomic(join(o.out, "stats.json"), JSON.stringify(s) + "\n");
  }
  return s;
}

/** The weights --init names, read and checked against --resume and --config. */
function initWeights(o: TrainOpts, model: "codec" | "vocoder"): LoadedFile | null {
  if (o.init === undefined) return null;
  if (o.resume) throw new UserError("--init and --resume exclude each other: --resume continues a run, --init starts one from trained weights");
  if (o.stats) throw new UserError("--stats and --init exclude each other: a fine-tuned codec keeps its model's mel statistics");
  return readInitWeights(o.init, model);
}

/** The warm starts --init-linear and --init-cfm name, read and checked against the other options. */
function warmStart(o: TrainOpts): CodecStart {
  const start: CodecStart = {};
  for (const [flag, given] of [["--init-linear", o.initLinear], ["--init-cfm", o.initCfm]] as const) {
    if (given === undefined) continue;
    if (o.init !== undefined) throw new UserError(`${flag} and --init exclude each other: --init starts from all of a model's weights`);
    if (o.resume) throw new UserError(`${flag} and --resume exclude each other: --resume continues a run`);
  }
  if (o.initLinear !== undefined) {
    if (o.stats) throw new UserError("--stats and --init-linear exclude each other: the warm-started codec keeps the linear codec's mel statistics");
    start.linear = readLinearCodecFile(o.initLinear);
  }
  if (o.initCfm !== undefined) start.cfm = readInitWeights(o.initCfm, "codec");
  return start;
}

/** `speech-real=0.6,music-real=0.2`: weights per kind for the sampler, each in [0, 1]. */
function parseKindWeights(v: string): Partial<Record<ClipKind, number>> {
  const out: Partial<Record<ClipKind, number>> = {};
  for (const part of v.split(",")) {
    const [kind, w, ...rest] = part.split("=");
    const x = Number(w);
    if (!(kind in KIND_WEIGHTS) || rest.length > 0 || w === undefined || w.trim() === "" || !(x >= 0 && x <= 1)) {
      throw new UserError(`--kind-weights: expected kind=weight pairs, each weight in [0, 1], kinds: ${Object.keys(KIND_WEIGHTS).join(", ")} (got '${part}')`);
    }
    out[kind as ClipKind] = x;
  }
  return out;
}

/** The weights file --resume names (its config and mel statistics carry over), or null. */
function resumeFile(o: TrainOpts, model: "codec" | "vocoder"): LoadedFile | null {
  return o.resume ? readCheckpointFile(o.resume, model) : null;
}

/** The training settings' name: --config, else the --init model's config, else the default. */
function settingsName(o: TrainOpts, init: LoadedFile | null, table: Record<string, TrainSettings>, fallback: string, what = "--init model"): string {
  if (!init) return o.config ?? fallback;
  const name = configNameOf(init);
  if (o.config && o.config !== name) throw new UserError(`--config ${o.config} does not match the ${what}, whose config is '${name}'`);
  if (!(name in table)) throw new UserError(`${init.source}: no training settings for its config '${name}' (known: ${Object.keys(table).join(", ")})`);
  return name;
}

function common(cmd: Command, configs: string[], defaultConfig: string): Command {
  return cmd
    .requiredOption("--data <dir>", "a folder of audio files (searched recursively; any format encode reads) or a corpus made by 'flowmac corpus'")
    .requiredOption("--out <run-dir>", "run directory: log.jsonl, checkpoint.safetensors, weights.safetensors, data-cache/")
    .option("--config <name>", `model config: ${configs.join(", ")} (default: ${defaultConfig}, or the --init model's)`, parseChoice("config", configs))
    .option("--steps <n>", "total training steps", parseIntOption("steps", 1, 10_000_000))
    .option("--batch <n>", "batch size", parseIntOption("batch", 1, 256))
    .option("--frames <n>", "crop length in mel frames", parseIntOption("frames", 4, 4096))
    .option("--lr <x>", "peak learning rate", parseFloatOption("lr", 1e-7, 1))
    .option("--seed <n>", "random seed", parseIntOption("seed", 0, 2 ** 31 - 1), 0)
    .option("--resume <file>", "continue from a checkpoint (bit-for-bit) or a weights file")
    .option("--init [model]", "fine-tune: start from a model directory's weights ('default' or nothing: the bundled model), fresh optimiser, step 0")
    .option("--val-fraction <x>", "share of a plain folder's files held out for validation", parseFloatOption("val-fraction", 0, 0.5), DEFAULT_VAL_FRACTION)
    .option("--max-hours <h>", "stop with a checkpoint after this much wall time", parseFloatOption("max-hours", 0.001, 1000))
    .option("--val-every <n>", "validate every n steps", parseIntOption("val-every", 1, 1e9), 250)
    .option("--ckpt-every <n>", "checkpoint every n steps", parseIntOption("ckpt-every", 1, 1e9), 100)
    .option("--log-every <n>", "log every n steps", parseIntOption("log-every", 1, 1e9), 10)
    .option("--kind-weights <list>", `share of the draws per kind, e.g. speech-real=0.6,music-real=0.2 (kinds left out keep their default: ${Object.entries(KIND_WEIGHTS).map(([k, v]) => `${k}=${v}`).join(",")}; give it again with --resume)`, parseKindWeights)
    .option("--source-balance <b>", "within a kind, each source's share of the draws goes as its share of the hours to the power b: 1 = by duration (default), 0 = every source alike (give it again with --resume)", parseFloatOption("source-balance", 0, 1))
    .addHelpText("after", DATA_HELP);
}

/** Notes the clips too short for a crop: the sampler never draws them, validation skips them. */
function noteShortClips(train: Clip[], val: Clip[], t: TrainSettings): void {
  const note = (clips: Clip[], frames: number, what: string, packed = false) => {
    const n = clips.filter((c) => c.frames < frames).length;
    const fate = packed ? `are packed with others of their source (${clips.filter((c) => c.frames < MIN_PACKED_FRAMES).length} under ${MIN_PACKED_FRAMES} frames are not used)` : "are not used";
    if (n > 0) console.error(`${n} of ${clips.length} ${what} clips are shorter than a crop of ${frames} frames (${((frames * HOP) / 24000).toFixed(2)} s) and ${fate}`);
  };
  note(train, t.frames, "training", t.packShort);
  note(val, t.valFrames ?? t.frames, "validation");
}

/** The data splits and the run settings: the config's defaults with the command line's overrides. */
async function prepare(o: TrainOpts, defaults: TrainSettings): Promise<{ train: Clip[]; val: Clip[]; heldOut: () => Clip[]; t: TrainSettings }> {
  await initJax();
  const bar = decodeProgress();
  const log = (m: string) => console.error(m);
  let data;
  try {
    data = await openTrainingData(o.data, { cacheDir: join(o.out, "data-cache"), valFraction: o.valFraction, log, progress: bar.progress });
  } finally {
    bar.stop();
  }
  const t = { ...defaults };
  if (o.batch) t.batch = o.batch;
  if (o.frames) t.frames = o.frames;
  if (o.lr) t.lr = o.lr;
  if (o.steps) t.steps = o.steps;
  if (o.packShort) t.packShort = true;
  if (o.warp) t.warp = o.warp;
  if (o.kindWeights || o.sourceBalance !== undefined) {
    t.sampling = { kindWeights: o.kindWeights, sourceBalance: o.sourceBalance };
    console.error(`sampling: kind weights ${JSON.stringify({ ...KIND_WEIGHTS, ...o.kindWeights })}, source balance ${o.sourceBalance ?? 1}`);
  }
  noteShortClips(data.train, data.val, t);
  return { train: data.train, val: data.val, heldOut: data.heldOut, t };
}

/** `validateFirst`: log the validation losses of the starting point (step 0) of a warm-started or fine-tuned run. */
async function run(task: TrainTask, o: TrainOpts, steps: number, validateFirst = false): Promise<void> {
  const init = o.init === undefined ? undefined : initWeightsPath(o.init, task.model as "codec" | "vocoder");
  console.error(`training ${task.model} (${(task.config as { name?: string }).name ?? o.config}) on the ${task.engine ?? "jax"} engine`);
  const res = await runTraining(task, { out: o.out, steps, seed: o.seed, logEvery: o.logEvery, valEvery: o.valEvery, ckptEvery: o.ckptEvery, resume: o.resume, init, maxHours: o.maxHours, validateFirst: validateFirst && !o.resume });
  console.log(`${o.out}: ${res.stopped ? "stopped" : "finished"} at step ${res.step}`);
}

export function registerTrain(program: Command): void {
  // Training handles SIGINT and SIGTERM itself: it checkpoints, then stops (src/train/runner.ts).
  const train = keepDefaultSignals(program.command("train").description("train or fine-tune the codec or the vocoder on a folder of audio or a corpus"));
  common(train.command("codec").description("train the codec model (encoder, RVQ, decoder, CFM) jointly"), Object.keys(CODEC_TRAIN), "small")
    .option("--stats <stats.json>", "mel statistics (default: computed from the training split; with --init: the model's; with --init-linear: the linear codec's; with --resume: the run's)")
    .option("--init-linear <linear.safetensors>", "warm start a -lin config from a linear codec ('flowmac fit-linear'): its PCA and codebooks, its mel statistics")
    .option("--init-cfm <model>", "start the CFM decoder from a model directory's (or codec weights file's) CFM weights")
    .option("--prior-weight <x>", "weight of the prior loss, lambda_p (default: the config's, 0.01; with --resume: the run's)", parseFloatOption("prior-weight", 0, 1000))
    .option("--band-delta-weight <x>", "weight of an L1 term on the prior's error in the differences between adjacent mel bands, where harmonics show (default: the config's, 0; with --resume: the run's)", parseFloatOption("band-delta-weight", 0, 1000))
    .option("--cfm-weight <x>", "weight of the flow-matching loss (default: the config's, 1; 0 = prior-first: the CFM is left out of the step, ~2x faster, and keeps its weights)", parseFloatOption("cfm-weight", 0, 1000))
    .option("--engine <name>", "where loss and gradients are computed: jax (reference) or onnx (the exported step on onnxruntime)", parseChoice("engine", TRAIN_ENGINES), "jax")
    .option("--pack-short", "train on clips shorter than a crop too, each packed with clips of its own source to fill the crop (default: such clips are left out)")
    .option("--warp <w>", "speaker perturbation (VTLP): scale each crop's spectrum in frequency by a factor drawn log-uniformly from [1/(1+w), 1+w], pitch and formants together (default: 0, off; give it again with --resume)", parseFloatOption("warp", 0, 0.5))
    .option("--stage-dropout <p>", "quantizer dropout: the share of examples trained with a random number of stages, uniform from the config's fewest to all (default: the config's, 0.5; with --resume: the run's; 1 = every count equally often)", parseFloatOption("stage-dropout", 0, 1))
    .action(async (o: TrainOpts) => {
      const init = initWeights(o, "codec");
      const start = warmStart(o);
      const resumed = resumeFile(o, "codec");
      const name = settingsName(o, init ?? resumed, CODEC_TRAIN, start.linear ? "small-lin" : "small", init ? "--init model" : "--resume file");
      let config = structuredClone(init || resumed ? ((init ?? resumed)!.config as CodecConfig) : CODEC_CONFIGS[name]);
      if (o.priorWeight !== undefined) config = { ...config, loss: { ...config.loss, prior: o.priorWeight } };
      if (o.cfmWeight !== undefined) config = { ...config, loss: { ...config.loss, cfm: o.cfmWeight } };
      if (o.bandDeltaWeight !== undefined) config = { ...config, loss: { ...config.loss, bandDelta: o.bandDeltaWeight } };
      if (o.stageDropout !== undefined) config = { ...config, rvq: { ...config.rvq, dropoutProb: o.stageDropout } };
      if (start.linear) checkLinearFits(config, start.linear, o.initLinear!);
      if (start.cfm) checkCfmFits(start.cfm, config); // before the data is read
      const { train: clips, val, heldOut, t } = await prepare(o, CODEC_TRAIN[name]);
      // A corpus's held-out speakers get a validation curve of their own (val_unseen_* in log.jsonl).
      await run(createCodecTask(config, t, clips, val, statsFor(o, clips, init, start.linear ?? null, resumed), o.seed, { ...start, engine: o.engine, heldOut: heldOut() }), o, t.steps, Boolean(init || start.linear || start.cfm));
    });
  // GAN-trained generators and magnitude refiners share the command: the config names the kind.
  const vocoderTrain = { ...VOCODER_TRAIN, ...REFINER_TRAIN };
  const vocoderHelp = "train the mel-to-audio vocoder: a GAN-trained generator (vocos-*, bigvgan-*) or a magnitude refiner on NNLS + PGHI-FGLA (refiner-*)";
  common(train.command("vocoder").description(vocoderHelp), Object.keys(vocoderTrain), "vocos-small")
    .option("--decoded-by <model>", "refiners: train on the mels this model's codec decodes (its prior mel at 1.5, 3 and 6 kbit/s, 1:2:1) instead of the true ones; the target stays the true magnitude")
    .option("--engine <name>", "refiners: where loss and gradients are computed, jax (reference) or onnx (the exported step on onnxruntime)", parseChoice("engine", TRAIN_ENGINES), "jax")
    .option("--decoded-share <x>", "with --decoded-by: the share of training crops decoded; the rest keep the true mel", parseFloatOption("decoded-share", 0.01, 1), 1)
    .action(async (o: TrainOpts) => {
    if (o.decodedShare !== 1 && !o.decodedBy) throw new UserError("--decoded-share needs --decoded-by");
    const init = initWeights(o, "vocoder");
    // A resumed run keeps its config, as the codec's does: no --config needed.
    const resumed = resumeFile(o, "vocoder");
    const from = init ?? resumed;
    const name = settingsName(o, from, vocoderTrain, "vocos-small", init ? "--init model" : "--resume file");
    const config: AnyVocoderConfig = from ? (from.config as AnyVocoderConfig) : (VOCODER_CONFIGS[name] ?? REFINER_CONFIGS[name]);
    if (o.engine === "onnx" && !isRefinerConfig(config)) throw new UserError("--engine onnx trains refiners only (refiner-*): GAN vocoders train on jax");
    if (o.decodedBy && !isRefinerConfig(config)) throw new UserError("--decoded-by trains refiners only (refiner-*)");
    const { train: clips, val, t } = await prepare(o, vocoderTrain[name]);
    const decoded = o.decodedBy ? await DecodedMels.open(o.decodedBy === "default" ? DEFAULT_MODEL_DIR : o.decodedBy, o.decodedShare) : null;
    const task = isRefinerConfig(config) ? await createRefinerTask(config, t, clips, val, o.seed, decoded, o.engine) : createVocoderTask(config, t, clips, val, o.seed);
    await run(task, o, t.steps);
  });
}
