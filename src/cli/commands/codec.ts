import type { Command } from "commander";
import { SAMPLE_RATE } from "../../audio/load.js";
import { openAudioStream, type AudioStream } from "../../audio/stream.js";
import { type WavSampleFormat } from "../../audio/wav.js";
import { WavFileWriter } from "../../audio/wav-writer.js";
import { codeModelOf } from "../../bitstream/code-model.js";
import { readFmac, readFmacHeader, writeFmac, type FmacStream } from "../../bitstream/fmac.js";
import type { InferenceEngine } from "../../model/engine.js";
import { streamMismatch } from "../../model/stream-fit.js";
import { DEFAULT_BEAM } from "../../model/rvq-search.js";
import { HIGH_BAND_WEIGHT_BY_RATE } from "../../model/search-metric.js";
import { modelHint } from "../model-lookup.js";
import { decodeAudioChunks, DEFAULT_DECODE, LC_DECODE, LC_NNLS_ITERATIONS, LC_PHASE_ITERATIONS, type DecodeOptions } from "../../model/pipeline.js";
import { UserError } from "../../util/errors.js";
import { readInputFile, writeFileAtomic } from "../../util/files.js";
import { parseVocoder, VOCODER_HELP, withVocoder, type VocoderChoice } from "../../model/phase-vocoder.js";
import { plural } from "../../util/plural.js";
import { bundledRatesHelp, checkRateFlags, meaningfulKbps, rateFor, TOO_SHORT_FOR_A_RATE, TOO_SHORT_FOR_RATE_OR_SPEED } from "../bitrate.js";
import { DEFAULT_RD_WEIGHT, encodeStream } from "../../model/encode-stream.js";
import { modelOptions, openModel, type ModelOpts } from "../model-options.js";
import { parseChoice, parseFloatOption, parseIntOption, parsePositiveOption, requireOutput } from "../options.js";
import { progressBar } from "../progress.js";
import { refuseOutputsOverInputs } from "../same-file.js";
import { checkRefinerFlags, refinerOptions, refinerSettings, type RefinerFlags } from "../refiner-flags.js";

interface EncodeOpts extends ModelOpts {
  output: string;
  kbps?: number;
  stages?: number;
  allocate: boolean;
  entropy: boolean;
  beam: number;
  rdWeight?: number;
  highBandWeight?: number;
  predictive?: boolean;
}

interface DecodeOpts extends ModelOpts, RefinerFlags {
  output: string;
  steps?: number;
  guidance?: number;
  lc?: boolean;
  seed: number;
  temperature?: number;
  format: WavSampleFormat;
  vocoder: VocoderChoice;
}

function encodeOptions(cmd: Command): Command {
  return cmd
    .option("--kbps <rate>", "bit rate in kbit/s, within the model's range (see below); not with --stages", parsePositiveOption("kbps"))
    .option("--stages <n>", "RVQ stages to transmit in every frame (a version 1 stream); not with --kbps", parsePositiveOption("stages", true))
    .option("--no-allocate", "every frame carries the same stages (a version 1 stream): --kbps must then be a whole number of stages. By default the stages go where they remove the most error, frame by frame, within the rate")
    .option("--no-entropy", "write an allocated stream without entropy coding (version 2, for decoders older than version 3): the same quality costs more bits. By default the indices are range-coded under the model's code tables (each given the previous frame's index at its stage), where it has them, and the bits saved buy more stages")
    .option("--beam <n>", "RVQ search: partial code sums kept per frame (1 = greedy; more codes each frame closer, encodes slower; any decoder reads the result)", parseIntOption("beam", 1, 64), DEFAULT_BEAM)
    .option("--rd-weight <w>", `entropy-coded streams: the RVQ search trades an index's accuracy for its bits under the code tables, a bit weighed at w times its price in the rate allocation (0 = accuracy only; default ${DEFAULT_RD_WEIGHT})`, parseFloatOption("rd-weight", 0, 100))
    .option("--high-band-weight <w>", `RVQ search: the weight of the mel bands above 4 kHz in the error the encoder minimises (1 = every band alike, the best for music and wideband fidelity; below 1 the bits go where speech is intelligible). Default: by the rate, ${HIGH_BAND_WEIGHT_BY_RATE.map(([kbps, w]) => `${w} at ${kbps} kbit/s`).join(", ")}, interpolated between; any decoder reads the result`, parseFloatOption("high-band-weight", 0.01, 1))
    .option("--predictive", "code each frame's latent as the error of a prediction from the last decoded frame, with the model's predictive RVQ (made by 'flowmac fit-predictive'; the stream carries the predictive flag). Allocated as by default (version 2, not entropy-coded), or the same stages every frame with --stages or --no-allocate")
    .addHelpText("after", bundledRatesHelp);
}

