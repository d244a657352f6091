/** The codecs an evaluation can run: FlowMAC variants (in-process) and the peers (command-line tools). */
import { readFileSync } from "node:fs";
import { codeModelOf } from "../bitstream/code-model.js";
import { CRC_BYTES, HEADER_BYTES, payloadBytes, readFmac, writeFmac } from "../bitstream/fmac.js";
import { describeRates, rateFor } from "../cli/bitrate.js";
import { FRAME_RATE } from "../model/config.js";
import type { InferenceEngine, VocodeSettings } from "../model/engine.js";
import { TRUE_MEL_PROJECTION } from "../model/refiner-host.js";
import { REFINER_FLAGS, refinerFlagText } from "../cli/refiner-flags.js";
import { encodeStream, type RateChoice } from "../model/encode-stream.js";
import { decodeMel, DEFAULT_DECODE, LC_DECODE, vocodeMel, vocodeSettings } from "../model/pipeline.js";
import { MelFrontEnd } from "../audio/mel.js";
import { denormalizeMel, normalizeMel } from "../audio/stats.js";
import { decodeLinear, encodeLinear, parseLinearCodec, type LinearCodec } from "../model/linear-codec.js";
import { checkInputPath } from "../util/files.js";
import { UserError } from "../util/errors.js";
import { peerFromSpec, type CodecRun, type PeerCodec } from "./peers.js";
import { parseVocoder, withVocoder } from "../model/phase-vocoder.js";

export interface EvalCodec {
  name: string;
  packages: string[];
  run(audio24k: Float32Array): Promise<CodecRun>;
}

/** Settings an evaluation spec can override (":8" steps, ":0" the prior itself, ":g0.5" guidance, ":t0.7" temperature, ":b1" the encoder's RVQ beam, ":fixed" no rate allocation, ":plain" allocation without entropy coding, ":h1" the RVQ search's high-band weight). */
interface DecodeOverrides extends VocodeSettings {
  steps?: number;
  guidance?: number;
  temperature?: number;
  beam?: number;
  fixed?: boolean;
  /** Allocated but not entropy-coded (version 2). */
  plain?: boolean;
  /** The entropy-constrained search's weight (RateChoice.rdWeight). */
  rd?: number;
  /** RateChoice.rdAhead. */
  ahead?: number;
  /** RateChoice.highBandWeight (":h0.3"). */
  highBand?: number;
  /** RateChoice.predictive (":pred"): the model's predictive RVQ. */
  pred?: boolean;
}

/** Sets a refiner setting from its spec part (":i4", ":n20", ":p10"; REFINER_FLAGS' letters). */
function setVocodeSpec(o: VocodeSettings, part: string): void {
  o[REFINER_FLAGS.find((v) => v.letter === part[0])!.key] = Number(part.slice(1));
}

function flowmac(engine: InferenceEngine, kbps: number, lc: boolean, o: DecodeOverrides, suffix: string): EvalCodec {
  const { rvq } = engine.info.codec;
  let rate: RateChoice;
  try {
    rate = { ...rateFor({ kbps, allocate: !o.fixed }, rvq), ...(o.pred ? { predictive: true } : {}), entropy: !o.plain, ...(o.rd !== undefined ? { rdWeight: o.rd } : {}), ...(o.ahead !== undefined ? { rdAhead: o.ahead } : {}), ...(o.highBand !== undefined ? { highBandWeight: o.highBand } : {}) };
  } catch {
    throw new UserError(`flowmac@${kbps}${o.fixed ? ":fixed" : ""}: the model (${engine.info.codec.name}) codes ${describeRates(rvq)}${o.fixed ? "" : ", and any rate in between with allocation"}`);
  }
  const { beam, fixed, plain, rd, ahead, highBand, pred, ...decodeOverrides } = o;
  const decode = { ...DEFAULT_DECODE, ...(lc ? LC_DECODE : {}), ...decodeOverrides };
  const flags = [o.steps !== undefined ? ` --steps ${o.steps}` : "", o.guidance !== undefined ? ` --guidance ${o.guidance}` : "", o.temperature !== undefined ? ` --temperature ${o.temperature}` : "", beam !== undefined ? ` --beam ${beam}` : "", fixed ? " --no-allocate" : "", plain ? " --no-entropy" : "", rd !== undefined ? ` --rd-weight ${rd}` : "", highBand !== undefined ? ` --high-band-weight ${highBand}` : "", pred ? " --predictive" : "", refinerFlagText(o)].join("");
  return {
    name: `flowmac${lc ? "-lc" : ""}@${kbps}${suffix}`,
    packages: [],
    async run(audio) {
      const t0 = performance.now();
      const bits = writeFmac(await encodeStream(engine, audio, rate, beam));
      const bytes = bits.length;
      // Decoded from the bytes, as `flowmac decode` would.
      const { codes, frames, stages, frameStages, predictive } = readFmac(bits, "bitstream", codeModelOf(engine.info));
      const t1 = performance.now();
      const mel = await decodeMel(engine, codes, frames, stages, { ...decode, frameStages, predictive });
      const out = await vocodeMel(engine, mel, frames, audio.length, undefined, vocodeSettings(decode));
      const t2 = performance.now();
      return { audio: out, mel, bytes, encodeSeconds: (t1 - t0) / 1000, decodeSeconds: (t2 - t1) / 1000, commands: [`flowmac roundtrip --kbps ${kbps}${lc ? " --lc" : ""}${flags} (engine ${engine.name})`] };
    },
  };
}

