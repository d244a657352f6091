/**
 * Fits a model's code tables (bitstream/code-model.ts) on its own codes of a
 * corpus's training clips, and measures on validation clips what the first
 * stage's indices then cost. The codes are those of the encoder's first pass
 * (all stages searched, the default beam), as rate allocation prices them.
 */
import { fitCodeModel, firstStageBits, type CodeModel } from "../bitstream/code-model.js";
import type { InferenceEngine } from "../model/engine.js";
import { encodeAudio } from "../model/pipeline.js";
import type { Clip } from "./clip.js";
import { spacedClips } from "./stage-residuals.js";

export interface CodeTablesFit {
  model: CodeModel;
  trainFrames: number;
  validationFrames: number;
  /** Mean bits of a first-stage index on the validation clips, under the tables (fixed-length: log2 of the codebook size). */
  validationBits: number;
}

async function codesOf(engine: InferenceEngine, clips: Clip[], onClip?: () => void): Promise<{ codes: Uint16Array; frames: number }[]> {
  const S = engine.info.codec.rvq.stages;
  const out: { codes: Uint16Array; frames: number }[] = [];
  for (const clip of clips) {
    const enc = await encodeAudio(engine, clip.audio(0, clip.samples), undefined, { stages: S });
    out.push({ codes: enc.codes, frames: enc.frames });
    onClip?.();
  }
  return out;
}

export async function fitCodeTables(
  engine: InferenceEngine,
  train: Clip[],
  validation: Clip[],
  o: { maxFrames: number; validationFrames: number; beta: number; log?: (m: string) => void },
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
  const model = fitCodeModel(trainCodes.map((c) => c.codes), stages, codebookSize, o.beta);
  const valCodes = await codesOf(engine, pickedVal, tick);
  let bits = 0;
  let frames = 0;
  for (const c of valCodes) {
    bits += firstStageBits(model, c.codes, c.frames, stages).reduce((a, b) => a + b, 0);
    frames += c.frames;
  }
  return { model, trainFrames: trainCodes.reduce((a, c) => a + c.frames, 0), validationFrames: frames, validationBits: frames ? bits / frames : NaN };
}
