/**
 * The fuzz run: .fmac mutants through parsing, the model check and both
 * engines; WAV/FLAC mutants through both audio readers; a sample of each
 * through the real CLI. Deterministic from the seed. Every mutant that fails
 * (anything but a clean decode or a UserError, output of the wrong length or
 * not finite, over the time limit, a CLI exit other than 0 or 1 or a messy
 * refusal) is saved with what went wrong.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFmac } from "../../src/bitstream/fmac.js";
import { Rng } from "../../src/nn/rng.js";
import { classifyAudio, type AudioVerdict } from "./audio-target.js";
import { audioMutants } from "./audio-mutants.js";
import { runCliMutant, type CliRun } from "./cli-target.js";
import { classifyFmac, type FmacOutcome } from "./fmac-target.js";
import { fmacMutants } from "./fmac-mutants.js";
import { makeFixtures } from "./fixtures.js";
import { GroupSample, Tally } from "./tally.js";
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

export interface Failure {
  what: string;
  detail: string;
  file: string;
}

export interface FuzzReport {
  fmac: Tally;
  audio: Tally;
  cli: Tally;
  fmacMaxSeconds: number;
  audioMaxSeconds: number;
  cliMaxSeconds: number;
  /** Wall time of each phase. */
  phaseSeconds: { fmac: number; audio: number; cli: number };
  /** Largest sample difference between the onnx and jax engines over the decoded mutants. */
  engineGap: number;
  /** Audio mutants one reader accepted and the other refused, or accepted at different lengths (reported, not failures). */
  readerSplits: string[];
  failures: Failure[];
}

export const FMAC_OUTCOMES: FmacOutcome[] = ["crc", "header", "model-check", "decode-refused", "decoded", "failure"];
export const AUDIO_OUTCOMES = ["refused", "accepted", "split", "failure"];
export const CLI_OUTCOMES = ["exit-0", "exit-1", "failure"];
const MAX_SAVED = 200;

interface Sampled {
  index: number;
  kind: string;
  bytes: Uint8Array;
  /** The exit the in-process verdict predicts: for `decode`, or for `mel` (the whole-file reader). */
  expected: 0 | 1;
  /** For `encode` (the streaming reader). */
  expectedStreamed?: 0 | 1;
  ext: string;
  /** Samples a decoded stream states. */
  length?: number;
}

