/**
 * `npm run fuzz` (builds dist/ first: the CLI runs use it): mutated .fmac, WAV and FLAC files through the decoder, the
 * audio readers and the CLI (see scripts/fuzz/run.ts). Exits 1 on any failure.
 *   --fmac N (100000)  --audio N (10000)  --cli N (200 of each kind)  --seed S (1)
 *   --failures DIR (tmp/fuzz-failures)  --limit SECONDS (10)
 */
import "core-js/actual/iterator/index.js";
import { parseArgs } from "node:util";
import { initJax } from "../src/nn/runtime.js";
import { runFuzz, type FuzzOptions } from "./fuzz/run.js";

const { values } = parseArgs({
  options: {
    fmac: { type: "string", default: "100000" },
    audio: { type: "string", default: "10000" },
    cli: { type: "string", default: "200" },
    seed: { type: "string", default: "1" },
    failures: { type: "string", default: "tmp/fuzz-failures" },
    limit: { type: "string", default: "10" },
  },
});

const count = (name: keyof typeof values): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got ${values[name]}`);
  return n;
};

const options: FuzzOptions = {
  fmac: count("fmac"),
  audio: count("audio"),
  cli: count("cli"),
  seed: count("seed"),
  failureDir: values.failures!,
  limitSeconds: count("limit"),
  hangSeconds: 6 * count("limit"),
  log: (line) => console.error(line),
};

async function main(): Promise<void> {
  await initJax();
  const t0 = performance.now();
  const report = await runFuzz(options);
  console.log(report.summary(options.seed));
  console.log(`\n${((performance.now() - t0) / 1000 / 60).toFixed(1)} min`);
  process.exitCode = report.failures.length ? 1 : 0;
}

void main();
