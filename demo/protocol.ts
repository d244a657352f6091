/** Messages between the demo page and its codec worker (demo/worker.ts). */
import type { EngineInfo } from "../src/model/engine.js";

/** Decoder settings offered by the page: the CLI default (prior mel), LC (1 step), or N Euler steps. */
export type Mode = "prior" | "lc" | "8" | "32";

/** A log-mel spectrogram [frames, bands] (natural log), as the codec's front end computes it, and its picture. */
export interface Spectrogram {
  frames: number;
  bands: number;
  data: Float32Array;
  /** RGBA [bands rows, frames columns], painted on the scale shared by the run's spectrograms. */
  rgba: Uint8ClampedArray;
}

/** The browser's own Opus encoder on the same clip (WebCodecs), or why it could not run. */
export type OpusPeer =
  | { ok: true; bytes: number; packets: number; bitrate: number; audio: Float32Array; sampleRate: number; encodeMs: number; decodeMs: number }
  | { ok: false; why: string };

export interface RunResult {
  /** Duration of the coded clip in seconds (24 kHz samples / 24000). */
  seconds: number;
  fmac: Uint8Array;
  /** The decoded audio as 16-bit WAV bytes, for the download link. */
  wav: Uint8Array;
  stages: number;
  mode: Mode;
  decoded: Float32Array;
  /** Milliseconds; null when a .fmac was decoded (nothing was encoded here). */
  encodeMs: number | null;
  decodeMs: number;
  melIn: Spectrogram | null;
  melOut: Spectrogram;
  /** The Opus decode's, when there is one. */
  melOpus: Spectrogram | null;
  opus: OpusPeer | null;
}

export type ToWorker =
  | { type: "load"; base: string }
  | { type: "code"; id: number; audio: Float32Array; kbps: number; mode: Mode; opusBitrate: number }
  | { type: "decode"; id: number; fmac: Uint8Array; name: string; mode: Mode }
  | { type: "cancel"; id: number };

export type FromWorker =
  | { type: "loading"; done: number; total: number }
  | { type: "ready"; info: EngineInfo; webCodecs: boolean }
  | { type: "progress"; id: number; phase: string; done: number; total: number }
  | { type: "result"; id: number; result: RunResult }
  | { type: "cancelled"; id: number }
  | { type: "error"; id: number | null; message: string };
