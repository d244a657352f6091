/**
 * Fits a model's code tables (bitstream/code-model.ts) on its own codes of a
 * corpus's training clips, and measures on validation clips what each stage's
 * indices then cost. The codes are those of the encoder's first pass
 * (all stages searched, the default beam), as rate allocation prices them,
 * searched with the default rate's metric (search-metric.ts: the tables serve
 * every rate, and the default rate's indices are the ones most streams carry).
 */
import { cumulativeIndexBits, fitCodeModel, type CodeModel } from "../bitstream/code-model.js";
import type { InferenceEngine } from "../model/engine.js";
import { encodeAudio } from "../model/pipeline.js";
import { highBandWeightFor } from "../model/search-metric.js";
import { DEFAULT_KBPS } from "../cli/bitrate.js";
import type { Clip } from "./clip.js";
import { spacedClips } from "./stage-residuals.js";

export interface CodeTablesFit {
  model: CodeModel;
  trainFrames: number;
  validationFrames: number;
  /** Mean bits an index of each stage costs on the validation clips, all stages present (fixed-length: log2 of the codebook size). */
  validationBits: number[];
}

async function codesOf(engine: InferenceEngine, clips: Clip[], onClip?: () => void): Promise<{ codes: Uint16Array; frames: number }[]> {
  const S = engine.info.codec.rvq.stages;
  const out: { codes: Uint16Array; frames: number }[] = [];
  for (const clip of clips) {
    const enc = await encodeAudio(engine, clip.audio(0, clip.samples), undefined, { stages: S, highBandWeight: highBandWeightFor(DEFAULT_KBPS) });
    out.push({ codes: enc.codes, frames: enc.frames });
    onClip?.();
  }
  return out;
}

export async function fitCodeTables(
  engine: InferenceEngine,
  train: Clip[],
  validation: Clip[],
  o: { maxFrames: number; validationFrames: number; betas?: number[]; maxStages?: number; log?: (m: string) => void },
): Promise<CodeTablesFit> {
  const { stages, codebookSize } = engine.info.codec.rvq;
  const pickedTrain = spacedClips(train, o.maxFrames);
  const pickedVal = spacedClips(validation, o.validationFrames);
  let done = 0;
  const all = pickedTrain.length + pickedVal.length;
  const tick = () => {
    done++;
    if (o.log && (done % 50 === 0 || done === all)) o.log(`encoded ${done} of ${all} clips`);
  };
  const trainCodes = await codesOf(engine, pickedTrain, tick);
  const model = fitCodeModel(trainCodes.map((c) => c.codes), stages, codebookSize, { betas: o.betas, maxStages: o.maxStages });
  const valCodes = await codesOf(engine, pickedVal, tick);
  // Stage by stage, every stage present (as cumulativeIndexBits prices them): the bits of stage k's index.
  let frames = 0;
  const total = new Float64Array(stages);
  for (const c of valCodes) {
    frames += c.frames;
    const cum = cumulativeIndexBits(model, c.codes, c.frames, stages);
    for (let t = 0; t < c.frames; t++) for (let k = 0; k < stages; k++) total[k] += cum[t * stages + k] - (k > 0 ? cum[t * stages + k - 1] : 0);
  }
  const validationBits = Array.from(total, (b) => (frames ? b / frames : NaN));
  return { model, trainFrames: trainCodes.reduce((a, c) => a + c.frames, 0), validationFrames: frames, validationBits };
}
