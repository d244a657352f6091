/**
 * Writes a mono WAV file piece by piece (the length is known up front), so
 * long decodes never hold the whole output in memory. Like writeFileAtomic,
 * the bytes go to a temporary sibling (see partial-files.ts) that is renamed
 * only when complete.
 */
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { UserError } from "../util/errors.js";
import { partialSibling, settle } from "../util/partial-files.js";
import { countOverFullScale } from "./limiter.js";
import { encodeWavSamples, wavHeader, type WavSampleFormat } from "./wav.js";

export class WavFileWriter {
  private fd: number;
  private tmp: string;
  private written = 0;
  /** Samples beyond full scale that the 16-bit output soft-limited (float32 output keeps them). */
  overFullScale = 0;

  constructor(private path: string, sampleRate: number, private total: number, private format: WavSampleFormat = "pcm16") {
    const dir = dirname(path);
    if (!existsSync(dir)) throw new UserError(`${path}: directory ${dir} does not exist`);
    this.tmp = partialSibling(path);
    this.fd = -1;
    try {
      this.fd = openSync(this.tmp, "w");
      writeSync(this.fd, wavHeader(1, total, sampleRate, format));
    } catch (e) {
      this.abort();
      throw new UserError(`${path}: cannot write (${(e as Error).message})`);
    }
  }

  write(samples: Float32Array): void {
    if (this.written + samples.length > this.total) throw new Error(`WavFileWriter: more than ${this.total} samples`);
    if (this.format === "pcm16") this.overFullScale += countOverFullScale(samples); // encodeWavSamples limits them
    writeSync(this.fd, encodeWavSamples([samples], this.format));
    this.written += samples.length;
  }

  close(): void {
    if (this.written !== this.total) {
      this.abort();
      throw new Error(`WavFileWriter: ${this.written} of ${this.total} samples written`);
    }
    fsyncSync(this.fd);
    closeSync(this.fd);
    renameSync(this.tmp, this.path);
    settle(this.tmp);
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
    rmSync(this.tmp, { force: true });
    settle(this.tmp);
  }
}
