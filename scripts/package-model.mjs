#!/usr/bin/env node
/**
 * Packages trained runs into a model directory (default models/default):
 * copies the runs' weights-only files (codec: online weights + mel statistics;
 * vocoder: EMA weights), and writes the model card from the runs' logs.
 * Discriminator weights are dropped from the vocoder file (inference never uses them).
 * Usage: node scripts/package-model.mjs --codec <run> --vocoder <run> [--out models/default] [--results <eval table.md>] [--note <text for the card>] [--data <text>]
 * --vocoder may also be a model directory: its vocoder.safetensors is kept as it is
 * (a codec fine-tuned alone). --data describes the training data for the card.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// The project's own safetensors reader and writer (needs `npm run build`).
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { parseSafeTensors, serializeSafeTensors } = await import(join(root, "dist/src/util/safetensors.js"));

const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const codecRun = opt("--codec");
const vocoderRun = opt("--vocoder");
const out = opt("--out", "models/default");
const results = opt("--results");
const note = opt("--note");
const dataNote = opt("--data", "`flowmac corpus` (seed 1): 7.36 h train / 0.42 h validation, 24 kHz mono, from Debian packages and synthesis (see docs/training.md)");
if (!codecRun || !vocoderRun) {
  console.error("usage: package-model.mjs --codec <run-dir> --vocoder <run-dir | model-dir> [--out dir] [--results table.md] [--note text] [--data text]");
  process.exit(1);
}

/** The metadata of a safetensors file (the training settings ride along in "train"). */
function metadata(path) {
  return parseSafeTensors(new Uint8Array(readFileSync(path)), path).metadata;
}

