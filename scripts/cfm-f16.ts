/**
 * Stores a model's CFM decoder weights (params.codec.cfm.*, 9.25 MB of the
 * bundled codec's 18) as F16 instead of F32, in place. The default decoder
 * (the prior mel) does not run the CFM; `--steps N` and `--lc` do, with weights
 * rounded to F16 (relative error below 2^-11). The space pays for code tables
 * within the 30 MB budget (docs/training.md). Changes the model id.
 *   npx tsx scripts/cfm-f16.ts models/default
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { rewriteSafeTensors } from "../src/util/safetensors.js";

const dir = process.argv[2];
if (!dir) throw new Error("usage: npx tsx scripts/cfm-f16.ts <model-dir>");
const path = join(dir, "codec.safetensors");
const before = readFileSync(path);
const after = rewriteSafeTensors(new Uint8Array(before), { toF16: (name) => name.startsWith("params.codec.cfm.") }, path);
writeFileSync(path, after);
console.log(`${path}: ${(before.length / 1e6).toFixed(2)} MB -> ${(after.length / 1e6).toFixed(2)} MB`);
