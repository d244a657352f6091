/**
 * Does a mel postfilter make the decoded speech more intelligible? The prior mel is a
 * regression output, so its contrasts are shrunk: across bands (formants) and over time
 * (onsets, which STOI's envelope correlations weigh). Classic remedies, all closed form:
 *   g:A     per-band variance gain in the normalised domain, (std of original / std of
 *           decoded)^A, fitted on decoded training clips (global variance, Toda 2007);
 *   s:B:W   spectral sharpening x + B (x - box_W(x)) across bands (as Codec 2's postfilter
 *           deepens formant valleys);
 *   t:B     temporal sharpening x + B (x - (x[t-1] + x[t] + x[t+1]) / 3);
 *   p:G     on the audio: a pitch (long-term) postfilter, as CELP decoders have, zero-phase:
 *           y[n] = (x[n] + g/2 (x[n-T] + x[n+T])) / (1 + g), T and the normalised correlation r
 *           found per 10 ms on the decoded audio (lags 2.5-20 ms), g = G r where r > 0.5.
 * Variants chain with "+", e.g. "g:1+s:0.3:9". Each is scored on validation speech clips
 * (the eval's scoreClip: STOI, ESTOI, log-mel L1, pitch) at the given stage counts, with the
 * decoded-mel L1 before the vocoder.
 *   npx tsx scripts/postfilter.ts --model models/default --data ~/flowmac-data/corpus \
 *     [--clips 24] [--fit-clips 48] [--stages 8,4] [--variants none,g:1,s:0.3:9,t:0.3]
 */
import "core-js/actual/iterator/index.js";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadAudio } from "../src/audio/load.js";
import { MelFrontEnd } from "../src/audio/mel.js";
import { normalizeMel } from "../src/audio/stats.js";
import { scoreClip } from "../src/eval/run.js";
import { openEngine } from "../src/model/open.js";
import { DEFAULT_DECODE, decodeMel, encodeAudio, vocodeMel } from "../src/model/pipeline.js";
import { readManifest } from "../src/train/corpus-clips.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "models/default" },
    data: { type: "string" },
    clips: { type: "string", default: "24" },
    "fit-clips": { type: "string", default: "48" },
    seconds: { type: "string", default: "10" },
    stages: { type: "string", default: "8,4" },
    variants: { type: "string", default: "none,g:1,s:0.3:9,t:0.3" },
  },
});
const engine = await openEngine(values.model!, "onnx");
const { stats, codec } = engine.info;
const nM = codec.nMels;
const dir = values.data!;
const manifest = readManifest(dir);
const spread = <T>(xs: T[], n: number) => Array.from({ length: Math.min(n, xs.length) }, (_, i) => xs[Math.floor((i * xs.length) / Math.min(n, xs.length))]);
const seconds = Number(values.seconds);
const load = async (path: string) => (await loadAudio(join(dir, path))).subarray(0, Math.round(seconds * 24000));
const stageList = values.stages!.split(",").map(Number);
const fe = new MelFrontEnd();

/** Normalised original and decoded mels of a clip at `stages`. */
async function decodeNorm(audio: Float32Array, stages: number) {
  const mel = fe.compute(audio);
  const { codes, frames } = await encodeAudio(engine, audio, undefined, { stages });
  const dec = await decodeMel(engine, codes, frames, stages, DEFAULT_DECODE);
  const norm = (d: Float32Array) => normalizeMel({ frames, bands: nM, data: d }, stats).data;
  return { frames, orig: norm(mel.data), dec: norm(dec), audio };
}

// Per-band gains from training clips, per stage count: std(original) / std(decoded), both about their band's clip mean.
const gains = new Map<number, Float64Array>();
if (values.variants!.includes("g:")) {
  const fit = spread(manifest.filter((e) => e.split === "train"), Number(values["fit-clips"]));
  for (const stages of stageList) {
    const so = new Float64Array(nM), sd = new Float64Array(nM);
    for (const e of fit) {
      const { frames, orig, dec } = await decodeNorm(await load(e.path), stages);
      for (let b = 0; b < nM; b++) {
        let mo = 0, md = 0;
        for (let t = 0; t < frames; t++) (mo += orig[t * nM + b]), (md += dec[t * nM + b]);
        mo /= frames, md /= frames;
        for (let t = 0; t < frames; t++) (so[b] += (orig[t * nM + b] - mo) ** 2), (sd[b] += (dec[t * nM + b] - md) ** 2);
      }
    }
    gains.set(stages, Float64Array.from(so, (v, b) => Math.sqrt(v / sd[b])));
    const g = gains.get(stages)!;
    console.error(`${stages} stages: band gains ${[0, 16, 32, 64, 96, 127].map((b) => `${b}:${g[b].toFixed(2)}`).join(" ")}`);
  }
}

