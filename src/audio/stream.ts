/**
 * Audio files as a stream of 24 kHz mono chunks, so that long inputs are
 * encoded in bounded memory. WAV files are read, down-mixed, checked and
 * resampled piece by piece; other formats are decoded whole (their npm
 * decoders work on whole files) and then streamed the same way.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { UserError } from "../util/errors.js";
import { checkInputPath, readInputFile } from "../util/files.js";
import { decodeAudioBytes, downmix, SAMPLE_RATE } from "./load.js";
import { CHUNK, resampledLength, StreamResampler } from "./resample.js";
import { decodeWavFrames, isWav, parseWavHeader, type WavLayout } from "./wav.js";

export interface AudioStream {
  /** Samples (at 24 kHz) the stream yields in all. */
  length: number;
  /** The samples in order, in chunks; throws a UserError on NaN samples or an all-silent signal. */
  chunks(): AsyncGenerator<Float32Array>;
}

/** Mono chunks at the source rate, and how many samples they hold in all. */
interface MonoSource {
  sampleRate: number;
  length: number;
  read(): Generator<Float32Array>;
}

function wavSource(path: string, fd: number, size: number): MonoSource {
  const readAt = (pos: number, len: number) => {
    const b = new Uint8Array(Math.max(0, Math.min(len, size - pos)));
    let got = 0;
    while (got < b.length) {
      const n = readSync(fd, b, got, b.length - got, pos + got);
      if (n === 0) break;
      got += n;
    }
    return b.subarray(0, got);
  };
  const layout: WavLayout = parseWavHeader(readAt, size, path);
  return {
    sampleRate: layout.sampleRate,
    length: layout.frames,
    *read() {
      for (let f = 0; f < layout.frames; f += CHUNK) {
        const n = Math.min(CHUNK, layout.frames - f);
        const bytes = readAt(layout.dataStart + f * layout.blockAlign, n * layout.blockAlign);
        if (bytes.length < n * layout.blockAlign) throw new UserError(`${path}: file ended early (was it truncated while being read?)`);
        yield downmix(decodeWavFrames(bytes, layout));
      }
    },
  };
}

async function decodedSource(path: string): Promise<MonoSource> {
  const audio = await decodeAudioBytes(await readInputFile(path), path);
  const mono = downmix(audio.channels);
  return {
    sampleRate: audio.sampleRate,
    length: mono.length,
    *read() {
      for (let s = 0; s < mono.length; s += CHUNK) yield mono.subarray(s, Math.min(mono.length, s + CHUNK));
    },
  };
}

/** Opens an audio file as a stream of 24 kHz mono chunks (header errors are thrown here, sample errors while reading). */
export async function openAudioStream(path: string, opts: { rejectSilence?: boolean } = {}): Promise<AudioStream> {
  checkInputPath(path);
  const fd = openSync(path, "r");
  let source: MonoSource;
  let ownsFd = false;
  try {
    const size = fstatSync(fd).size;
    if (size === 0) throw new UserError(`${path}: file is empty`);
    const head = new Uint8Array(12);
    readSync(fd, head, 0, 12, 0);
    if (isWav(head)) {
      source = wavSource(path, fd, size);
      ownsFd = true;
    } else source = await decodedSource(path);
  } finally {
    if (!ownsFd) closeSync(fd);
  }
  if (source.length === 0) {
    if (ownsFd) closeSync(fd);
    throw new UserError(`${path}: contains no samples`);
  }
  const rejectSilence = opts.rejectSilence ?? true;
  return {
    length: resampledLength(source.length, source.sampleRate, SAMPLE_RATE),
    async *chunks() {
      const resampler = await StreamResampler.create(source.sampleRate, SAMPLE_RATE);
      let index = 0;
      let nonzero = false;
      try {
        for (const x of source.read()) {
          for (let i = 0; i < x.length; i++) {
            const v = x[i];
            if (!Number.isFinite(v)) throw new UserError(`${path}: sample ${index + i} is ${v} (NaN or infinite samples are not audio)`);
            if (v !== 0) nonzero = true;
          }
          index += x.length;
          yield resampler.push(x);
        }
        if (rejectSilence && !nonzero) throw new UserError(`${path}: signal is all zeros (digital silence)`);
        yield resampler.finish();
      } finally {
        resampler.dispose();
        if (ownsFd) closeSync(fd);
      }
    },
  };
}
