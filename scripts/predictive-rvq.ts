/**
 * Would predicting each frame's latent from the last decoded one save bits? The mel
 * frames overlap by 75 % (window 2048, hop 512), so consecutive latents are close,
 * and the RVQ codes each frame alone (the code tables only catch stage 1's repeats).
 * A closed-loop predictive RVQ (DPCM with a vector quantiser, as speech coders code
 * LSPs) codes r_t = z_t - p_t, p_t = mu + rho A (zq_{t-1} - mu), and decodes
 * zq_t = p_t + q(r_t): the decoder network is unchanged.
 * The control (--control) is the same k-means without prediction, fitted on the same frames.
 * The method is src/model/predictive-rvq.ts.
 * Scored on a split (default unseen) by greedy search: latent MSE, the prior mel's L1,
 * and with --stoi the STOI of the vocoded prior (the default decoder), per voice with --by-voice.
 *   npx tsx scripts/predictive-rvq.ts --data ~/flowmac-data/corpus [--stages 4] [--train-clips 300]
 *     [--rho 1,0.8] [--high-band-weight 1,0.1] [--control] [--split unseen] [--clips 300] [--stoi] [--by-voice]
 * (--high-band-weight: the search's band weights, search-metric.ts; --control: add the k-means arm;
 * --eval-stages 4,8: also score the first n stages of the fitted books, as a rate-allocated stream would use them).
 */
import "core-js/actual/iterator/index.js";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadAudio } from "../src/audio/load.js";
import { MelFrontEnd } from "../src/audio/mel.js";
import { stoi } from "../src/eval/stoi.js";
import { LatentProbe, PriorProbe } from "../src/model/latents.js";
import { loadModel, readModelDir } from "../src/model/load.js";
import { openEngine } from "../src/model/open.js";
import { vocodeMel } from "../src/model/pipeline.js";
import { codecMetricParts } from "../src/model/codec.js";
import { pitchMetrics } from "../src/eval/pitch.js";
import { requirePredictive } from "../src/model/predictive-store.js";
import { searchPredictive } from "../src/model/predictive-search.js";
import { readFileSync } from "node:fs";
import { encodePredictive, fitPredictiveRvq, fitPredictor, predictNext, residualMetric, type PredictiveRvq, type ResidualMetric } from "../src/model/predictive-rvq.js";
import { Rng } from "../src/nn/rng.js";
import { initJax } from "../src/nn/runtime.js";
import { readManifest } from "../src/train/corpus-clips.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "models/default" },
    data: { type: "string" },
    stages: { type: "string", default: "4" },
    "train-clips": { type: "string", default: "300" },
    "train-kind": { type: "string", default: "speech" },
    rho: { type: "string", default: "1" },
    split: { type: "string", default: "unseen" },
    clips: { type: "string", default: "300" },
    seconds: { type: "string", default: "10" },
    iterations: { type: "string", default: "12" },
    refits: { type: "string", default: "2" },
    "high-band-weight": { type: "string", default: "1" },
    control: { type: "boolean", default: false },
    "eval-stages": { type: "string" },
    fitted: { type: "boolean", default: false },
    search: { type: "string", default: "greedy" },
    "stop-clips": { type: "string" },
    interp: { type: "boolean", default: false },
    stoi: { type: "boolean", default: false },
    "by-voice": { type: "boolean", default: false },
  },
});
if (!values.data) throw new Error("--data <corpus> is required");

await initJax();
const m = await loadModel(readModelDir(values.model!));
const c = m.info.codec;
const D = c.rvq.dim;
const K = c.rvq.codebookSize;
const S = Number(values.stages);
const probe = new LatentProbe(m.codec, m.buffers, c, m.info.stats);
const priorProbe = new PriorProbe(m.codec, c, m.info.stats);
const fe = new MelFrontEnd();
const seconds = Number(values.seconds);

function pick<T>(all: T[], n: number): T[] {
  return all.length <= n ? all : Array.from({ length: n }, (_, i) => all[Math.floor((i * all.length) / n)]);
}
const manifest = readManifest(values.data);
const clipsOf = (split: string, kind: string, n: number) =>
  pick(manifest.filter((e) => e.split === split && (kind === "all" || e.kind.startsWith(kind))), n).map((e) => join(values.data!, e.path));

