/**
 * Does a trained codec's latent have temporal redundancy that vector quantisation
 * of frame blocks can use? Adjacent mel frames overlap by 3/4 of their window, so
 * adjacent latents are close. Codes B consecutive latents as one vector of B x dim
 * with 8B (or 4B) residual stages of K entries fitted by k-means on training latents:
 * the same bits per frame as 8 (or 4) stages per frame. Reports the latent squared error per frame
 * and the prior mel's log-mel L1 on validation speech, next to the model's own codebooks.
 *   npx tsx scripts/block-vq.ts --model models/default --data ~/flowmac-data/corpus [--blocks 1,2,4] [--train-frames 60000]
 */
import "core-js/actual/iterator/index.js";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { loadAudio } from "../src/audio/load.js";
import { MelFrontEnd } from "../src/audio/mel.js";
import { assignNearest } from "../src/model/kmeans.js";
import { LatentProbe, PriorProbe } from "../src/model/latents.js";
import { loadModel, readModelDir } from "../src/model/load.js";
import { fitResidualStages, subtractCodewords } from "../src/model/rvq-fit.js";
import { Rng } from "../src/nn/rng.js";
import { RvqSearch } from "../src/model/rvq-search.js";
import { hostCodebooks } from "../src/model/rvq.js";
import { initJax } from "../src/nn/runtime.js";
import { readManifest } from "../src/train/corpus-clips.js";
import { clipMel, loadClips } from "../src/train/data.js";
import { spacedClips } from "../src/train/stage-residuals.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "models/default" },
    data: { type: "string" },
    clips: { type: "string", default: "12" },
    seconds: { type: "string", default: "10" },
    blocks: { type: "string", default: "1,2,4" },
    "train-frames": { type: "string", default: "60000" },
    iterations: { type: "string", default: "12" },
    save: { type: "string" },
  },
});
if (!values.data) throw new Error("--data <corpus> is required");
const log = (m: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);

await initJax();
const m = await loadModel(readModelDir(values.model!));
const c = m.info.codec;
const D = c.rvq.dim;
const K = c.rvq.codebookSize;
const probe = new LatentProbe(m.codec, m.buffers, c, m.info.stats);

// Training latents, clip by clip (blocks never straddle two clips).
const train = spacedClips(loadClips(values.data, "train", log), Number(values["train-frames"]));
const trainZ = train.map((clip) => {
  const mel = clipMel(clip);
  return probe.latents(mel.data, mel.frames).z;
});
log(`latents of ${train.length} training clips, ${trainZ.reduce((s, z) => s + z.length / D, 0)} frames`);

/** Consecutive B-frame blocks of each clip as rows [n, B*D]; a ragged tail repeats the last frame. */
function blocksOf(zs: Float32Array[], B: number): { rows: Float32Array; n: number } {
  const n = zs.reduce((s, z) => s + Math.ceil(z.length / D / B), 0);
  const rows = new Float32Array(n * B * D);
  let at = 0;
  for (const z of zs) {
    const f = z.length / D;
    for (let t0 = 0; t0 < f; t0 += B, at++)
      for (let j = 0; j < B; j++) {
        const t = Math.min(f - 1, t0 + j);
        rows.set(z.subarray(t * D, (t + 1) * D), (at * B + j) * D);
      }
  }
  return { rows, n };
}

/** Greedy RVQ of rows with the first `stages` codebooks; returns the quantised rows. */
function quantise(rows: Float32Array, n: number, dim: number, cbs: Float32Array, stages: number): Float32Array {
  const r = Float32Array.from(rows);
  const index = new Uint32Array(n);
  const dist = new Float64Array(n);
  for (let s = 0; s < stages; s++) {
    const book = cbs.subarray(s * K * dim, (s + 1) * K * dim);
    assignNearest(r, n, dim, book, K, index, dist);
    subtractCodewords(r, n, dim, book, index);
  }
  return Float32Array.from(rows, (v, i) => v - r[i]);
}

