/**
 * Audio files as a stream of 24 kHz mono chunks, so that long inputs are
 * encoded in bounded memory. WAV files are read, down-mixed, checked and
 * resampled piece by piece. Compressed files (FLAC, MP3, Ogg, ...) go through
 * audio-decode's chunked decoders twice: once to count their samples (the
 * bitstream header needs the length before the first block is coded), once
 * to stream them; memory stays bounded at the cost of decoding twice.
 */
import { closeSync, createReadStream, fstatSync, openSync, readSync } from "node:fs";
import audioType from "audio-type";
import decode, { decodeChunked } from "audio-decode";
import { UserError } from "../util/errors.js";
import { checkInputPath, readInputFile } from "../util/files.js";
import { muteDecoderNoise } from "./decoder-noise.js";
import { checkFinite, decodeAudioBytes, decoderFailure, downmix, SAMPLE_RATE, signalErrors } from "./load.js";
import { CHUNK, resampledLength, StreamResampler } from "./resample.js";
import { oggProblem, statedLengthProblem, type ReadAt } from "./stated-length.js";
import { decodeWavFrames, isWav, parseWavHeader, unsupportedRate, type WavLayout } from "./wav.js";

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
  read(): Generator<Float32Array> | AsyncGenerator<Float32Array>;
}

/** Random access to an open file of `size` bytes. */
function fileReadAt(fd: number, size: number): ReadAt {
  return (pos, len) => {
    const b = new Uint8Array(Math.max(0, Math.min(len, size - pos)));
    let got = 0;
    while (got < b.length) {
      const n = readSync(fd, b, got, b.length - got, pos + got);
      if (n === 0) break;
      got += n;
    }
    return b.subarray(0, got);
  };
}

/** `check`'s finding on the file at `path`, as a one-line error. */
function checkFile(path: string, check: (readAt: ReadAt, size: number) => string | null): void {
  const fd = openSync(path, "r");
  let problem: string | null;
  try {
    const size = fstatSync(fd).size;
    problem = check(fileReadAt(fd, size), size);
  } finally {
    closeSync(fd);
  }
  if (problem) throw new UserError(`${path}: ${problem}`);
}

function wavSource(path: string, fd: number, size: number): MonoSource {
  const readAt = fileReadAt(fd, size);
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

/** Whole-file decoding, for formats without a chunked decoder. */
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

/** The decoded pieces of a compressed file read in 64 KiB pieces, decoder errors as one-line UserErrors. */
async function* decodedPieces(path: string, format: string): AsyncGenerator<{ channelData: Float32Array[]; sampleRate: number }> {
  const file = createReadStream(path, { highWaterMark: 1 << 16 });
  const unmute = muteDecoderNoise();
  try {
    for await (const piece of decodeChunked(file, format as Parameters<typeof decodeChunked>[1])) yield piece;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw decoderFailure(path, e);
  } finally {
    unmute();
    file.destroy();
  }
}

/** A compressed file decoded chunk by chunk (see the module comment), or null if its format has no chunked decoder. */
async function compressedSource(path: string, head: Uint8Array): Promise<MonoSource | null> {
  const format = audioType(head);
  if (!format || !(format in decode)) return null;
  checkFile(path, oggProblem);
  let sampleRate = 0;
  let length = 0;
  for await (const { channelData, sampleRate: rate } of decodedPieces(path, format)) {
    if (!channelData.length) continue;
    if (sampleRate && rate !== sampleRate) throw new UserError(`${path}: the sample rate changes within the file (${sampleRate} Hz, then ${rate} Hz)`);
    sampleRate = rate;
    length += channelData[0].length;
  }
  if (length === 0) throw new UserError(`${path}: decoder returned no audio`);
  checkFile(path, (readAt) => statedLengthProblem(readAt, length));
  const badRate = unsupportedRate(sampleRate);
  if (badRate) throw new UserError(`${path}: ${badRate}`);
  return {
    sampleRate,
    length,
    async *read() {
      let seen = 0;
      for await (const { channelData } of decodedPieces(path, format)) {
        if (!channelData.length) continue;
        seen += channelData[0].length;
        yield downmix(channelData);
      }
      if (seen !== length) throw new UserError(`${path}: decoded ${seen} samples on the second pass, ${length} on the first (did the file change while being read?)`);
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
  // Enough of the start to recognise a format behind an ID3 tag.
  const head = new Uint8Array(1 << 16);
  try {
    const size = fstatSync(fd).size;
    if (size === 0) throw new UserError(`${path}: file is empty`);
    const got = readSync(fd, head, 0, head.length, 0);
    if (isWav(head.subarray(0, got))) wav = wavSource(path, fd, size);
  } finally {
    if (!wav) closeSync(fd);
  }
  const closeFile = () => wav && closeSync(fd);
  const source = wav ?? (await compressedSource(path, head)) ?? (await decodedSource(path));
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
        for await (const x of source.read()) {
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