function apply(spec: string, x: Float32Array, frames: number, stages: number): Float32Array {
  let y = x;
  for (const part of spec.split("+")) {
    const [kind, a, b] = part.split(":");
    const k = Number(a);
    const src = y;
    y = new Float32Array(src);
    if (kind === "none") continue;
    if (kind === "g") {
      const g = gains.get(stages)!;
      for (let t = 0; t < frames; t++) for (let m = 0; m < nM; m++) y[t * nM + m] = src[t * nM + m] * g[m] ** k;
    } else if (kind === "s") {
      const w = Number(b ?? 9), h = Math.floor(w / 2);
      for (let t = 0; t < frames; t++)
        for (let m = 0; m < nM; m++) {
          let s = 0, c = 0;
          for (let j = Math.max(0, m - h); j <= Math.min(nM - 1, m + h); j++) (s += src[t * nM + j]), c++;
          y[t * nM + m] = src[t * nM + m] + k * (src[t * nM + m] - s / c);
        }
    } else if (kind === "t") {
      for (let t = 0; t < frames; t++)
        for (let m = 0; m < nM; m++) {
          const p = src[Math.max(0, t - 1) * nM + m], n = src[Math.min(frames - 1, t + 1) * nM + m];
          y[t * nM + m] = src[t * nM + m] + k * (src[t * nM + m] - (p + src[t * nM + m] + n) / 3);
        }
    } else if (kind !== "p") throw new Error(`unknown postfilter '${part}'`);
  }
  return y;
}

/** Zero-phase long-term postfilter (see p:G above); 10 ms segments, lag and gain from the decoded signal itself. */
function pitchPostfilter(x: Float32Array, G: number): Float32Array {
  const SR = 24000, seg = 240, minLag = 60, maxLag = 480, win = 480;
  const y = new Float32Array(x);
  for (let s0 = 0; s0 < x.length; s0 += seg) {
    // Correlation over a 20 ms window centred on the segment.
    const a = Math.max(maxLag, s0 + seg / 2 - win / 2), b = Math.min(x.length - maxLag, a + win);
    if (b - a < win / 2) continue;
    let best = 0, bestLag = 0;
    let e0 = 0;
    for (let n = a; n < b; n++) e0 += x[n] * x[n];
    if (e0 < 1e-8) continue;
    for (let T = minLag; T <= maxLag; T++) {
      let c = 0, e1 = 0;
      for (let n = a; n < b; n++) (c += x[n] * x[n - T]), (e1 += x[n - T] * x[n - T]);
      const r = c / Math.sqrt(e0 * e1 + 1e-12);
      if (r > best) (best = r), (bestLag = T);
    }
    if (best < 0.5) continue;
    const g = G * best;
    for (let n = s0; n < Math.min(x.length, s0 + seg); n++) {
      const p = n - bestLag >= 0 ? x[n - bestLag] : 0, q = n + bestLag < x.length ? x[n + bestLag] : 0;
      y[n] = (x[n] + (g / 2) * (p + q)) / (1 + g);
    }
  }
  void SR;
  return y;
}

const val = spread(manifest.filter((e) => e.split === "validation" && e.kind.startsWith("speech")), Number(values.clips));
const variants = values.variants!.split(",");
const keys = ["stoi", "estoi", "melL1", "f0Cents", "vde", "gpe"] as const;
const sums = new Map<string, { w: number; v: number[]; decL1: number }>();
for (const e of val) {
  const audio = await load(e.path);
  for (const stages of stageList) {
    const { frames, orig, dec } = await decodeNorm(audio, stages);
    for (const spec of variants) {
      const y = apply(spec, dec, frames, stages);
      let l1 = 0;
      for (let i = 0; i < y.length; i++) l1 += Math.abs((y[i] - orig[i]) * stats.std[i % nM]);
      const mel = Float32Array.from(y, (v, i) => v * stats.std[i % nM] + stats.mean[i % nM]);
      let out = await vocodeMel(engine, mel, frames, audio.length);
      const pitch = /(^|\+)p:([\d.]+)/.exec(spec);
      if (pitch) out = pitchPostfilter(out, Number(pitch[2]));
      const { metrics } = await scoreClip(audio, out, "speech");
      const key = `${stages} st ${spec}`;
      const s = sums.get(key) ?? { w: 0, v: keys.map(() => 0), decL1: 0 };
      const dur = audio.length / 24000;
      s.w += dur;
      s.decL1 += dur * (l1 / y.length);
      keys.forEach((k, i) => (s.v[i] += dur * (Number.isFinite(metrics[k]) ? metrics[k] : 0)));
      sums.set(key, s);
    }
  }
  console.error(e.id);
}
console.log(`${val.length} validation speech clips, first ${seconds} s; duration-weighted means`);
console.log(`${"variant".padEnd(24)} ${keys.map((k) => k.padStart(8)).join(" ")}  decMelL1`);
for (const [k, s] of sums) console.log(`${k.padEnd(24)} ${s.v.map((v) => (v / s.w).toFixed(4).padStart(8)).join(" ")}  ${(s.decL1 / s.w).toFixed(4)}`);
engine.dispose();