function decodeOptions(cmd: Command): Command {
  return refinerOptions(cmd, "default 0")
    .option("--steps <n>", "Euler steps of the flow decoder (default 0 = the prior mel itself, no flow: the best-measured decoder of the bundled model; 32 = the paper's)", parseIntOption("steps", 0, 1000))
    .option("--guidance <w>", "classifier-free guidance scale of the flow (default 1; needs --steps >= 1)", parseFloatOption("guidance", 0, 10))
    .option("--lc", `FlowMAC-LC, the low-complexity decoder: the prior mel as by default, the vocoder's phase by PGHI and ${LC_PHASE_ITERATIONS} fast Griffin-Lim iterations instead of 16 and ${LC_NNLS_ITERATIONS} NNLS iterations instead of 40 (about 2-3x faster decoding; STOI 0.829 against 0.838 at 3 kbit/s). The paper's LC, one flow step: --steps 1 --guidance 0 --temperature 0.5`)
    .option("--seed <n>", "noise seed (decoding is deterministic for a seed)", parseIntOption("seed", 0, 2 ** 31 - 1), 0)
    .option("--temperature <t>", "scale of the flow's initial noise (default 0.7; needs --steps >= 1)", parseFloatOption("temperature", 0, 2))
    .option("--format <fmt>", "output WAV samples: pcm16 or float32", parseChoice("format", ["pcm16", "float32"] as const), "pcm16")
    .option("--vocoder <name>", `mel-to-audio stage: ${VOCODER_HELP}`, parseVocoder, parseVocoder("model"));
}

function decodeSettings(o: DecodeOpts): DecodeOptions {
  if (o.lc && (o.steps !== undefined || o.guidance !== undefined || o.temperature !== undefined))
    throw new UserError("--lc decodes the prior mel, with no flow steps: drop --steps/--guidance/--temperature (the paper's one-step LC is --steps 1 --guidance 0 --temperature 0.5)");
  if (!o.steps && (o.guidance !== undefined || o.temperature !== undefined))
    throw new UserError("--guidance and --temperature shape the flow decoder, which the default (--steps 0, the prior mel) skips: add --steps N (32 is the paper's)");
  return {
    ...DEFAULT_DECODE,
    ...(o.lc ? LC_DECODE : {}),
    ...(o.steps !== undefined ? { steps: o.steps } : {}),
    ...(o.guidance !== undefined ? { guidance: o.guidance } : {}),
    ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
    ...refinerSettings(o),
    seed: o.seed,
  };
}

async function encodeFile(input: string, o: EncodeOpts, engine: InferenceEngine): Promise<FmacStream> {
  const rate = { ...rateFor(o, engine.info.codec.rvq), ...(o.predictive ? { predictive: true } : {}), entropy: o.entropy !== false, ...(o.rdWeight !== undefined ? { rdWeight: o.rdWeight } : {}), ...(o.highBandWeight !== undefined ? { highBandWeight: o.highBandWeight } : {}) };
  // Streamed: a long WAV file is read, resampled and encoded in bounded memory (allocation reads it twice).
  let audio: AudioStream | null = await openAudioStream(input);
  const length = audio.length;
  const open = () => {
    const a = audio;
    audio = null;
    return a ? a.chunks() : (async function* () { yield* (await openAudioStream(input)).chunks(); })();
  };
  const bar = progressBar("encode", 1);
  try {
    return await encodeStream(engine, { open, length }, rate, o.beam, (d, t) => bar.update(d / t));
  } finally {
    bar.stop();
  }
}

/** "8 stages" or, allocated, "8.00 stages a frame on average (1 to 16)". */
function describeStages(s: FmacStream): string {
  if (!s.frameStages) return plural(s.stages, "stage");
  const mean = s.frameStages.reduce((a, b) => a + b, 0) / s.frames;
  return `${mean.toFixed(2)} stages a frame on average (allocated, ${Math.min(...s.frameStages)} to ${Math.max(...s.frameStages)})`;
}

function checkStream(s: Parameters<typeof streamMismatch>[0], source: string, engine: InferenceEngine, modelDir?: string): void {
  const why = streamMismatch(s, engine.info, (id) => modelHint(id, modelDir));
  if (why) throw new UserError(`${source}: ${why}`);
}

