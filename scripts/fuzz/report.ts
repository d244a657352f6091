/** What a fuzz run found: counts per mutation class and outcome, times, failures (saved to disk), and its printed summary. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FmacOutcome } from "./fmac-target.js";
import { Tally } from "./tally.js";

export interface Failure {
  what: string;
  detail: string;
  /** Where the mutant was saved ("" past the first MAX_SAVED). */
  file: string;
}

export const FMAC_OUTCOMES: FmacOutcome[] = ["crc", "header", "model-check", "decode-refused", "decoded", "failure"];
export const AUDIO_OUTCOMES = ["refused", "accepted", "split", "failure"];
export const CLI_OUTCOMES = ["exit-0", "exit-1", "failure"];
const MAX_SAVED = 200;

export class FuzzReport {
  readonly fmac = new Tally();
  readonly audio = new Tally();
  readonly cli = new Tally();
  /** Longest single mutant (or CLI run) per phase, and each phase's wall time, in seconds. */
  readonly maxSeconds = { fmac: 0, audio: 0, cli: 0 };
  readonly phaseSeconds = { fmac: 0, audio: 0, cli: 0 };
  /** Largest sample difference between the onnx and jax engines over the decoded mutants. */
  engineGap = 0;
  /** Audio mutants one reader accepted and the other refused, or accepted at different lengths (reported, not failures). */
  readonly readerSplits: string[] = [];
  readonly failures: Failure[] = [];

  constructor(private failureDir: string) {}

  /** Records a failure and saves the mutant (with a .txt saying why) under the failure folder. */
  fail(what: string, detail: string, bytes: Uint8Array, ext: string): void {
    let file = "";
    if (this.failures.length < MAX_SAVED) {
      mkdirSync(this.failureDir, { recursive: true });
      file = join(this.failureDir, `${what.replace(/[^\w.-]+/g, "_")}${ext}`);
      writeFileSync(file, bytes);
      writeFileSync(`${file}.txt`, detail + "\n");
    }
    this.failures.push({ what, detail, file });
  }

  summary(seed: number): string {
    const reached = this.fmac.total() - this.fmac.total("crc") - this.fmac.total("header");
    const minutes = (s: number) => `${(s / 60).toFixed(1)} min`;
    return [
      `seed ${seed}: ${this.fmac.total()} .fmac mutants, ${this.audio.total()} audio mutants, ${this.cli.total()} CLI runs`,
      "",
      ".fmac mutants (crc: refused at the CRC; header: other refusals of the reader; model-check: refused against the model; decoded: by both engines, stated length, finite)",
      this.fmac.table(FMAC_OUTCOMES),
      `passed the reader (reached the model check): ${reached}; decoded by both engines: ${this.fmac.total("decoded")}; max time per mutant ${this.maxSeconds.fmac.toFixed(2)} s; ` +
        `max onnx/jax sample difference ${this.engineGap.toExponential(2)}; ${minutes(this.phaseSeconds.fmac)}`,
      "",
      "audio mutants (refused/accepted by both loadAudio and openAudioStream; split: one accepted, the other refused)",
      this.audio.table(AUDIO_OUTCOMES),
      `max time per mutant ${this.maxSeconds.audio.toFixed(2)} s; ${minutes(this.phaseSeconds.audio)}`,
      ...(this.readerSplits.length ? [`readers disagreeing (${this.readerSplits.length}):`, ...this.readerSplits.slice(0, 10).map((s) => `  ${s}`)] : []),
      "",
      "CLI runs",
      this.cli.table(CLI_OUTCOMES),
      `max time per run ${this.maxSeconds.cli.toFixed(2)} s; ${minutes(this.phaseSeconds.cli)}`,
      "",
      this.failures.length ? `${this.failures.length} FAILURES (saved under ${this.failureDir}):` : "no failures",
      ...this.failures.slice(0, 30).map((f) => `  ${f.what}: ${f.detail.split("\n").join(" / ")}`),
    ].join("\n");
  }
}
