/**
 * Averages the parameters of several weight files of one run (Polyak / stochastic
 * weight averaging over its last snapshots): checkpoint-to-checkpoint noise is
 * large at our batch sizes, and the mean of nearby weights often generalises
 * better than any one of them. Buffers (RVQ codebooks and their EMA statistics)
 * are taken from the last file, not averaged: a dead-code restart replaces an
 * entry outright, and a mean of two unrelated entries codes nothing.
 *   npx tsx scripts/average-weights.ts -o averaged.safetensors a.safetensors b.safetensors ...
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parseSafeTensors, serializeSafeTensors, type TensorData } from "../src/util/safetensors.js";

const { values, positionals } = parseArgs({ options: { output: { type: "string", short: "o" } }, allowPositionals: true });
if (!values.output || positionals.length < 2) throw new Error("usage: average-weights.ts -o out.safetensors in1 in2 [...]");
const files = positionals.map((p) => parseSafeTensors(new Uint8Array(readFileSync(p)), p));
const last = files[files.length - 1];
const out: [string, { shape: number[]; data: TensorData }][] = [];
for (const [name, t] of last.tensors) {
  if (name.startsWith("buffers.") || !(t.data instanceof Float32Array)) {
    out.push([name, t]);
    continue;
  }
  const acc = new Float64Array(t.data.length);
  for (const [i, f] of files.entries()) {
    const u = f.tensors.get(name);
    if (!u || u.data.length !== t.data.length) throw new Error(`${positionals[i]}: no tensor ${name} of ${t.data.length} values`);
    for (let j = 0; j < acc.length; j++) acc[j] += u.data[j];
  }
  out.push([name, { shape: t.shape, data: Float32Array.from(acc, (v) => v / files.length) }]);
}
writeFileSync(values.output, serializeSafeTensors(out, { ...last.metadata, averaged: JSON.stringify(positionals.map((p) => p.split("/").pop())) }));
console.log(`${values.output}: parameters averaged over ${files.length} files, buffers from the last`);
