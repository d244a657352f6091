/**
 * A short run of the fuzzer (npm run fuzz runs 10^5 .fmac and 10^4 audio
 * mutants): a few hundred of each in-process through both engines and both
 * audio readers, a few through the CLI. Any mutant that is neither decoded
 * cleanly nor refused with a one-line user error fails the test.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { initJax } from "../src/nn/runtime.js";
import { runFuzz, summary, type FuzzOptions } from "../scripts/fuzz/run.js";

it("300 .fmac and 200 audio mutants, 6 through the CLI: each decoded or refused cleanly, within 10 s", async () => {
  await initJax();
  const options: FuzzOptions = { fmac: 300, audio: 200, cli: 3, seed: 20, failureDir: join(mkdtempSync(join(tmpdir(), "flowmac-fuzz-test-")), "failures"), limitSeconds: 10 };
  const r = await runFuzz(options);
  expect(r.failures, summary(r, options)).toEqual([]);
  // The run reached every stage: the CRC, the other header checks, the model check, both engines, both readers, the CLI.
  for (const outcome of ["crc", "header", "model-check", "decoded"]) expect(r.fmac.total(outcome), outcome).toBeGreaterThan(0);
  for (const outcome of ["accepted", "refused"]) expect(r.audio.total(outcome), outcome).toBeGreaterThan(0);
  expect(r.cli.total()).toBe(6);
  expect(r.fmacMaxSeconds).toBeLessThan(10);
}, 120_000);