/** Decodes straight into a WAV file, block by block: memory stays bounded for any length. */
async function decodeToFile(s: FmacStream, source: string, out: string, o: DecodeOpts, modelEngine: InferenceEngine): Promise<void> {
  checkStream(s, source, modelEngine, o.model);
  const engine = await withVocoder(modelEngine, o.vocoder);
  checkRefinerFlags(o, o.vocoder, engine);
  const bar = progressBar("decode", 100, "%");
  const writer = new WavFileWriter(out, SAMPLE_RATE, s.length, o.format);
  try {
    for await (const chunk of decodeAudioChunks(engine, s.codes, s.frames, s.stages, s.length, { ...decodeSettings(o), frameStages: s.frameStages, predictive: s.predictive, onProgress: (d, t) => bar.update(Math.round((100 * d) / t)) }))
      writer.write(chunk);
    writer.close();
  } catch (e) {
    writer.abort();
    throw e;
  } finally {
    bar.stop();
  }
  if (writer.overFullScale > 0)
    console.error(`note: ${writer.overFullScale} samples (${((100 * writer.overFullScale) / s.length).toFixed(3)}%) exceeded full scale and were soft-limited (--format float32 keeps them)`);
}

export function registerCodec(program: Command): void {
  encodeOptions(modelOptions(program.command("encode")))
    .description("encode audio to a .fmac bitstream (24 kHz; the bit rate set by --kbps or --stages)")
    .argument("<audio>", "input audio (WAV, FLAC, MP3, Ogg)")
    .requiredOption("-o, --output <file.fmac>", "output bitstream")
    .action(async (input: string, o: EncodeOpts) => {
      const out = requireOutput(o.output, ".fmac");
      refuseOutputsOverInputs([input], [out]);
      checkRateFlags(o);
      const engine = await openModel(o);
      const s = await encodeFile(input, o, engine);
      const bytes = writeFmac(s);
      writeFileAtomic(out, bytes);
      const secs = s.length / SAMPLE_RATE;
      const kbps = meaningfulKbps(bytes.length, secs);
      console.log(`${out}: ${bytes.length} bytes, ${describeStages(s)}, ${kbps === null ? `${secs.toFixed(2)} s: ${TOO_SHORT_FOR_A_RATE}` : `${kbps.toFixed(3)} kbit/s`}`);
      engine.dispose();
    });

  decodeOptions(modelOptions(program.command("decode")))
    .description("decode a .fmac bitstream to a 24 kHz WAV file")
    .argument("<file.fmac>", "input bitstream")
    .requiredOption("-o, --output <file.wav>", "output WAV")
    .action(async (input: string, o: DecodeOpts) => {
      const out = requireOutput(o.output, ".wav");
      refuseOutputsOverInputs([input], [out]);
      decodeSettings(o); // flags first: a bad flag is reported before any file is read
      const bytes = await readInputFile(input);
      const header = readFmacHeader(bytes, input);
      const engine = await openModel(o);
      // The model first: an entropy-coded payload is read with the code tables of the model that wrote it.
      checkStream(header, input, engine, o.model);
      const s = readFmac(bytes, input, codeModelOf(engine.info));
      await decodeToFile(s, input, out, o, engine);
      console.log(`${out}: ${(s.length / SAMPLE_RATE).toFixed(2)} s`);
      engine.dispose();
    });

  decodeOptions(encodeOptions(modelOptions(program.command("roundtrip"))))
    .description("encode and decode through a .fmac bitstream; prints the true bit rate")
    .argument("<audio>", "input audio")
    .requiredOption("-o, --output <file.wav>", "output WAV")
    .option("--keep <file.fmac>", "also write the bitstream")
    .action(async (input: string, o: EncodeOpts & DecodeOpts & { keep?: string }) => {
      const out = requireOutput(o.output, ".wav");
      if (o.keep) requireOutput(o.keep, ".fmac");
      refuseOutputsOverInputs([input], [out, o.keep]);
      checkRateFlags(o);
      decodeSettings(o);
      const engine = await openModel(o);
      const t0 = performance.now();
      const s = await encodeFile(input, o, engine);
      const bytes = writeFmac(s);
      const t1 = performance.now();
      await decodeToFile(readFmac(bytes, "bitstream", codeModelOf(engine.info)), "bitstream", out, o, engine);
      const t2 = performance.now();
      if (o.keep) writeFileAtomic(o.keep, bytes);
      const secs = s.length / SAMPLE_RATE;
      const kbps = meaningfulKbps(bytes.length, secs);
      // Under a second, start-up and one whole block dominate the times as the header does the size.
      if (kbps === null) console.log(`${out}: ${secs.toFixed(2)} s, ${describeStages(s)}: ${TOO_SHORT_FOR_RATE_OR_SPEED}`);
      else
        console.log(
          `${out}: ${secs.toFixed(2)} s at ${kbps.toFixed(3)} kbit/s (file size incl. header), ` +
            `encode ${(secs / ((t1 - t0) / 1000)).toFixed(1)}x, decode ${(secs / ((t2 - t1) / 1000)).toFixed(1)}x real time`,
        );
      engine.dispose();
    });
}
