/**
 * How much more RVQ stages could give a model: the log-mel L1 between a clip's
 * mel and the prior mel its decoder makes from the encoder latent quantised
 * with 1..S stages, and from the unquantised latent (the ceiling any number of
 * stages approaches). Run before fitting or training more stages.
 *   npx tsx scripts/prior-by-stages.ts --model models/default --data ~/flowmac-data/corpus [--clips 12] [--seconds 10] [--stages 4,8,16]
 *     [--split unseen] [--stoi] [--by-voice]
 * --data is a corpus (its --split, default validation) or audio files/folders. --stoi also vocodes each
 * prior with the model's vocoder and scores STOI against the clip (the default decoder is the prior:
 * this is what the codec would sound like with that quantiser). --by-voice adds rows per voice group
 * (source, language and sex read from the clip's path), to see whose speech a quantiser loses. L1 is in natural-log mel units over all frames
 * and bands, the decoder run on blocks of BLOCK frames with MARGIN frames of context (cores kept, no cross-fade).
 */
import "core-js/actual/iterator/index.js";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { listAudioFiles } from "../src/audio/files.js";
import { loadAudio } from "../src/audio/load.js";
import { MelFrontEnd } from "../src/audio/mel.js";
import { assignNearest } from "../src/model/kmeans.js";
import { LatentProbe, PriorProbe } from "../src/model/latents.js";
import { loadModel, readModelDir } from "../src/model/load.js";
import { subtractCodewords } from "../src/model/rvq-fit.js";
import { initJax } from "../src/nn/runtime.js";
import { openEngine } from "../src/model/open.js";
import { vocodeMel } from "../src/model/pipeline.js";
import { stoi } from "../src/eval/stoi.js";
import { isCorpusDir, readManifest } from "../src/train/corpus-clips.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "models/default" },
    data: { type: "string" },
    clips: { type: "string", default: "12" },
    seconds: { type: "string", default: "10" },
    stages: { type: "string" },
    kind: { type: "string", default: "speech" },
    split: { type: "string", default: "validation" },
    stoi: { type: "boolean", default: false },
    "by-voice": { type: "boolean", default: false },
  },
});
if (!values.data) throw new Error("--data <corpus or audio> is required");

await initJax();
const m = await loadModel(readModelDir(values.model!));
const c = m.info.codec;
const D = c.rvq.dim;
const K = c.rvq.codebookSize;
const S = c.rvq.stages;
const stageList = values.stages ? values.stages.split(",").map(Number) : [...new Set([1, 2, 4, S / 2, S].map(Math.round))].filter((s) => s >= 1 && s <= S);
const books = m.buffers.codebooks.map((b) => Float32Array.from(b.ref.dataSync() as Float32Array));
const probe = new LatentProbe(m.codec, m.buffers, c, m.info.stats);

/** Clip paths: a corpus's validation split of one kind, or files; evenly spread, at most `n`. */
function clipPaths(n: number): string[] {
  const dir = values.data!;
  const all = isCorpusDir(dir)
    ? readManifest(dir).filter((e) => e.split === values.split && (values.kind === "all" || e.kind.startsWith(values.kind!))).map((e) => join(dir, e.path))
    : listAudioFiles([dir]);
  if (all.length <= n) return all;
  return Array.from({ length: n }, (_, i) => all[Math.floor((i * all.length) / n)]);
}

const priorProbe = new PriorProbe(m.codec, c, m.info.stats);
const prior = (zq: Float32Array, frames: number) => priorProbe.prior(zq, frames);

const l1 = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

const fe = new MelFrontEnd();
const rows = new Map<string, number[]>();
const engine = values.stoi ? await openEngine(values.model!, "onnx") : null;
/** "0ad-voices greek F", "openarena-voices": a voice group read from the clip's path. */
function voiceOf(path: string): string {
  const source = path.split("/").at(-2) ?? "";
  const lang = /voice_([a-z]+)_/.exec(path)?.[1];
  return lang ? `${source} ${lang} ${/female/.test(path) ? "F" : "M"}` : source;
}
let voice = "";
const byVoice = new Map<string, number[]>();
const addTo = (m: Map<string, number[]>, k: string, v: number) => m.set(k, [...(m.get(k) ?? []), v]);
const add = (k: string, v: number) => {
  addTo(rows, k, v);
  if (values["by-voice"]) addTo(byVoice, `${voice} | ${k}`, v);
};
/** L1 of a prior against the clip's mel, and with --stoi the STOI of its vocoded audio. */
async function score(name: string, p: Float32Array, mel: { data: Float32Array; frames: number }, audio: Float32Array) {
  add(`${name}`, l1(p, mel.data));
  if (!engine) return;
  const out = await vocodeMel(engine, p, mel.frames, audio.length);
  add(`${name}: STOI`, await stoi(audio, out, 24000));
}
const paths = clipPaths(Number(values.clips));
for (const path of paths) {
  voice = voiceOf(path);
  const audio = (await loadAudio(path)).subarray(0, Math.round(Number(values.seconds) * 24000));
  const mel = fe.compute(audio);
  const { z } = probe.latents(mel.data, mel.frames);
  if (engine) add("true mel: STOI", await stoi(audio, await vocodeMel(engine, mel.data, mel.frames, audio.length), 24000));
  await score("unquantised", prior(z, mel.frames), mel, audio);
  // Greedy RVQ on the host, stage by stage; zq(s) = z - residual after s stages.
  const r = Float32Array.from(z);
  const index = new Uint32Array(mel.frames);
  const dist = new Float64Array(mel.frames);
  for (let s = 1; s <= S; s++) {
    assignNearest(r, mel.frames, D, books[s - 1], K, index, dist);
    subtractCodewords(r, mel.frames, D, books[s - 1], index);
    if (!stageList.includes(s)) continue;
    await score(`${s} stages`, prior(Float32Array.from(z, (v, i) => v - r[i]), mel.frames), mel, audio);
    add(`${s} stages: latent MSE`, r.reduce((a, v) => a + v * v, 0) / mel.frames);
  }
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`${values.model} (${c.name}, ${S} stages), ${paths.length} clips of ${values.data} (${values.kind}), first ${values.seconds} s`);
for (const [k, v] of [...rows, ...[...byVoice].sort(([a], [b]) => a.localeCompare(b))]) console.log(`${k.padEnd(24)} ${mean(v).toFixed(4)}  (${v.length})`);
engine?.dispose();
