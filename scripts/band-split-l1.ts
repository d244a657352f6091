/**
 * Where the encoder's high-band weight moves the decoded mel's error: log-mel L1
 * of the prior mel (before the vocoder) against the original's, in the bands
 * centred up to 4 kHz and in those above, per rate and weight, over a corpus
 * split's speech clips (means weighted by frames, allocated and entropy-coded
 * streams as `flowmac encode --kbps` writes them).
 *
 *   npx tsx scripts/band-split-l1.ts --data ~/flowmac-data/corpus --split unseen --specs 1.5:1,1.5,3:1,3
 *
 * A spec is kbps[:weight]; without a weight, the rate's default (search-metric.ts).
 */
import "core-js/actual/iterator/index.js";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadAudio } from "../src/audio/load.js";
import { MelFrontEnd } from "../src/audio/mel.js";
import { rateFor } from "../src/cli/bitrate.js";
import { encodeStream } from "../src/model/encode-stream.js";
import { openEngine } from "../src/model/open.js";
import { DEFAULT_DECODE, decodeMel } from "../src/model/pipeline.js";
import { bandWeights, EMPHASIS_CUTOFF_HZ, highBandWeightFor } from "../src/model/search-metric.js";
import { readManifest } from "../src/train/corpus-clips.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "models/default" },
    data: { type: "string" },
    split: { type: "string", default: "unseen" },
    specs: { type: "string", default: "1.5:1,1.5,3:1,3" },
    seconds: { type: "string", default: "10" },
  },
});
const engine = await openEngine(values.model!, "onnx");
const nM = engine.info.codec.nMels;
const low = bandWeights(nM, { cutoffHz: EMPHASIS_CUTOFF_HZ, highWeight: 0 });
const clips = readManifest(values.data!).filter((c) => c.split === values.split && c.kind.startsWith("speech"));
const fe = new MelFrontEnd();
const specs = values.specs!.split(",").map((s) => {
  const [kbps, w] = s.split(":").map(Number);
  return { label: s, kbps, weight: w ?? highBandWeightFor(kbps) };
});
const sums = specs.map(() => ({ low: 0, high: 0, lowN: 0, highN: 0 }));
for (const clip of clips) {
  const audio = (await loadAudio(join(values.data!, clip.path))).subarray(0, Math.round(Number(values.seconds) * 24000));
  const orig = fe.compute(audio).data;
  for (const [i, spec] of specs.entries()) {
    const rate = { ...rateFor({ kbps: spec.kbps }, engine.info.codec.rvq), highBandWeight: spec.weight };
    const s = await encodeStream(engine, audio, rate);
    const dec = await decodeMel(engine, s.codes, s.frames, s.stages, { ...DEFAULT_DECODE, frameStages: s.frameStages });
    for (let k = 0; k < orig.length; k++) {
      const e = Math.abs(orig[k] - dec[k]);
      if (low[k % nM] === 1) (sums[i].low += e), sums[i].lowN++;
      else (sums[i].high += e), sums[i].highN++;
    }
  }
}
console.log(`${clips.length} ${values.split} speech clips (first ${values.seconds} s); prior mel's log-mel L1 against the original's`);
console.log(`| kbit/s : high-band weight | bands up to ${EMPHASIS_CUTOFF_HZ / 1000} kHz | bands above | all |`);
console.log("|---|---:|---:|---:|");
for (const [i, spec] of specs.entries()) {
  const s = sums[i];
  console.log(`| ${spec.kbps} : ${spec.weight.toFixed(2)} | ${(s.low / s.lowN).toFixed(3)} | ${(s.high / s.highN).toFixed(3)} | ${((s.low + s.high) / (s.lowN + s.highN)).toFixed(3)} |`);
}
engine.dispose();
