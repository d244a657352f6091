/**
 * How many bits do the RVQ codes really need? Counts the codes the encoder
 * gives (default search) on training clips, then measures on validation clips
 * the cross-entropy per stage under three models fitted on the training codes
 * (add-1/2 smoothing): fixed-length (log2 K), unigram per stage, and a bigram
 * conditioned on the same stage's code in the previous frame. What an entropy
 * coder would save, before anyone writes one.
 *   npx tsx scripts/code-entropy.ts --data ~/flowmac-data/corpus [--model models/default] [--stages 8] [--train-frames 60000]
 */
import "core-js/actual/iterator/index.js";
import { parseArgs } from "node:util";
import { openEngine } from "../src/model/open.js";
import { encodeAudio } from "../src/model/pipeline.js";
import { loadClips } from "../src/train/data.js";
import { spacedClips } from "../src/train/stage-residuals.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "models/default" },
    data: { type: "string" },
    stages: { type: "string", default: "8" },
    "train-frames": { type: "string", default: "60000" },
  },
});
const engine = await openEngine(values.model!, "onnx");
const K = engine.info.codec.rvq.codebookSize;
const S = Number(values.stages);
const codesOf = async (split: "train" | "validation", frames: number) => {
  const out: Uint16Array[] = [];
  for (const clip of spacedClips(loadClips(values.data!, split), frames)) {
    const audio = clip.audio(0, clip.samples);
    out.push((await encodeAudio(engine, audio, undefined, { stages: S })).codes);
  }
  return out;
};
const train = await codesOf("train", Number(values["train-frames"]));
const val = await codesOf("validation", 1e9);
const uni = Array.from({ length: S }, () => new Float64Array(K).fill(0.5));
const bi = Array.from({ length: S }, () => new Float64Array(K * K).fill(0.5 / K));
for (const c of train) {
  const T = c.length / S;
  for (let t = 0; t < T; t++)
    for (let s = 0; s < S; s++) {
      uni[s][c[t * S + s]]++;
      if (t > 0) bi[s][c[(t - 1) * S + s] * K + c[t * S + s]]++;
    }
}
const uniSum = uni.map((u) => u.reduce((a, b) => a + b, 0));
const rowSum = bi.map((b) => Float64Array.from({ length: K }, (_, i) => b.subarray(i * K, (i + 1) * K).reduce((a, v) => a + v, 0)));
const hu = new Float64Array(S), hb = new Float64Array(S);
let n = 0;
for (const c of val) {
  const T = c.length / S;
  for (let t = 1; t < T; t++, n++)
    for (let s = 0; s < S; s++) {
      const k = c[t * S + s], p = c[(t - 1) * S + s];
      hu[s] -= Math.log2(uni[s][k] / uniSum[s]);
      hb[s] -= Math.log2(bi[s][p * K + k] / rowSum[s][p]);
    }
}
console.log(`${train.length} training clips, ${val.length} validation clips (${n} frames scored), ${S} stages of ${K}`);
console.log(`stage  fixed  unigram  bigram(prev frame)  [bits a frame]`);
for (let s = 0; s < S; s++) console.log(`${String(s + 1).padStart(5)}  ${Math.log2(K).toFixed(2)}  ${(hu[s] / n).toFixed(2)}     ${(hb[s] / n).toFixed(2)}`);
const tot = (h: Float64Array) => h.reduce((a, b) => a + b, 0) / n;
console.log(`total  ${(S * Math.log2(K)).toFixed(1)}  ${tot(hu).toFixed(1)}     ${tot(hb).toFixed(1)}`);
engine.dispose();