async function latentsOf(path: string): Promise<{ z: Float32Array; frames: number; mel: Float32Array; audio: Float32Array }> {
  const audio = (await loadAudio(path)).subarray(0, Math.round(seconds * 24000));
  const mel = fe.compute(audio);
  return { z: probe.latents(mel.data, mel.frames).z, frames: mel.frames, mel: mel.data, audio };
}

// Training latents, clip by clip (prediction runs within a clip).
const t0 = Date.now();
const train: { z: Float32Array; frames: number }[] = [];
for (const p of values.fitted ? [] : clipsOf("train", values["train-kind"]!, Number(values["train-clips"]))) {
  const { z, frames } = await latentsOf(p);
  train.push({ z, frames });
}
const trainFrames = train.reduce((s, x) => s + x.frames, 0);
console.log(`${train.length} training clips, ${trainFrames} frames (${((Date.now() - t0) / 1000).toFixed(0)} s)`);

const parts = codecMetricParts(m.codec, c);
/** The search metric at high-band weight h (search-metric.ts), or none for h = 1. */
function metricFor(q: PredictiveRvq, h: number): ResidualMetric | undefined {
  if (h === 1 || parts.length === 0) return undefined;
  return residualMetric(q, Float64Array.from({ length: D * D }, (_, i) => parts[i] + h * parts[D * D + i]));
}
if (!values.fitted) {
  const { mean, predictor } = fitPredictor(train, D, 1);
  const p = new Float64Array(D);
  let variance = 0;
  let error = 0;
  for (const { z, frames } of train)
    for (let t = 0; t < frames; t++) {
      predictNext({ dim: D, mean, predictor }, t > 0 ? z.subarray((t - 1) * D, t * D) : null, p);
      for (let i = 0; i < D; i++) {
        variance += (z[t * D + i] - mean[i]) ** 2;
        error += (z[t * D + i] - p[i]) ** 2;
      }
    }
  console.log(`latent variance per frame ${(variance / trainFrames).toFixed(2)}; open-loop prediction error ${(error / trainFrames).toFixed(2)} (${(10 * Math.log10(variance / error)).toFixed(2)} dB gain)`);
}

const rng = new Rng(1);
const fit = (rho: number) =>
  fitPredictiveRvq(train, D, {
    stages: S, codebookSize: K, rho, iterations: Number(values.iterations), refits: rho > 0 ? Number(values.refits) : 0, rng,
    onRefit: (k, mse) => console.log(`  rho ${rho}: closed-loop training latent MSE ${mse.toFixed(2)} before refit ${k}`),
  });
const shipped: PredictiveRvq = { dim: D, codebookSize: K, stages: S, mean: new Float32Array(D), predictor: new Float32Array(D * D), codebooks: new Float32Array(S * K * D) };
m.buffers.codebooks.slice(0, S).forEach((b, s) => shipped.codebooks.set(b.ref.dataSync() as Float32Array, s * K * D));
const arms: { name: string; q: PredictiveRvq; metric?: ResidualMetric; stages: number; search: string }[] = [];
const weights = values["high-band-weight"]!.split(",").map(Number);
const fitted: [string, PredictiveRvq][] = [["shipped books", shipped]];
if (values.control) fitted.push(["k-means books", fit(0)]);
if (values.fitted) fitted.push(["model's predictive", requirePredictive(m.info)]);
else for (const rho of values.rho!.split(",").map(Number)) fitted.push([`predictive rho ${rho}`, fit(rho)]);
const evalStages = values["eval-stages"] ? values["eval-stages"].split(",").map(Number) : [S];
for (const [name, q] of fitted)
  for (const h of weights)
    for (const n of evalStages)
      for (const search of values.search!.split(","))
        arms.push({ name: `${name}${h === 1 ? "" : ` h${h}`}${n === S ? "" : ` first ${n}`}${search === "greedy" ? "" : ` ${search}`}`, q, metric: metricFor(q, h), stages: n, search });
console.log(`fitted (${((Date.now() - t0) / 1000).toFixed(0)} s)`);