/** The vocoder alone on the original mel: the ceiling any FlowMAC rate can reach. Not a codec (0 bytes). */
/** The vocoder alone, as `flowmac resynth` runs it: its mel is the true one, so with TRUE_MEL_PROJECTION unless the spec sets one. */
function vocoderOnly(engine: InferenceEngine, given: VocodeSettings = {}): EvalCodec {
  const suffix = REFINER_FLAGS.map(({ letter, key }) => (given[key] !== undefined ? `:${letter}${given[key]}` : "")).join("");
  const o = { melProjection: TRUE_MEL_PROJECTION, ...given };
  const flags = refinerFlagText(given);
  return {
    name: `vocoder-only${suffix}`,
    packages: [],
    async run(audio) {
      const t0 = performance.now();
      const mel = new MelFrontEnd().compute(audio);
      const out = await vocodeMel(engine, mel.data, mel.frames, audio.length, undefined, o);
      return { audio: out, bytes: 0, encodeSeconds: 0, decodeSeconds: (performance.now() - t0) / 1000, commands: [`flowmac resynth${flags} (original mel -> vocoder)`] };
    },
  };
}

/**
 * The linear reference codec (PCA + residual VQ of the normalised mel) at `kbps`,
 * decoded by the engine's vocoder. Bytes are those a .fmac of its codes would take.
 */
function linear(engine: InferenceEngine, codec: LinearCodec, kbps: number, file: string): EvalCodec {
  const perStage = FRAME_RATE * Math.log2(codec.codebookSize);
  const stages = Math.round((kbps * 1000) / perStage);
  if (stages < 1 || stages > codec.stages) throw new UserError(`linear@${kbps}: ${file} codes ${perStage} bit/s per stage, up to ${codec.stages} stages`);
  return {
    name: `linear@${kbps}`,
    packages: [],
    async run(audio) {
      const t0 = performance.now();
      const mel = new MelFrontEnd().compute(audio);
      const codes = encodeLinear(codec, normalizeMel(mel, codec.stats).data, mel.frames, stages);
      const bytes = HEADER_BYTES + payloadBytes(mel.frames, stages, Math.log2(codec.codebookSize)) + CRC_BYTES;
      const t1 = performance.now();
      const decoded = denormalizeMel({ ...mel, data: decodeLinear(codec, codes, mel.frames, stages) }, codec.stats);
      const out = await vocodeMel(engine, decoded.data, mel.frames, audio.length);
      const t2 = performance.now();
      return { audio: out, mel: decoded.data, bytes, encodeSeconds: (t1 - t0) / 1000, decodeSeconds: (t2 - t1) / 1000, commands: [`linear codec ${file}, ${stages} stages (PCA + RVQ of the mel) -> vocoder (engine ${engine.name})`] };
    },
  };
}

function readLinearCodec(file: string | undefined, spec: string): LinearCodec {
  if (!file) throw new UserError(`${spec} needs --linear <file.safetensors> (fit one with 'flowmac fit-linear')`);
  checkInputPath(file);
  return parseLinearCodec(new Uint8Array(readFileSync(file)), file);
}

