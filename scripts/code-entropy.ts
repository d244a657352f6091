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
import { existsSync, readFileSync, writeFileSync } from "node:fs";
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
    cache: { type: "string" },
    betas: { type: "string" },
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
const cache = values.cache;
let train: Uint16Array[], val: Uint16Array[];
if (cache && existsSync(cache)) {
  const j = JSON.parse(readFileSync(cache, "utf8")) as { train: number[][]; val: number[][] };
  [train, val] = [j.train.map((c) => Uint16Array.from(c)), j.val.map((c) => Uint16Array.from(c))];
} else {
  train = await codesOf("train", Number(values["train-frames"]));
  val = await codesOf("validation", 1e9);
  if (cache) writeFileSync(cache, JSON.stringify({ train: train.map((c) => Array.from(c)), val: val.map((c) => Array.from(c)) }));
}
/**
 * A conditional model P(k | context) of one stage's code from training counts,
 * interpolated with that stage's unigram (weight beta on the unigram: a context
 * seen n times trusts its own counts n / (n + beta)).
 */
const context = (name: string, s: number, ctx: (c: Uint16Array, t: number) => number | null) => ({ name, s, ctx });
const models = [
  ...Array.from({ length: S }, (_, s) => context(`s${s + 1}|prev s${s + 1}`, s, (c, t) => (t > 0 ? c[(t - 1) * S + s] : null))),
  ...Array.from({ length: S - 1 }, (_, i) => context(`s${i + 2}|s${i + 1}`, i + 1, (c, t) => c[t * S + i])),
];
const betas = (values.betas ?? "1,4,16,64").split(",").map(Number);
const uni = Array.from({ length: S }, () => new Float64Array(K).fill(0.5));
for (const c of train) for (let t = 0; t < c.length / S; t++) for (let s = 0; s < S; s++) uni[s][c[t * S + s]]++;
const pUni = uni.map((u) => { const z = u.reduce((a, b) => a + b, 0); return u.map((x) => x / z); });
let n = 0;
for (const c of val) n += c.length / S;
console.log(`${train.length} training clips (${train.reduce((a, c) => a + c.length / S, 0)} frames), ${val.length} validation clips (${n} frames scored), ${S} stages of ${K}`);
const hu = pUni.map((p, s) => { let h = 0; for (const c of val) for (let t = 0; t < c.length / S; t++) h -= Math.log2(p[c[t * S + s]]); return h / n; });
console.log(`unigram bits by stage: ${hu.map((h) => h.toFixed(2)).join(" ")}  (total ${hu.reduce((a, b) => a + b, 0).toFixed(1)} of ${S * Math.log2(K)})`);
for (const m of models) {
  const cnt = new Float64Array(K * K), row = new Float64Array(K);
  for (const c of train) for (let t = 0; t < c.length / S; t++) { const x = m.ctx(c, t); if (x === null) continue; cnt[x * K + c[t * S + m.s]]++; row[x]++; }
  const hs = betas.map((beta) => {
    let h = 0;
    for (const c of val) for (let t = 0; t < c.length / S; t++) {
      const x = m.ctx(c, t), k = c[t * S + m.s];
      const p = x === null ? pUni[m.s][k] : (cnt[x * K + k] + beta * pUni[m.s][k]) / (row[x] + beta);
      h -= Math.log2(p);
    }
    return h / n;
  });
  console.log(`${m.name.padEnd(14)} ${hs.map((h, i) => `beta ${betas[i]}: ${h.toFixed(2)}`).join("  ")}  (unigram ${hu[m.s].toFixed(2)})`);
}
engine.dispose();
