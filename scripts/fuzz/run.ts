/**
 * The fuzz run: .fmac mutants through parsing, the model check and both
 * engines; WAV/FLAC mutants through both audio readers; a sample of each
 * through the real CLI. Deterministic from the seed. Every mutant that fails
 * (anything but a clean decode or a UserError, output of the wrong length or
 * not finite, over the time limit, a CLI exit other than 0 or 1 or a messy
 * refusal, a CLI verdict other than the in-process one) is saved with what
 * went wrong.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFmacHeader } from "../../src/bitstream/fmac.js";
import { Rng } from "../../src/nn/rng.js";
import { classifyAudio, type AudioVerdict } from "./audio-target.js";
import { audioMutants } from "./audio-mutants.js";
import { runCliMutant, type CliRun } from "./cli-target.js";
import { classifyFmac } from "./fmac-target.js";
import { fmacMutants } from "./fmac-mutants.js";
import { makeFixtures, type Fixtures } from "./fixtures.js";
import { FuzzReport } from "./report.js";
import { GroupSample } from "./tally.js";
import { Watchdog } from "./watchdog.js";

export interface FuzzOptions {
  fmac: number;
  audio: number;
  /** Mutants of each kind (.fmac, audio) also run through the CLI. */
  cli: number;
  seed: number;
  /** Where failing mutants are saved. */
  failureDir: string;
  /** Per-mutant limit in seconds (in-process and per CLI run). */
  limitSeconds: number;
  /** Kill the run (saving the mutant) if one mutant runs this many seconds; off in the tests (vitest has its own timeout). */
  hangSeconds?: number;
  log?: (line: string) => void;
}

/** A mutant kept for the CLI, with the exit codes its in-process verdict predicts. */
interface Sampled {
  index: number;
  kind: string;
  bytes: Uint8Array;
  ext: string;
  /** For `decode`, or for `mel` (the whole-file reader). */
  expected: 0 | 1;
  /** For `encode` (the streaming reader). */
  expectedStreamed?: 0 | 1;
  /** Samples the stream states (a decoded .fmac) or the streaming reader yielded (accepted audio). */
  length?: number;
}

/** What every phase shares. */
interface Run {
  o: FuzzOptions;
  fx: Fixtures;
  work: string;
  report: FuzzReport;
  watchdog: Watchdog | null;
  log: (line: string) => void;
}

/** Runs `classify` under the watchdog and returns its verdict and seconds. */
async function timed<T>(run: Run, id: number, bytes: Uint8Array, classify: () => Promise<T>): Promise<[T, number]> {
  run.watchdog?.begin(id, bytes);
  const start = performance.now();
  const v = await classify();
  const seconds = (performance.now() - start) / 1000;
  run.watchdog?.end();
  return [v, seconds];
}

async function fuzzFmac(run: Run, sample: GroupSample<Sampled>): Promise<void> {
  const { o, fx, report } = run;
  let index = 0;
  for (const m of fmacMutants(new Rng(o.seed), fx.fmacBases, o.fmac)) {
    const [v, seconds] = await timed(run, index, m.bytes, () => classifyFmac(m.bytes, fx.engines));
    report.maxSeconds.fmac = Math.max(report.maxSeconds.fmac, seconds);
    report.engineGap = Math.max(report.engineGap, v.engineGap ?? 0);
    const outcome = seconds > o.limitSeconds ? "failure" : v.outcome;
    report.fmac.add(m.kind, outcome);
    if (outcome === "failure") report.fail(`fmac-${index}-${m.kind}`, seconds > o.limitSeconds ? `took ${seconds.toFixed(1)} s (${v.outcome})` : v.detail, m.bytes, ".fmac");
    else sample.offer(outcome, () => ({ index, kind: m.kind, bytes: m.bytes, ext: ".fmac", expected: outcome === "decoded" ? 0 : 1, length: outcome === "decoded" ? readFmacHeader(m.bytes).length : undefined }));
    if (++index % 5000 === 0) run.log(`fmac ${index}/${o.fmac}: ${report.fmac.total("decoded")} decoded, ${report.failures.length} failures`);
  }
}

function audioGroup(v: AudioVerdict): string {
  if (v.whole.outcome === "failure" || v.stream.outcome === "failure") return "failure";
  if (v.whole.outcome !== v.stream.outcome) return "split";
  return v.whole.outcome;
}

