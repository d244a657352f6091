/**
 * Does a short clip lose to the block padding? Encoding and decoding run on
 * blocks of BLOCK frames: a clip shorter than a block sits in digital silence
 * (encoder) and repeated edge codes (decoder), which training crops never
 * have: there, attention simply ends at the crop's edges. On validation speech
 * clips that fit one block, compares the prior mel's log-mel L1 against the
 * original's, fixed stages (greedy-free: the default beam), for
 *   padded:   the pipeline (encodeAudio / decodeMel, as `flowmac` runs);
 *   unpadded: the same models on exactly the clip's frames (jax engine, any length).
 *   npx tsx scripts/edge-context.ts --data ~/flowmac-data/corpus [--clips 24] [--stages 4,8]
 */
import "core-js/actual/iterator/index.js";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadAudio } from "../src/audio/load.js";
import { MelFrontEnd } from "../src/audio/mel.js";
import { denormalizeMel, normalizeMel } from "../src/audio/stats.js";
import { openEngine } from "../src/model/open.js";
import { BLOCK, DEFAULT_DECODE, decodeMel, encodeAudio } from "../src/model/pipeline.js";
import { readManifest } from "../src/train/corpus-clips.js";

const { values } = parseArgs({ options: { model: { type: "string", default: "models/default" }, data: { type: "string" }, clips: { type: "string", default: "24" }, stages: { type: "string", default: "4,8" } } });
const engine = await openEngine(values.model!, "jax");
const { stats, codec } = engine.info;
const S = codec.rvq.stages;
const n = codec.nMels;
const manifest = readManifest(values.data!);
const val = manifest.filter((e) => e.split === "validation");
const N = Math.min(Number(values.clips), val.length);
const clips = Array.from({ length: N }, (_, i) => val[Math.floor((i * val.length) / N)]).filter((e) => !e.kind.startsWith("music"));
const fe = await MelFrontEnd.fast();
const l1 = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
for (const stages of values.stages!.split(",").map(Number)) {
  let [pad, unpad, count] = [0, 0, 0];
  for (const clip of clips) {
    const audio = (await loadAudio(join(values.data!, clip.path))).subarray(0, 10 * 24000);
    const ref = fe.compute(audio);
    const T = ref.frames;
    if (T > BLOCK - 64) continue;
    const enc = await encodeAudio(engine, audio, undefined, { stages });
    const padded = await decodeMel(engine, enc.codes, enc.frames, stages, { ...DEFAULT_DECODE });
    const norm = normalizeMel(ref, stats).data;
    const all = new Float32Array(T).fill(1);
    const e = await engine.encode(norm, T, { stages }, all);
    const codes = new Int32Array(S * T);
    const mask = new Float32Array(S * T);
    for (let s = 0; s < stages; s++) for (let t = 0; t < T; t++) (codes[s * T + t] = e.codes[s * T + t]), (mask[s * T + t] = 1);
    const mu = await engine.prior(codes, mask, T, all);
    const mel = denormalizeMel({ frames: T, bands: n, data: mu }, stats).data;
    const [a, b] = [l1(padded, ref.data), l1(mel, ref.data)];
    console.log(`${stages} stages  ${clip.id.slice(0, 50).padEnd(50)} ${String(T).padStart(4)} frames  padded ${a.toFixed(3)}  unpadded ${b.toFixed(3)}`);
    pad += a * T;
    unpad += b * T;
    count += T;
  }
  console.log(`${stages} stages, ${count} frames: padded ${(pad / count).toFixed(4)}, unpadded ${(unpad / count).toFixed(4)}`);
}
