/**
 * Mels as a codec decodes them, for training a vocoder on what it will be given
 * (TTS vocoders are fine-tuned on predicted mels for the same reason). A clip is
 * coded and decoded whole by the product's own pipeline (encodeStream: rate
 * allocation and the default beam search, then the default decoder's prior mel), once per rate, and
 * kept: the codec is frozen, so every later crop of that clip at that rate is a
 * slice. Decoding a crop alone would cost a whole pipeline block (320 frames)
 * for 32 frames, every time. Long clips (music tracks) are the exception: a crop
 * of one is decoded in a window with 64 frames of context each side (decoding a
 * 70 s track for one crop would cost more than it saves). A crop's random gain is added to the decoded
 * log-mel (the codec decodes the clip at its own level).
 */
import { bitsPerStage, defaultStages } from "../cli/bitrate.js";
import type { InferenceEngine } from "../model/engine.js";
import { openEngine, type EngineName } from "../model/open.js";
import { DEFAULT_DECODE, decodeMel } from "../model/pipeline.js";
import { encodeStream } from "../model/encode-stream.js";
import type { Rng } from "../nn/rng.js";
import { BANDS, HOP, type Clip } from "./clip.js";

/** Clips up to this long (22 s) are decoded whole and kept; a crop of a longer one (music tracks) is decoded in a window around it, each time. */
export const WHOLE_CLIP_FRAMES = 1024;
/** Frames of context each side of a window-decoded crop: beyond the codec's reach (a pipeline block's margin is 32). */
const WINDOW_CONTEXT = 64;
/** The decoded mels kept, at most (whole clips; the oldest go first): 8.7 h of corpus at 3 rates is ~2.2 GB. */
const CACHE_BYTES = 3 * 2 ** 30;
const LOG_FLOOR = Math.log(1e-5);

/** The product's rates and how often a crop is decoded at each: 3 kbit/s twice as often as 1.5 and 6. */
const RATE_SHARES: [kbps: number, weight: number][] = [
  [1.5, 1],
  [3, 2],
  [6, 1],
];

/** Stage counts of the rates the codec serves (those within its `stages`) and their cumulative shares; the top stage count alone when none fits. */
export function rateStages(stages: number, codebookSize: number): { stages: number[]; cumulative: number[] } {
  const perStage = bitsPerStage({ stages, codebookSize });
  const fit = RATE_SHARES.map(([kbps, w]) => [Math.round((kbps * 1000) / perStage), w] as const).filter(([s]) => s >= 1 && s <= stages);
  if (fit.length === 0) return { stages: [stages], cumulative: [1] };
  const total = fit.reduce((a, [, w]) => a + w, 0);
  let acc = 0;
  return { stages: fit.map(([s]) => s), cumulative: fit.map(([, w]) => (acc += w / total)) };
}

export class DecodedMels {
  private readonly rates: { stages: number[]; cumulative: number[] };
  /** Stage count of validation crops (no rng): the codec's default rate, 3 kbit/s where it has it. */
  private readonly fixedStages: number;
  private readonly cache = new Map<string, Float32Array>();
  private cachedBytes = 0;

  private constructor(
    private readonly engine: InferenceEngine,
    /** Share of training crops given as decoded (the rest keep the true mel, so the vocoder stays good on both). */
    readonly share: number,
    private readonly wholeClipFrames: number,
  ) {
    const { rvq } = engine.info.codec;
    this.rates = rateStages(rvq.stages, rvq.codebookSize);
    this.fixedStages = defaultStages(rvq);
  }

  static async open(modelDir: string, share = 1, engine: EngineName = "onnx", wholeClipFrames = WHOLE_CLIP_FRAMES): Promise<DecodedMels> {
    if (!(share > 0 && share <= 1)) throw new RangeError(`decoded share ${share} is not in (0, 1]`);
    return new DecodedMels(await openEngine(modelDir, engine), share, wholeClipFrames);
  }

  /** Whether a training crop is decoded (draws from `rng`). */
  pick(rng: Rng): boolean {
    return this.share >= 1 || rng.uniform() < this.share;
  }

  /** Stage count of one crop: a product rate drawn by RATE_SHARES, or the fixed validation rate when `rng` is null. */
  stagesFor(rng: Rng | null): number {
    if (!rng) return this.fixedStages;
    const u = rng.uniform();
    return this.rates.stages[this.rates.cumulative.findIndex((c) => u < c)] ?? this.rates.stages[this.rates.stages.length - 1];
  }

  /** Log-mel [F, 128] of the clip's frames [f0, f0 + F) as the codec decodes the clip, plus `logGain` (floored as the front end floors). */
  async decode(clip: Clip, f0: number, F: number, logGain: number, rng: Rng | null): Promise<Float32Array> {
    const stages = this.stagesFor(rng);
    let out: Float32Array;
    if (clip.frames <= this.wholeClipFrames) out = (await this.decodedClip(clip, stages)).slice(f0 * BANDS, (f0 + F) * BANDS);
    else {
      // Frame i of audio cut at sample a * HOP is the clip's frame a + i (the front end centres frames on multiples of HOP).
      const a = Math.max(0, f0 - WINDOW_CONTEXT);
      const b = Math.min(clip.frames, f0 + F + WINDOW_CONTEXT);
      const mel = await this.codeAndDecode(clip.audio(a * HOP, (b - a) * HOP), stages);
      out = mel.slice((f0 - a) * BANDS, (f0 - a + F) * BANDS);
    }
    for (let i = 0; i < out.length; i++) out[i] = Math.max(LOG_FLOOR, out[i] + logGain);
    return out;
  }

  /** The whole clip's decoded log-mel at `stages`, from the cache or decoded now. */
  private async decodedClip(clip: Clip, stages: number): Promise<Float32Array> {
    const key = `${clip.entry.id}@${stages}`;
    const kept = this.cache.get(key);
    if (kept) return kept;
    const mel = await this.codeAndDecode(clip.audio(0, clip.samples), stages);
    if (mel.length !== clip.frames * BANDS) throw new Error(`${clip.entry.id}: ${mel.length / BANDS} decoded frames, the clip has ${clip.frames}`);
    this.cache.set(key, mel);
    this.cachedBytes += mel.byteLength;
    for (const [k, v] of this.cache) {
      if (this.cachedBytes <= CACHE_BYTES) break;
      this.cache.delete(k);
      this.cachedBytes -= v.byteLength;
    }
    return mel;
  }

  /** The product's pipeline: code `audio` at `stages`' rate as `flowmac encode` does (allocated, default beam search), decode the prior mel. */
  private async codeAndDecode(audio: Float32Array, stages: number): Promise<Float32Array> {
    const s = await encodeStream(this.engine, audio, { stages, allocate: true });
    return decodeMel(this.engine, s.codes, s.frames, s.stages, { ...DEFAULT_DECODE, frameStages: s.frameStages, predictive: s.predictive });
  }

  dispose(): void {
    this.engine.dispose();
  }
}
