/**
 * What does RVQ beam search (src/model/rvq-search.ts) buy in the decoded audio?
 * Validation speech clips are encoded with greedy and beam search at given stage
 * counts, decoded by the default decoder and vocoder (onnx engine), and scored.
 *   npx tsx scripts/beam-stoi.ts --model models/default --data ~/flowmac-data/corpus [--clips 12] [--runs 8:1,8:4,4:1,4:4]
 */
import "core-js/actual/iterator/index.js";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadAudio } from "../src/audio/load.js";
import { MelFrontEnd } from "../src/audio/mel.js";
import { stoi } from "../src/eval/stoi.js";
import { LatentProbe } from "../src/model/latents.js";
import { loadModel, readModelDir } from "../src/model/load.js";
import { openEngine } from "../src/model/open.js";
import { DEFAULT_DECODE, decodeAudio, decodeMel } from "../src/model/pipeline.js";
import { RvqSearch } from "../src/model/rvq-search.js";
import { hostCodebooks } from "../src/model/rvq.js";
import { initJax } from "../src/nn/runtime.js";
import { readManifest } from "../src/train/corpus-clips.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "models/default" },
    data: { type: "string" },
    clips: { type: "string", default: "12" },
    seconds: { type: "string", default: "10" },
    runs: { type: "string", default: "8:1,8:4,4:1,4:4" },
  },
});
await initJax();
const m = await loadModel(readModelDir(values.model!));
const c = m.info.codec;
const books = hostCodebooks(m.buffers);
const rvq = new RvqSearch(books, c.rvq.stages, c.rvq.codebookSize, c.rvq.dim);
// A run "8:4:mel" searches under the mel-error metric of the linear path: |diag(std) V e| for a latent error e.
const D = c.rvq.dim;
const nM = c.nMels;
const V = m.codec.linearPath ? (m.codec.linearPath.v.ref.dataSync() as Float32Array) : null; // [nMels, D]
const toMel = (x: Float32Array, rows: number) => {
  const out = new Float32Array(rows * nM);
  for (let r = 0; r < rows; r++) for (let b = 0; b < nM; b++) {
    let a = 0;
    for (let d = 0; d < D; d++) a += x[r * D + d] * V![b * D + d];
    out[r * nM + b] = a * m.info.stats.std[b];
  }
  return out;
};
const melRvq = V ? new RvqSearch(toMel(books, c.rvq.stages * c.rvq.codebookSize), c.rvq.stages, c.rvq.codebookSize, nM) : null;
const probe = new LatentProbe(m.codec, m.buffers, c, m.info.stats);
const engine = await openEngine(values.model!, "onnx");
const dir = values.data!;
const all = readManifest(dir).filter((e) => e.split === "validation" && e.kind.startsWith("speech")).map((e) => join(dir, e.path));
const n = Math.min(all.length, Number(values.clips));
const paths = Array.from({ length: n }, (_, i) => all[Math.floor((i * all.length) / n)]);
const runs = values.runs!.split(",").map((r) => r.split(":")).map(([a, b, metric]) => [Number(a), Number(b), metric === "mel"] as const);
const sums = new Map<string, number[]>();
const fe = new MelFrontEnd();
for (const p of paths) {
  const audio = (await loadAudio(p)).subarray(0, Math.round(Number(values.seconds) * 24000));
  const mel = fe.compute(audio);
  const { z } = probe.latents(mel.data, mel.frames);
  for (const [stages, beam, onMel] of runs) {
    const searcher = onMel ? melRvq! : rvq;
    const scores = onMel ? searcher.scores(toMel(z, mel.frames), mel.frames) : rvq.scores(z, mel.frames);
    const t0 = performance.now();
    const search = searcher.search(scores, mel.frames, { stages, beam });
    const error = search.error;
    const codes = new Uint16Array(mel.frames * stages); // frame-major, as the pipeline decodes
    for (let s = 0; s < stages; s++) for (let t = 0; t < mel.frames; t++) codes[t * stages + s] = search.codes[s * mel.frames + t];
    const ms = performance.now() - t0;
    const out = await decodeAudio(engine, codes, mel.frames, stages, audio.length, DEFAULT_DECODE);
    const prior = await decodeMel(engine, codes, mel.frames, stages, DEFAULT_DECODE);
    let l1 = 0;
    for (let i = 0; i < prior.length; i++) l1 += Math.abs(prior[i] - mel.data[i]);
    const key = `${stages} stages beam ${beam}${onMel ? " mel metric" : ""}`;
    const row = [await stoi(audio, out, 24000), await stoi(audio, out, 24000, true), l1 / prior.length, error.reduce((a, b) => a + b, 0) / mel.frames, (ms / mel.frames) * 1000];
    sums.set(key, (sums.get(key) ?? [0, 0, 0, 0, 0]).map((v, i) => v + row[i]));
  }
  console.error(`${p}`);
}
console.log(`${n} clips, first ${values.seconds} s: STOI ESTOI mel-L1 latent SE/frame less |z|^2, search us/frame`);
for (const [k, v] of sums) console.log(`${k.padEnd(20)} ${v.map((x) => (x / n).toFixed(4)).join("  ")}`);
engine.dispose();
