/**
 * The bit rates a model codes, from its RVQ: each stage adds one index of
 * log2(codebook size) bits per frame. --kbps and --stages both choose the
 * number of stages; giving both is an error rather than a silent preference.
 */
import { CRC_BYTES, HEADER_BYTES } from "../bitstream/fmac.js";
import { FRAME_RATE, kbit, type RvqConfig } from "../model/config.js";
import { readCodecConfig } from "../model/load.js";
import { UserError } from "../util/errors.js";
import type { RateChoice } from "../model/encode-stream.js";

type Rvq = Pick<RvqConfig, "stages" | "codebookSize">;

export interface RateFlags {
  kbps?: number;
  stages?: number;
  /** false (--no-allocate): every frame carries the same stages. */
  allocate?: boolean;
}

export { kbit };

export const bitsPerStage = (rvq: Rvq) => FRAME_RATE * Math.log2(rvq.codebookSize);


const stageRange = (rvq: Rvq) => (rvq.stages === 1 ? "1 RVQ stage" : `1 to ${rvq.stages} RVQ stages`);

/** The rates a model codes, e.g. "0.375 to 3 kbit/s in steps of 0.375 (1 to 8 RVQ stages)". */
export function describeRates(rvq: Rvq): string {
  const step = bitsPerStage(rvq);
  const rates = rvq.stages === 1 ? `${kbit(step)} kbit/s` : `${kbit(step)} to ${kbit(rvq.stages * step)} kbit/s in steps of ${kbit(step)}`;
  return `${rates} (${stageRange(rvq)})`;
}

/** The rate coded when neither --kbps nor --stages is given, where a model codes it: the codec's headline rate. */
export const DEFAULT_KBPS = 3;

/** Stages by default: 3 kbit/s where the model codes it (a 16-stage model also codes 6), else all of them. */
export function defaultStages(rvq: Rvq): number {
  const s = (DEFAULT_KBPS * 1000) / bitsPerStage(rvq);
  return Number.isInteger(s) && s <= rvq.stages ? s : rvq.stages;
}

/** The default rate in words, e.g. "3 kbit/s (8 of 16 stages)" or "all 4 stages". */
export function describeDefault(rvq: Rvq): string {
  const s = defaultStages(rvq);
  return s === rvq.stages ? `all ${rvq.stages} stages` : `${kbit(s * bitsPerStage(rvq))} kbit/s (${s} of ${rvq.stages} stages)`;
}

/** The bundled model's rates, for help texts: read when help is shown (another --model may code others). */
export function bundledRatesHelp(): string {
  const c = readCodecConfig();
  return c ? `\nBit rates of the bundled model: ${describeRates(c.rvq)}, and any --kbps in between with allocation (the default); the default is ${describeDefault(c.rvq)}.\n` : "";
}

/** Flags alone (before a model is loaded): --kbps and --stages are two ways to say one thing. */
export function checkRateFlags(o: RateFlags): void {
  if (o.kbps !== undefined && o.stages !== undefined)
    throw new UserError(`--kbps ${o.kbps} and --stages ${o.stages} both set the bit rate: give one of them`);
}

/** The stages to transmit: --stages, --kbps's equivalent, or the default (defaultStages). */
export function stagesFor(o: RateFlags, rvq: Rvq): number {
  checkRateFlags(o);
  if (o.stages !== undefined) {
    if (o.stages > rvq.stages) throw new UserError(`--stages ${o.stages}: this model has ${stageRange(rvq)} (${kbit(bitsPerStage(rvq))} kbit/s each)`);
    return o.stages;
  }
  if (o.kbps === undefined) return defaultStages(rvq);
  const stages = (o.kbps * 1000) / bitsPerStage(rvq);
  const whole = Math.round(stages);
  if (Math.abs(stages - whole) > 1e-6 || whole < 1 || whole > rvq.stages) throw new UserError(`--kbps ${o.kbps}: this model codes ${describeRates(rvq)}`);
  return whole;
}

/**
 * The rate to encode at. --stages N: N stages in every frame. --kbps (or the
 * default rate): allocated across frames where the model has stages to spare,
 * so any rate from one stage's to all stages' is coded; with --no-allocate it
 * must be a whole number of stages.
 */
export function rateFor(o: RateFlags, rvq: Rvq): RateChoice {
  checkRateFlags(o);
  if (o.stages !== undefined || o.allocate === false || o.kbps === undefined) {
    const stages = stagesFor(o, rvq);
    return { stages, allocate: o.stages === undefined && o.allocate !== false };
  }
  const stages = (o.kbps * 1000) / bitsPerStage(rvq);
  if (stages < 1 - 1e-9 || stages > rvq.stages + 1e-9) throw new UserError(`--kbps ${o.kbps}: this model codes ${describeRates(rvq)}, and any rate in between with allocation (the default)`);
  const whole = Math.round(stages);
  return { stages: Math.abs(stages - whole) < 1e-6 ? whole : stages, allocate: true };
}

/** Why a rate (and a speed) measured on a clip under a second would mislead. */
export const TOO_SHORT_FOR_A_RATE = `too short for a meaningful bit rate (the ${HEADER_BYTES + CRC_BYTES}-byte header and CRC dominate)`;
export const TOO_SHORT_FOR_RATE_OR_SPEED = `too short for a meaningful bit rate or speed (the ${HEADER_BYTES + CRC_BYTES}-byte header and CRC dominate the size, start-up the time)`;

/** Bit rate in kbit/s of `bytes` holding `seconds` of audio; null under a second, where the header and CRC are most of the file. */
export function meaningfulKbps(bytes: number, seconds: number): number | null {
  return seconds < 1 ? null : (bytes * 8) / seconds / 1000;
}