/**
 * A spec with a vocoder ("flowmac-lc@3/pghi-fgla", "vocoder-only/fgla:64"): the
 * codec with the model's vocoder replaced (model/phase-vocoder.ts).
 */
export function codecFromSpec(spec: string, engine: () => Promise<InferenceEngine>, linearFile?: string): Promise<EvalCodec> | EvalCodec {
  const slash = spec.indexOf("/");
  if (slash < 0) return codecFromBaseSpec(spec, engine, linearFile);
  const base = spec.slice(0, slash);
  if (!/^(flowmac|vocoder-only|linear)/.test(base)) throw new UserError(`${spec}: only flowmac, linear and vocoder-only rows take a vocoder after '/'`);
  const choice = parseVocoder(spec.slice(slash + 1));
  const swapped = () => engine().then((e) => withVocoder(e, choice));
  // The row's commands name the vocoder too (before their parenthesised note), so that they reproduce it.
  const withFlag = (cmd: string) => cmd.replace(/^(flowmac [^(]*?)( \(|$)/, `$1 --vocoder ${choice.name}$2`);
  return Promise.resolve(codecFromBaseSpec(base, swapped, linearFile)).then((c) => ({
    ...c,
    name: `${c.name}/${choice.name}`,
    run: async (audio: Float32Array) => {
      const r = await c.run(audio);
      return { ...r, commands: r.commands.map(withFlag) };
    },
  }));
}

/**
 * "flowmac@3", "flowmac-lc@1.5", "flowmac@3:8" (8 Euler steps), "flowmac@3:g0.5:t0.7:b1:fixed"
 * (guidance 0.5, temperature 0.7, greedy RVQ search, the same stages every frame; any of them, in any order; ":plain": allocated without entropy coding;
 * ":h1": the RVQ search's high-band weight, here the plain latent error; ":pred": the model's predictive RVQ, allocated unless ":fixed"), "vocoder-only", "linear@3"
 * (the linear codec in `linearFile`), or a peer spec.
 */
function codecFromBaseSpec(spec: string, engine: () => Promise<InferenceEngine>, linearFile?: string): Promise<EvalCodec> | EvalCodec {
  const m = /^flowmac(-lc)?@(\d+(?:\.\d+)?)((?::(?:\d+|[gt]\d+(?:\.\d+)?|b[1-9]\d*|rd\d+(?:\.\d+)?|h\d+(?:\.\d+)?|ahead\d+(?:\.\d+)?|i\d+|n\d+|p\d+|fixed|plain|pred))*)$/.exec(spec);
  if (m) {
    const o: DecodeOverrides = {};
    for (const part of m[3].split(":").slice(1)) {
      if (part[0] === "g") o.guidance = Number(part.slice(1));
      else if (part[0] === "t") o.temperature = Number(part.slice(1));
      else if (part[0] === "b") o.beam = Number(part.slice(1));
      else if (part === "fixed") o.fixed = true;
      else if (part === "plain") o.plain = true;
      else if (part === "pred") o.pred = true;
      else if (part.startsWith("rd")) o.rd = Number(part.slice(2));
      else if (part.startsWith("ahead")) o.ahead = Number(part.slice(5));
      else if (part[0] === "h") o.highBand = Number(part.slice(1));
      else if (/^[inp]\d/.test(part)) setVocodeSpec(o, part);
      else o.steps = Number(part);
    }
    return engine().then((e) => flowmac(e, Number(m[2]), !!m[1], o, m[3]));
  }
  const only = /^vocoder-only((?::[inp]\d+)*)$/.exec(spec);
  if (only) {
    const given: VocodeSettings = {};
    for (const part of only[1].split(":").slice(1)) setVocodeSpec(given, part);
    return engine().then((e) => vocoderOnly(e, given));
  }
  const lin = /^linear@(\d+(?:\.\d+)?)$/.exec(spec);
  if (lin) {
    const codec = readLinearCodec(linearFile, spec);
    return engine().then((e) => linear(e, codec, Number(lin[1]), linearFile!));
  }
  const peer: PeerCodec | null = peerFromSpec(spec);
  if (!peer) throw new UserError(`unknown codec '${spec}' (use flowmac@3, flowmac@1.5, flowmac-lc@3, vocoder-only, linear@3, opus@6, codec2@3200, codec2@1600, speex@0, ...)`);
  return peer;
}
