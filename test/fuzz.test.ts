/**
 * A short run of the fuzzer (npm run fuzz runs 10^5 .fmac and 10^4 audio
 * mutants): a few hundred of each in-process through both engines and both
 * audio readers, a few through the CLI. Any mutant that is neither decoded
 * cleanly nor refused with a one-line user error fails the test.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { initJax } from "../src/nn/runtime.js";
import { runFuzz, type FuzzOptions } from "../scripts/fuzz/run.js";

it("300 .fmac and 200 audio mutants, 6 through the CLI: each decoded or refused cleanly, within 10 s", async () => {
  await initJax();
  const dir = mkdtempSync(join(tmpdir(), "flowmac-fuzz-test-"));
  const options: FuzzOptions = { fmac: 300, audio: 200, cli: 3, seed: 20, failureDir: join(dir, "failures"), limitSeconds: 10 };
  const r = await runFuzz(options);
  expect(r.failures, r.summary(options.seed)).toEqual([]);
  rmSync(dir, { recursive: true, force: true }); // kept on failure: the failing mutants are in it
  // The run reached every stage: the CRC, the other header checks, the model check, both engines, both readers, the CLI.
  for (const outcome of ["crc", "header", "model-check", "decoded"]) expect(r.fmac.total(outcome), outcome).toBeGreaterThan(0);
  for (const outcome of ["accepted", "refused"]) expect(r.audio.total(outcome), outcome).toBeGreaterThan(0);
  expect(r.cli.total()).toBe(6);
  expect(r.maxSeconds.fmac).toBeLessThan(10);
}, 120_000);