async function fuzzAudio(run: Run, sample: GroupSample<Sampled>): Promise<void> {
  const { o, fx, report } = run;
  let index = 0;
  for (const m of audioMutants(new Rng(o.seed + 1), fx.audioBases, o.audio)) {
    const ext = m.base.format === "wav" ? ".wav" : ".flac";
    const [v, seconds] = await timed(run, 1e9 + index, m.bytes, () => classifyAudio(m.bytes, join(run.work, `mutant${ext}`)));
    report.maxSeconds.audio = Math.max(report.maxSeconds.audio, seconds);
    const group = seconds > o.limitSeconds ? "failure" : audioGroup(v);
    report.audio.add(m.kind, group);
    const name = `audio-${index}-${m.kind}-${m.base.name}`;
    if (group === "failure") report.fail(name, seconds > o.limitSeconds ? `took ${seconds.toFixed(1)} s` : `whole file: ${v.whole.outcome} ${v.whole.detail}\nstreamed: ${v.stream.outcome} ${v.stream.detail}`, m.bytes, ext);
    else {
      if (group === "split" || (group === "accepted" && v.whole.length !== v.stream.length))
        report.readerSplits.push(`${name}: whole file ${v.whole.outcome} ${v.whole.detail || v.whole.length}; streamed ${v.stream.outcome} ${v.stream.detail || v.stream.length}`);
      // `mel` reads the whole file, `encode` streams it: each CLI run is judged against its own reader.
      sample.offer(group, () => ({ index, kind: m.kind, bytes: m.bytes, ext, expected: v.whole.outcome === "accepted" ? 0 : 1, expectedStreamed: v.stream.outcome === "accepted" ? 0 : 1, length: v.stream.length }));
    }
    if (++index % 2000 === 0) run.log(`audio ${index}/${o.audio}: ${report.audio.total("accepted")} accepted, ${report.failures.length} failures`);
  }
}

/** The CLI runs for the sampled mutants; engines and commands by coin flip (the samples come interleaved by outcome, so alternating would pair them). */
function cliPlan(run: Run, rng: Rng, fmac: Sampled[], audio: Sampled[], dir: string): { m: Sampled; what: string; cli: CliRun }[] {
  const model = run.fx.modelDir;
  const plan = fmac.map((m) => {
    const engine = rng.int(2) ? "jax" : "onnx";
    const [input, output] = [join(dir, "in.fmac"), join(dir, "out.wav")];
    const checkOutput = (p: string) => (statSync(p).size === 44 + 2 * m.length! ? null : `decoded ${(statSync(p).size - 44) / 2} samples, ${m.length} stated`);
    return { m, what: `cli-decode-${engine}`, cli: { args: ["decode", input, "-o", output, "--model", model, "--lc", "--engine", engine], input, output, expected: m.expected, checkOutput } };
  });
  for (const m of audio) {
    const input = join(dir, `in${m.ext}`);
    if (rng.int(2)) {
      const output = join(dir, "out.fmac");
      const checkOutput = (p: string) => {
        const stated = readFmacHeader(new Uint8Array(readFileSync(p))).length;
        return stated === m.length ? null : `encoded a stream of ${stated} samples, the reader yielded ${m.length}`;
      };
      plan.push({ m, what: "cli-encode", cli: { args: ["encode", input, "-o", output, "--model", model], input, output, expected: m.expectedStreamed!, checkOutput } });
    } else {
      const output = join(dir, "out.npy");
      plan.push({ m, what: "cli-mel", cli: { args: ["mel", input, "-o", output], input, output, expected: m.expected, checkOutput: () => null } });
    }
  }
  return plan;
}

async function fuzzCli(run: Run, rng: Rng, fmac: Sampled[], audio: Sampled[]): Promise<void> {
  const { o, report } = run;
  const dir = join(run.work, "cli");
  mkdirSync(dir, { recursive: true });
  const env = { ...process.env, FLOWMAC_QUIET: "1" }; // FLOWMAC_CACHE: the fixtures' export, set by makeFixtures
  const plan = cliPlan(run, rng, fmac, audio, dir);
  for (const [i, { m, what, cli }] of plan.entries()) {
    const r = runCliMutant(dir, m.bytes, cli, env, o.limitSeconds);
    report.maxSeconds.cli = Math.max(report.maxSeconds.cli, r.seconds);
    report.cli.add(what, r.problem ? "failure" : `exit-${r.code}`);
    if (r.problem) report.fail(`${what}-${m.ext.slice(1)}-${m.index}-${m.kind}`, r.problem, m.bytes, m.ext);
    if ((i + 1) % 50 === 0) run.log(`cli ${i + 1}/${plan.length}: ${report.cli.total("failure")} failures`);
  }
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const work = mkdtempSync(join(tmpdir(), "flowmac-fuzz-"));
  const run: Run = { o, fx: await makeFixtures(work), work, report: new FuzzReport(o.failureDir), watchdog: o.hangSeconds ? new Watchdog(o.failureDir, o.hangSeconds) : null, log: o.log ?? (() => {}) };
  const { report } = run;
  const sampleRng = new Rng(o.seed ^ 0x5eed5eed);
  const fmacSample = new GroupSample<Sampled>(sampleRng, o.cli);
  const audioSample = new GroupSample<Sampled>(sampleRng, o.cli);
  const phase = async (name: keyof FuzzReport["phaseSeconds"], body: () => Promise<void>) => {
    const t0 = performance.now();
    await body();
    report.phaseSeconds[name] = (performance.now() - t0) / 1000;
  };
  try {
    await phase("fmac", () => fuzzFmac(run, fmacSample));
    await phase("audio", () => fuzzAudio(run, audioSample));
    await phase("cli", () => fuzzCli(run, sampleRng, fmacSample.take(o.cli), audioSample.take(o.cli)));
  } finally {
    await run.watchdog?.stop();
    for (const e of run.fx.engines) e.dispose();
    rmSync(work, { recursive: true, force: true });
  }
  return report;
}