const priorProbe = new PriorProbe(m.codec, c, m.info.stats);
const prior = (zq: Float32Array, frames: number) => priorProbe.prior(zq, frames);
const l1 = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

// Validation speech clips, as scripts/prior-by-stages.ts picks them.
const dir = values.data;
const all = readManifest(dir).filter((e) => e.split === "validation" && e.kind.startsWith("speech")).map((e) => join(dir, e.path));
const nClips = Math.min(all.length, Number(values.clips));
const paths = Array.from({ length: nClips }, (_, i) => all[Math.floor((i * all.length) / nClips)]);
const fe = new MelFrontEnd();
const val: { mel: Float32Array; frames: number; z: Float32Array }[] = [];
for (const path of paths) {
  const audio = (await loadAudio(path)).subarray(0, Math.round(Number(values.seconds) * 24000));
  const mel = fe.compute(audio);
  val.push({ mel: mel.data, frames: mel.frames, z: probe.latents(mel.data, mel.frames).z });
}

const rows: string[] = [];
function report(name: string, zqOf: (z: Float32Array, frames: number) => Float32Array): void {
  let se = 0, frames = 0, L = 0;
  for (const v of val) {
    const zq = zqOf(v.z, v.frames);
    for (let i = 0; i < v.z.length; i++) se += (v.z[i] - zq[i]) ** 2;
    frames += v.frames;
    L += l1(prior(zq, v.frames), v.mel);
  }
  const row = `${name.padEnd(40)} latent SE/frame ${(se / frames).toFixed(2).padStart(7)}  prior L1 ${(L / val.length).toFixed(4)}`;
  rows.push(row);
  log(row);
}
/** RVQ by beam search (the encoder's search, src/model/rvq-search.ts) of rows [n, dim] with the first `stages` codebooks. */
function beamQuantise(rows: Float32Array, n: number, dim: number, cbs: Float32Array, stages: number, beam: number): Float32Array {
  const S = cbs.length / (K * dim);
  const search = new RvqSearch(cbs, S, K, dim);
  const { codes } = search.search(search.scores(rows, n), n, { stages, beam });
  const out = new Float32Array(n * dim);
  for (let s = 0; s < stages; s++) for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) out[i * dim + d] += cbs[(s * K + codes[s * n + i]) * dim + d];
  return out;
}

const shipped = hostCodebooks(m.buffers);
report("unquantised", (z) => z);
for (const s of [4, 8]) report(`model's codebooks, ${s} stages`, (z, f) => quantise(z, f, D, shipped, s));
for (const s of [4, 8]) report(`model's codebooks, ${s} stages, beam 8`, (z, f) => beamQuantise(z, f, D, shipped, s, 8));

for (const B of values.blocks!.split(",").map(Number)) {
  const { rows: tr, n } = blocksOf(trainZ, B);
  const t0 = Date.now();
  const cbs = fitResidualStages(tr, n, B * D, K, 8 * B, new Rng(0), Number(values.iterations), (s, f) => {
    if ((s + 1) % B === 0) log(`B=${B}: stage ${s + 1}/${8 * B}, train SE/frame ${(f.meanSquaredError / B).toFixed(2)}, ${f.seconds.toFixed(0)} s`);
  });
  log(`B=${B}: fitted ${8 * B} stages on ${n} blocks in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  if (values.save) writeFileSync(`${values.save}-B${B}.f32`, new Uint8Array(cbs.buffer));
  for (const bits of [32, 64]) {
    const stages = (bits / 8) * B;
    report(`block ${B}, ${stages} stages (${bits} bits/frame)`, (z, f) => {
      const { rows: vr, n: vn } = blocksOf([z], B);
      const q = quantise(vr, vn, B * D, cbs, stages);
      return q.subarray(0, f * D); // the blocks are in frame order; drop the repeated tail
    });
    if (B <= 2) report(`block ${B}, ${stages} stages, beam 8`, (z, f) => beamQuantise(blocksOf([z], B).rows, Math.ceil(f / B), B * D, cbs, stages, 8).subarray(0, f * D));
  }
}
console.log(rows.join("\n"));