const engine = values.stoi ? await openEngine(values.model!, "onnx") : null;
const rows = new Map<string, number[]>();
const addTo = (k: string, v: number) => rows.set(k, [...(rows.get(k) ?? []), v]);
function voiceOf(path: string): string {
  const source = path.split("/").at(-2) ?? "";
  const lang = /voice_([a-z]+)_/.exec(path)?.[1];
  return lang ? `${source} ${lang} ${/female/.test(path) ? "F" : "M"}` : source;
}
const l1 = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
const evalClips = values["stop-clips"]
  ? readFileSync(values["stop-clips"], "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).map((id) => join(values.data!, manifest.find((e) => e.id === id)!.path))
  : clipsOf(values.split!, "speech", Number(values.clips));
// --interp: code every other frame with twice the stages and interpolate the rest (the same bits).
const S2 = Math.min(2 * S, m.buffers.codebooks.length);
const shipped2: PredictiveRvq = { ...shipped, stages: S2, codebooks: new Float32Array(S2 * K * D) };
m.buffers.codebooks.slice(0, S2).forEach((b, s) => shipped2.codebooks.set(b.ref.dataSync() as Float32Array, s * K * D));
const h2 = weights[weights.length - 1];
const metric2 = metricFor(shipped2, h2);
type Arm = (typeof arms)[number] & { code?: (z: Float32Array, frames: number) => Float32Array };
const allArms: Arm[] = [...arms];
if (values.interp) {
  const interpolate = (zq: Float32Array, frames: number) => {
    for (let t = 1; t < frames; t += 2)
      for (let i = 0; i < D; i++) zq[t * D + i] = t + 1 < frames ? 0.5 * (zq[(t - 1) * D + i] + zq[(t + 1) * D + i]) : zq[(t - 1) * D + i];
    return zq;
  };
  allArms.push({ name: "unquantised", q: shipped, stages: S, search: "", code: (z) => z.slice() });
  allArms.push({ name: "unquantised, odd frames interpolated", q: shipped, stages: S, search: "", code: (z, f) => interpolate(z.slice(), f) });
  allArms.push({
    name: `shipped books h${h2}, even frames ${S2} stages b4, odd interpolated`, q: shipped2, stages: S2, search: "",
    code: (z, f) => interpolate(searchPredictive(shipped2, z, f, { metric: metric2, beam: 4 }).zq, f),
  });
}
for (const path of evalClips) {
  const { z, frames, mel, audio } = await latentsOf(path);
  for (const arm of allArms) {
    const counts = arm.stages === S ? undefined : new Uint8Array(frames).fill(arm.stages);
    const [, b, pth] = /^b(\d+)(?:p(\d+))?$/.exec(arm.search) ?? [];
    const { zq } = arm.code ? { zq: arm.code(z, frames) } : arm.search === "greedy" ? encodePredictive(arm.q, z, frames, counts, arm.metric) : searchPredictive(arm.q, z, frames, { counts, metric: arm.metric, beam: Number(b), paths: Number(pth ?? 1) });
    const prior = priorProbe.prior(zq, frames);
    const scores: [string, number][] = [
      ["latent MSE", zq.reduce((s, v, i) => s + (v - z[i]) ** 2, 0) / frames],
      ["prior L1", l1(prior, mel)],
    ];
    if (engine) {
      const out = await vocodeMel(engine, prior, frames, audio.length);
      scores.push(["STOI", await stoi(audio, out, 24000)], ["ESTOI", await stoi(audio, out, 24000, true)]);
      const pm = pitchMetrics(audio, out);
      if (Number.isFinite(pm.f0Cents)) scores.push(["F0 cents", pm.f0Cents]);
    }
    for (const [k, v] of scores) {
      addTo(`${arm.name} | ${k}`, v);
      if (values["by-voice"]) addTo(`${voiceOf(path)} | ${arm.name} | ${k}`, v);
    }
  }
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`${S} stages fitted, greedy search, ${values.split} split speech, first ${seconds} s`);
for (const [k, v] of rows) console.log(`${k.padEnd(48)} ${mean(v).toFixed(4)}  (${v.length})`);
engine?.dispose();
