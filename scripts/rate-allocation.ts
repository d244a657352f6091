/**
 * Does spending a stream's stages where they remove the most error beat a fixed
 * count per frame, at the same bits? On validation speech clips (first N s):
 *   fixed:n        n stages every frame, the RVQ search optimised for n (what ships);
 *   alloc2:n[:m:M] the same counts, then a second search pass with each frame searched for its own count;
 *   alloc3:n[:m:M] alloc2 with a greedy (beam 1) first pass;
 *   alloc:n[:m:M]  all the model's stages searched, then per-frame counts within n stages' bits
 *                  a frame, the counts' own code included, by allocateStages (each frame
 *                  m..M stages; default 1..all).
 * Each variant is decoded (prior mel), vocoded and scored as `flowmac eval` scores a clip.
 *   npx tsx scripts/rate-allocation.ts --model models/default --data ~/flowmac-data/corpus \
 *     [--clips 24] [--variants fixed:8,alloc:8,fixed:4,alloc:4]
 */
import "core-js/actual/iterator/index.js";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadAudio } from "../src/audio/load.js";
import { scoreClip } from "../src/eval/run.js";
import { openEngine } from "../src/model/open.js";
import { DEFAULT_DECODE, decodeMel, encodeAudio, vocodeMel } from "../src/model/pipeline.js";
import { allocateStages, allocationBits } from "../src/model/rate-allocation.js";
import { readManifest } from "../src/train/corpus-clips.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "models/default" },
    data: { type: "string" },
    clips: { type: "string", default: "24" },
    seconds: { type: "string", default: "10" },
    variants: { type: "string", default: "fixed:8,alloc:8,fixed:4,alloc:4" },
  },
});
const engine = await openEngine(values.model!, "onnx");
const S = engine.info.codec.rvq.stages;
const dir = values.data!;
const manifest = readManifest(dir);
const spread = <T>(xs: T[], n: number) => Array.from({ length: Math.min(n, xs.length) }, (_, i) => xs[Math.floor((i * xs.length) / Math.min(n, xs.length))]);
// The clips `flowmac eval --max-clips N` picks (evenly spread over the validation split), speech only.
const clips = spread(manifest.filter((e) => e.split === "validation"), Number(values.clips)).filter((e) => !e.kind.startsWith("music"));
const variants = values.variants!.split(",");
const sums = new Map<string, Record<string, number>>();
const hist = new Map<string, number[]>();
const rate = new Map<string, number>();

for (const [i, clip] of clips.entries()) {
  const audio = (await loadAudio(join(dir, clip.path))).subarray(0, Math.round(Number(values.seconds) * 24000));
  const all = await encodeAudio(engine, audio, undefined, { stages: S });
  let allGreedy: typeof all | undefined;
  for (const v of variants) {
    const [kind, a, b, c] = v.split(":");
    const n = Number(a);
    let codes: Uint16Array, stages: number, frameStages: Uint8Array | undefined;
    const frames = all.frames;
    if (kind === "fixed") {
      ({ codes, stages } = await encodeAudio(engine, audio, undefined, { stages: n }));
    } else {
      const min = Number(b ?? 1), max = Number(c ?? S);
      const bitsPerIndex = Math.log2(engine.info.codec.rvq.codebookSize);
      // alloc3: the first pass greedy (beam 1), a cheaper estimate of each count's error.
      const first = kind === "alloc3" ? (allGreedy ??= await encodeAudio(engine, audio, undefined, { stages: S, beam: 1 })) : all;
      frameStages = allocateStages(first.prefixError, frames, S, n * bitsPerIndex * frames, { min, max, bitsPerIndex, start: n });
      codes = all.codes.slice();
      for (let t = 0; t < frames; t++) codes.fill(0, t * S + frameStages[t], (t + 1) * S);
      // alloc2: a second search pass, each frame searched for its own count.
      if (kind === "alloc2" || kind === "alloc3") codes = (await encodeAudio(engine, audio, undefined, { stages: S, frameStages })).codes;
      const bits = allocationBits(frameStages, { max: S, bitsPerIndex, start: n });
      rate.set(v, (rate.get(v) ?? 0) + bits / (frames * bitsPerIndex) / clips.length);
      stages = S;
      const h = hist.get(v) ?? new Array(S + 1).fill(0);
      for (const f of frameStages) h[f]++;
      hist.set(v, h);
    }
    const mel = await decodeMel(engine, codes, frames, stages, { ...DEFAULT_DECODE, frameStages });
    const out = await vocodeMel(engine, mel, frames, audio.length);
    const { metrics } = await scoreClip(audio, out, "speech", mel);
    // As `flowmac eval` averages: weighted by duration, a NaN (no frame voiced in both) left out.
    const acc = sums.get(v) ?? {};
    for (const [k, x] of Object.entries(metrics)) {
      if (Number.isNaN(x)) continue;
      acc[k] = (acc[k] ?? 0) + x * audio.length;
      acc[`${k}:w`] = (acc[`${k}:w`] ?? 0) + audio.length;
    }
    sums.set(v, acc);
  }
  console.error(`${i + 1}/${clips.length} ${clip.id}`);
}
const cols = ["stoi", "estoi", "melL1", "decodedMelL1", "mcd", "f0Cents", "vde", "gpe"];
console.log(`| variant | ${cols.join(" | ")} |`);
for (const v of variants) console.log(`| ${v} | ${cols.map((k) => (sums.get(v)![k] / sums.get(v)![`${k}:w`]).toFixed(k === "f0Cents" ? 1 : 3)).join(" | ")} |`);
for (const [v, h] of hist) console.log(`${v}: ${rate.get(v)!.toFixed(3)} stages' bits a frame (counts' code included); frames by stage count ${h.map((x, n) => (x ? `${n}:${x}` : "")).filter(Boolean).join(" ")}`);
