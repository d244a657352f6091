/**
 * Audio files as a stream of 24 kHz mono chunks, so that long inputs are
 * encoded in bounded memory. WAV files are read, down-mixed, checked and
 * resampled piece by piece; other formats are decoded whole (their npm
 * decoders work on whole files) and then streamed the same way.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { UserError } from "../util/errors.js";
import { checkInputPath, readInputFile } from "../util/files.js";
import { checkFinite, decodeAudioBytes, downmix, SAMPLE_RATE, signalErrors } from "./load.js";
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

/**
 * Opens an audio file as a stream of 24 kHz mono chunks (header errors are
 * thrown here, sample errors while reading). A WAV file stays open until its
 * chunks have been read to the end (or the reading fails).
 */
export async function openAudioStream(path: string, opts: { rejectSilence?: boolean } = {}): Promise<AudioStream> {
  checkInputPath(path);
  const fd = openSync(path, "r");
  let wav: MonoSource | null = null;
  try {
    const size = fstatSync(fd).size;
    if (size === 0) throw new UserError(`${path}: file is empty`);
    const head = new Uint8Array(12);
    readSync(fd, head, 0, 12, 0);
    if (isWav(head)) wav = wavSource(path, fd, size);
  } finally {
    if (!wav) closeSync(fd);
  }
  const closeFile = () => wav && closeSync(fd);
  const source = wav ?? (await decodedSource(path));
  if (source.length === 0) {
    closeFile();
    throw signalErrors.empty(path);
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
          if (checkFinite(x, path, index)) nonzero = true;
          index += x.length;
          yield resampler.push(x);
        }
        if (rejectSilence && !nonzero) throw signalErrors.silent(path);
        yield resampler.finish();
      } finally {
        resampler.dispose();
        closeFile();
      }
    },
  };
}
