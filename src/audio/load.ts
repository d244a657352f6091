/**
 * Loads any supported audio file as 24 kHz mono float32: WAV through our strict
 * reader, FLAC/MP3/Ogg (Vorbis, Opus) and friends through `audio-decode`
 * (wasm decoders shipped inside npm packages, no download step).
 */
import decodeAudio from "audio-decode";
import { UserError } from "../util/errors.js";
import { readInputFile } from "../util/files.js";
import { muteDecoderNoise } from "./decoder-noise.js";
import { resample } from "./resample.js";
import { oggProblem, statedLengthProblem, type ReadAt } from "./stated-length.js";
import { isWav, readWav, unsupportedRate, type DecodedAudio } from "./wav.js";

export const SAMPLE_RATE = 24000;

export interface LoadOptions {
  /** Reject signals that are exactly zero everywhere (default true). */
  rejectSilence?: boolean;
  sampleRate?: number;
}

export async function decodeAudioBytes(bytes: Uint8Array, source: string): Promise<DecodedAudio> {
  if (bytes.length === 0) throw new UserError(`${source}: file is empty`);
  if (isWav(bytes)) return readWav(bytes, source);
  const readAt: ReadAt = (pos, len) => bytes.subarray(pos, pos + len);
  const damaged = oggProblem(readAt, bytes.length);
  if (damaged) throw new UserError(`${source}: ${damaged}`);
  let decoded: { channelData: Float32Array[]; sampleRate: number };
  const unmute = muteDecoderNoise();
  try {
    decoded = await decodeAudio(bytes);
  } catch (e) {
    throw decoderFailure(source, e);
  } finally {
    unmute();
  }
  if (!decoded || !decoded.channelData?.length || !(decoded.sampleRate > 0))
    throw new UserError(`${source}: decoder returned no audio`);
  const badRate = unsupportedRate(decoded.sampleRate);
  if (badRate) throw new UserError(`${source}: ${badRate}`);
  const short = statedLengthProblem(readAt, decoded.channelData[0].length);
  if (short) throw new UserError(`${source}: ${short}`);
  return { sampleRate: decoded.sampleRate, channels: decoded.channelData };
}

/** The one-line error for a file a decoder could not read. */
export function decoderFailure(source: string, e: unknown): UserError {
  const why = (e as Error)?.message?.split("\n")[0] ?? "unknown error";
  return new UserError(`${source}: not a supported audio file (${why})`);
}

/** Averages the channels into one. */
export function downmix(channels: Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0];
  const n = channels[0].length;
  const out = new Float32Array(n);
  for (const ch of channels) for (let i = 0; i < n; i++) out[i] += ch[i];
  const g = 1 / channels.length;
  for (let i = 0; i < n; i++) out[i] *= g;
  return out;
}

/** The one-line errors for signals that are not audio (shared by whole-file and streamed input). */
export const signalErrors = {
  empty: (source: string) => new UserError(`${source}: contains no samples`),
  silent: (source: string) => new UserError(`${source}: signal is all zeros (digital silence)`),
};

/** Throws on a NaN or infinite sample (numbered from `firstIndex`); returns whether any sample is non-zero. */
export function checkFinite(x: Float32Array, source: string, firstIndex = 0): boolean {
  let nonzero = false;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!Number.isFinite(v)) throw new UserError(`${source}: sample ${firstIndex + i} is ${v} (NaN or infinite samples are not audio)`);
    if (v !== 0) nonzero = true;
  }
  return nonzero;
}

/** Checks a signal is usable: non-empty, finite and (optionally) not pure digital silence. */
export function validateSignal(x: Float32Array, source: string, rejectSilence = true): void {
  if (x.length === 0) throw signalErrors.empty(source);
  if (!checkFinite(x, source) && rejectSilence) throw signalErrors.silent(source);
}

export async function decodeToMono(bytes: Uint8Array, source: string, opts: LoadOptions = {}): Promise<Float32Array> {
  const target = opts.sampleRate ?? SAMPLE_RATE;
  const audio = await decodeAudioBytes(bytes, source);
  const mono = downmix(audio.channels);
  validateSignal(mono, source, opts.rejectSilence ?? true);
  return resample(mono, audio.sampleRate, target);
}

export async function loadAudio(path: string, opts: LoadOptions = {}): Promise<Float32Array> {
  return decodeToMono(await readInputFile(path), path, opts);
}