function audioGroup(v: AudioVerdict): string {
  if (v.whole.outcome === "failure" || v.stream.outcome === "failure") return "failure";
  if (v.whole.outcome !== v.stream.outcome) return "split";
  return v.whole.outcome;
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const log = o.log ?? (() => {});
  const work = mkdtempSync(join(tmpdir(), "flowmac-fuzz-"));
  const fx = await makeFixtures(work);
  const report: FuzzReport = { fmac: new Tally(), audio: new Tally(), cli: new Tally(), fmacMaxSeconds: 0, audioMaxSeconds: 0, cliMaxSeconds: 0, phaseSeconds: { fmac: 0, audio: 0, cli: 0 }, engineGap: 0, readerSplits: [], failures: [] };
  const fail = (what: string, detail: string, bytes: Uint8Array, ext: string) => {
    let file = "";
    if (report.failures.length < MAX_SAVED) {
      mkdirSync(o.failureDir, { recursive: true });
      file = join(o.failureDir, `${what.replace(/[^\w.-]+/g, "_")}${ext}`);
      writeFileSync(file, bytes);
      writeFileSync(`${file}.txt`, detail + "\n");
    }
    report.failures.push({ what, detail, file });
  };
  const watchdog = o.hangSeconds ? new Watchdog(o.failureDir, o.hangSeconds) : null;
  const sampleRng = new Rng(o.seed ^ 0x5eed5eed);
  const fmacSample = new GroupSample<Sampled>(sampleRng, o.cli);
  const audioSample = new GroupSample<Sampled>(sampleRng, o.cli);
  try {
    // .fmac mutants, in-process.
    const t0 = performance.now();
    let index = 0;
    for (const m of fmacMutants(new Rng(o.seed), fx.fmacBases, o.fmac)) {
      watchdog?.begin(index, m.bytes);
      const start = performance.now();
      const v = await classifyFmac(m.bytes, fx.engines);
      const seconds = (performance.now() - start) / 1000;
      watchdog?.end();
      report.fmacMaxSeconds = Math.max(report.fmacMaxSeconds, seconds);
      report.engineGap = Math.max(report.engineGap, v.engineGap ?? 0);
      const outcome = seconds > o.limitSeconds ? "failure" : v.outcome;
      report.fmac.add(m.kind, outcome);
      if (outcome === "failure") fail(`fmac-${index}-${m.kind}`, seconds > o.limitSeconds ? `took ${seconds.toFixed(1)} s (${v.outcome})` : v.detail, m.bytes, ".fmac");
      else fmacSample.offer(outcome, () => ({ index, kind: m.kind, bytes: m.bytes, expected: outcome === "decoded" ? 0 : 1, ext: ".fmac", length: outcome === "decoded" ? readFmac(m.bytes).length : undefined }));
      if (++index % 5000 === 0) log(`fmac ${index}/${o.fmac}: ${report.fmac.total("decoded")} decoded, ${report.failures.length} failures, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
    report.phaseSeconds.fmac = (performance.now() - t0) / 1000;
    // Audio mutants, in-process.
    const t1 = performance.now();
    index = 0;
    for (const m of audioMutants(new Rng(o.seed + 1), fx.audioBases, o.audio)) {
      const ext = m.base.format === "wav" ? ".wav" : ".flac";
      watchdog?.begin(1e9 + index, m.bytes);
      const start = performance.now();
      const v = await classifyAudio(m.bytes, join(work, `mutant${ext}`));
      const seconds = (performance.now() - start) / 1000;
      watchdog?.end();
      report.audioMaxSeconds = Math.max(report.audioMaxSeconds, seconds);
      const group = seconds > o.limitSeconds ? "failure" : audioGroup(v);
      report.audio.add(m.kind, group);
      const name = `audio-${index}-${m.kind}-${m.base.name}`;
      if (group === "failure") fail(name, seconds > o.limitSeconds ? `took ${seconds.toFixed(1)} s` : `whole file: ${v.whole.outcome} ${v.whole.detail}\nstreamed: ${v.stream.outcome} ${v.stream.detail}`, m.bytes, ext);
      else {
        if (group === "split" || (group === "accepted" && v.whole.length !== v.stream.length))
          report.readerSplits.push(`${name}: whole file ${v.whole.outcome} ${v.whole.detail || v.whole.length}; streamed ${v.stream.outcome} ${v.stream.detail || v.stream.length}`);
        // `mel` reads the whole file, `encode` streams it: each CLI run is judged against its own reader.
        audioSample.offer(group, () => ({ index, kind: m.kind, bytes: m.bytes, expected: v.whole.outcome === "accepted" ? 0 : 1, expectedStreamed: v.stream.outcome === "accepted" ? 0 : 1, ext }));
      }
      if (++index % 2000 === 0) log(`audio ${index}/${o.audio}: ${report.audio.total("accepted")} accepted, ${report.failures.length} failures`);
    }
    report.phaseSeconds.audio = (performance.now() - t1) / 1000;
    // Samples of both through the CLI.
    const t2 = performance.now();
    const cliDir = join(work, "cli");
    mkdirSync(cliDir, { recursive: true });
    const env = { ...process.env, FLOWMAC_CACHE: process.env.FLOWMAC_CACHE, FLOWMAC_QUIET: "1" };
    const runs: { m: Sampled; run: CliRun; what: string }[] = [];
    // Engines and commands by coin flip: the samples come interleaved by outcome, so alternating would pair them.
    for (const m of fmacSample.take(o.cli)) {
      const engine = sampleRng.int(2) ? "jax" : "onnx";
      const input = join(cliDir, "in.fmac");
      const output = join(cliDir, "out.wav");
      const checkOutput = (p: string) => (statSync(p).size === 44 + 2 * m.length! ? null : `decoded ${(statSync(p).size - 44) / 2} samples, ${m.length} stated`);
      runs.push({ m, what: `cli-decode-${engine}`, run: { args: ["decode", input, "-o", output, "--model", fx.modelDir, "--lc", "--engine", engine], input, output, expected: m.expected, checkOutput } });
    }
    for (const m of audioSample.take(o.cli)) {
      const input = join(cliDir, `in${m.ext}`);
      if (sampleRng.int(2)) {
        const output = join(cliDir, "out.fmac");
        const checkOutput = (p: string) => (readFmac(new Uint8Array(readFileSync(p))).length > 0 ? null : "empty stream");
        runs.push({ m, what: "cli-encode", run: { args: ["encode", input, "-o", output, "--model", fx.modelDir], input, output, expected: m.expectedStreamed, checkOutput } });
      } else {
        const output = join(cliDir, "out.npy");
        runs.push({ m, what: "cli-mel", run: { args: ["mel", input, "-o", output], input, output, expected: m.expected } });
      }
    }
    for (const [i, { m, run, what }] of runs.entries()) {
      const r = runCliMutant(cliDir, m.bytes, run, env, o.limitSeconds);
      report.cliMaxSeconds = Math.max(report.cliMaxSeconds, r.seconds);
      report.cli.add(what, r.problem ? "failure" : `exit-${r.code}`);
      if (r.problem) fail(`${what}-${m.ext.slice(1)}-${m.index}-${m.kind}`, r.problem, m.bytes, m.ext);
      if ((i + 1) % 50 === 0) log(`cli ${i + 1}/${runs.length}: ${report.cli.total("failure")} failures`);
    }
    report.phaseSeconds.cli = (performance.now() - t2) / 1000;
  } finally {
    await watchdog?.stop();
    for (const e of fx.engines) e.dispose();
    rmSync(work, { recursive: true, force: true });
  }
  return report;
}

/** The summary the script prints. */
export function summary(r: FuzzReport, o: FuzzOptions): string {
  const reached = r.fmac.total() - r.fmac.total("crc") - r.fmac.total("header");
  const lines = [
    `seed ${o.seed}: ${r.fmac.total()} .fmac mutants, ${r.audio.total()} audio mutants, ${r.cli.total()} CLI runs`,
    "",
    ".fmac mutants (crc: refused at the CRC; header: other refusals of the reader; model-check: refused against the model; decoded: by both engines, stated length, finite)",
    r.fmac.table(FMAC_OUTCOMES),
    `passed the reader (reached the model check): ${reached}; decoded by both engines: ${r.fmac.total("decoded")}; max time per mutant ${r.fmacMaxSeconds.toFixed(2)} s; max onnx/jax sample difference ${r.engineGap.toExponential(2)}; ${(r.phaseSeconds.fmac / 60).toFixed(1)} min`,
    "",
    "audio mutants (refused/accepted by both loadAudio and openAudioStream; split: one accepted, the other refused)",
    r.audio.table(AUDIO_OUTCOMES),
    `max time per mutant ${r.audioMaxSeconds.toFixed(2)} s; ${(r.phaseSeconds.audio / 60).toFixed(1)} min`,
    ...(r.readerSplits.length ? [`readers disagreeing (${r.readerSplits.length}):`, ...r.readerSplits.slice(0, 10).map((s) => `  ${s}`)] : []),
    "",
    "CLI runs",
    r.cli.table(CLI_OUTCOMES),
    `max time per run ${r.cliMaxSeconds.toFixed(2)} s; ${(r.phaseSeconds.cli / 60).toFixed(1)} min`,
    "",
    r.failures.length ? `${r.failures.length} FAILURES (saved under ${o.failureDir}):` : "no failures",
    ...r.failures.slice(0, 30).map((f) => `  ${f.what}: ${f.detail.split("\n").join(" / ")}`),
  ];
  return lines.join("\n");
}