/** Log summary: steps, wall time over all resumed segments, last losses and validation. */
function summarise(run) {
  const rows = readFileSync(join(run, "log.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  let wall = 0;
  let segMax = 0;
  for (const r of rows) {
    if (r.event === "resume") {
      wall += segMax;
      segMax = 0;
    } else if (typeof r.time === "number") segMax = Math.max(segMax, r.time);
  }
  wall += segMax;
  const train = rows.filter((r) => typeof r.stepMs === "number");
  const val = rows.filter((r) => Object.keys(r).some((k) => k.startsWith("val_")));
  const last = train.slice(-10);
  const mean = (k) => last.reduce((s, r) => s + (r[k] ?? 0), 0) / Math.max(1, last.length);
  const keys = Object.keys(train.at(-1) ?? {}).filter((k) => !["step", "time", "stepMs", "lr", "msGrad", "msOpt", "msVq", "restarted"].includes(k));
  const t = JSON.parse(metadata(join(run, "weights.safetensors")).train ?? "{}");
  return { steps: train.at(-1)?.step ?? 0, hours: wall / 3600, final: Object.fromEntries(keys.map((k) => [k, mean(k)])), val: val.at(-1) ?? {}, config: JSON.parse(readFileSync(join(run, "config.json"), "utf8")), batch: `${t.batch} × ${t.frames} frames` };
}

/** A safetensors file without the tensors whose names start with `prefix` (metadata kept). */
function withoutPrefix(bytes, prefix, source) {
  const f = parseSafeTensors(new Uint8Array(bytes), source);
  return serializeSafeTensors([...f.tensors].filter(([name]) => !name.startsWith(prefix)), f.metadata);
}

/** A vocoder taken unchanged from a model directory: no run log, the config from its metadata. */
const vocoderFromModel = !existsSync(join(vocoderRun, "log.jsonl")) && existsSync(join(vocoderRun, "vocoder.safetensors"));
const weightsOf = (run, name) => (name === "vocoder" && vocoderFromModel ? join(run, "vocoder.safetensors") : join(run, "weights.safetensors"));

/** The card's summary of an unchanged vocoder: its config and step, no losses. */
function shipped(file) {
  const m = metadata(file);
  return { steps: Number(m.step ?? 0), hours: NaN, final: {}, val: {}, config: { config: JSON.parse(m.config) }, batch: "as shipped", from: file };
}

mkdirSync(out, { recursive: true });
for (const [run, name] of [[codecRun, "codec"], [vocoderRun, "vocoder"]]) {
  const src = weightsOf(run, name);
  const mb = statSync(src).size / 1e6;
  if (mb >= 30) throw new Error(`${src}: ${mb.toFixed(1)} MB, over the 30 MB limit for shipped models`);
  writeFileSync(join(out, `${name}.safetensors`), withoutPrefix(readFileSync(src), "params.disc.", src));
}
/** The rates an RVQ serves, e.g. "3 kbit/s; 0.375 to 3 kbit/s in steps of 0.375 with 1 to 8 stages". */
const rateText = (rvq) => {
  const step = (46.875 * Math.log2(rvq.codebookSize)) / 1000;
  return `${Number((rvq.stages * step).toFixed(6))} kbit/s; ${Number(step.toFixed(6))} to ${Number((rvq.stages * step).toFixed(6))} kbit/s in steps of ${Number(step.toFixed(6))} with 1 to ${rvq.stages} stages`;
};
const c = summarise(codecRun);
const v = vocoderFromModel ? shipped(join(vocoderRun, "vocoder.safetensors")) : summarise(vocoderRun);
const fmt = (o) => Object.entries(o).filter(([k]) => !k.startsWith("ppl") && k !== "step" && k !== "time").map(([k, x]) => `${k} ${typeof x === "number" ? x.toPrecision(4) : x}`).join(", ");
const ppl = Object.entries(c.final).filter(([k]) => k.startsWith("ppl")).map(([k, x]) => `stage ${k.slice(3)}: ${x.toFixed(0)}`).join(", ");
const size = (f) => (statSync(join(out, f)).size / 1e6).toFixed(1);
/** The vocoder's row entries: a GAN-trained generator or a magnitude refiner (src/model/refiner.ts). */
const vc = v.config.config;
const vocoderArch =
  vc.generator.kind === "refiner"
    ? `\`${vc.name}\`: magnitude refiner, log NNLS magnitude prior + residual from dim ${vc.generator.dim}, ${vc.generator.layers} ConvNeXt blocks; phase PGHI + ${vc.generator.fglaIterations} FGLA iterations, n_fft ${vc.generator.nFft}, hop ${vc.generator.hop}`
    : `\`${vc.name}\`: ${vc.generator.kind}, dim ${vc.generator.dim}, ${vc.generator.layers} ConvNeXt blocks, iSTFT n_fft ${vc.generator.nFft}, hop ${vc.generator.hop}`;
const vocoderTraining = vc.generator.kind === "refiner" ? "L1 on log STFT magnitude, no GAN" : `GAN from step ${vc.ganStart}`;
const vocoderShipped = vc.generator.kind === "refiner" ? "EMA (0.999) of the refiner" : "EMA (0.999) of the generator; discriminators not shipped";
const card = `# Model card: flowmac default model

The model \`flowmac encode/decode/roundtrip\` use when no \`--model\` is given.

| | codec (\`codec.safetensors\`, ${size("codec.safetensors")} MB) | vocoder (\`vocoder.safetensors\`, ${size("vocoder.safetensors")} MB) |
|---|---|---|
| config | \`${c.config.config.name}\` (src/model/config.ts): encoder/decoder ${c.config.config.encoder.layers} post-LN transformer blocks, dim ${c.config.config.encoder.dim}, ${c.config.config.encoder.heads} heads, attention window ±${c.config.config.encoder.window} frames; RVQ ${c.config.config.rvq.stages} × ${c.config.config.rvq.codebookSize} in ${c.config.config.rvq.dim} dims (${rateText(c.config.config.rvq)}); CFM U-Net channels ${JSON.stringify(c.config.config.cfm.channels)} | ${vocoderArch} |
| training data | ${dataNote} | ${vocoderFromModel ? `unchanged from \`${v.from}\`` : "same data"} |
| steps | ${c.steps} (batch ${c.batch}) | ${v.steps} (batch ${v.batch}; ${vocoderTraining}) |
| wall time | ${c.hours.toFixed(1)} h on one CPU core | ${vocoderFromModel ? "—" : `${v.hours.toFixed(1)} h, same machine`} |
| final training losses (mean of the last 10 logged steps) | ${fmt(c.final)} | ${fmt(v.final)} |
| validation (last) | ${fmt(c.val)} | ${fmt(v.val)} |
| codebook usage (perplexity per stage, of 256) | ${ppl} | — |
| weights shipped | online weights (no EMA: see docs/architecture.md) and the training split's mel statistics | ${vocoderShipped} |

${note ? note + "\n\n" : ""}Objective scores on the bundled samples and the validation split: ${results ? "see below and" : "see"} docs/results.md.
${results && existsSync(results) ? "\n" + readFileSync(results, "utf8") : ""}
## Limits

Trained for hours on one CPU core — roughly a thousandth of the compute of the paper's
models — so expect audible artefacts; docs/training.md lists what more compute would improve.
Bitstreams carry the model id (first 8 bytes of the SHA-256 of codec.safetensors): a \`.fmac\`
decodes only with the model that wrote it.
`;
writeFileSync(join(out, "README.md"), card);
console.log(`${out}: codec.safetensors (${size("codec.safetensors")} MB, ${c.steps} steps), vocoder.safetensors (${size("vocoder.safetensors")} MB, ${v.steps} steps), README.md`);
