/**
 * The demo's codec worker: loads the model into onnxruntime-web once, then
 * codes (or decodes a .fmac) one clip at a time, posting progress after every
 * network call, and computes the log-mel spectrograms and the Opus peer, so
 * that the page's own thread only draws.
 */
import * as ort from "onnxruntime-web/wasm";
import { allocates, decodeAudio, DEFAULT_DECODE, encodeStream, encodeWav, FLOW_DECODE, LC_DECODE, openWebEngine, codeModelOf, readFmac, readFmacHeader, streamMismatch, writeFmac, type DecodeOptions, type OnnxEngine } from "../src/web.js";
import { MelFrontEnd } from "../src/audio/mel.js";
import { blockStarts } from "../src/model/pipeline.js";
import { framesFor } from "../src/bitstream/fmac.js";
import { Cancelled, gated, type Job } from "./gated-engine.js";
import { hasWebCodecs, opusPeer } from "./opus-peer.js";
import { paintSpectrogram, spectrogramTop } from "./spectrogram.js";
import type { FromWorker, Mode, OpusPeer, RunResult, Spectrogram, ToWorker } from "./protocol.js";

const SR = 24000;
let engine: OnnxEngine | null = null;
let frontEnd: MelFrontEnd | null = null;
const jobs = new Map<number, Job>();

function send(m: FromWorker, transfer: Transferable[] = []): void {
  postMessage(m, { transfer });
}

function decodeOptions(mode: Mode): DecodeOptions {
  if (mode === "prior") return { ...DEFAULT_DECODE };
  if (mode === "lc") return { ...DEFAULT_DECODE, ...LC_DECODE };
  return { ...DEFAULT_DECODE, ...FLOW_DECODE, steps: Number(mode) };
}

/** Network calls a decode makes: per block one prior, one per Euler step, one vocoder. */
const decodeCalls = (frames: number, o: DecodeOptions) => blockStarts(frames).length * (2 + o.steps);

/**
 * The Opus decode at the codec's rate, for its spectrogram only: browsers decode Opus at
 * 48 kHz. Averaging pairs is enough here: Opus at 6 kbit/s codes at most 8 kHz of band,
 * so nothing above the new 12 kHz limit folds back.
 */
function to24k(audio: Float32Array, rate: number): Float32Array | null {
  if (rate === SR) return audio.slice();
  if (rate !== 2 * SR) return null;
  const out = new Float32Array(audio.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = 0.5 * (audio[2 * i] + audio[2 * i + 1]);
  return out;
}

/** Log-mels of the clips to compare, painted on one scale (here, so the page's thread only copies pixels). */
function spectrograms(clips: Float32Array[]): Spectrogram[] {
  const mels = clips.map((c) => frontEnd!.compute(c));
  const top = spectrogramTop(mels.map((m) => m.data));
  return mels.map((m) => ({ ...m, rgba: paintSpectrogram(m.data, m.frames, m.bands, top) }));
}

async function run(id: number, job: Job, msg: Extract<ToWorker, { type: "code" | "decode" }>): Promise<{ result: RunResult; transfer: Transferable[] }> {
  const eng = gated(engine!, job);
  const o = decodeOptions(msg.mode);
  let calls = 0;
  let total = 0;
  let phase = "";
  job.onCall = () => send({ type: "progress", id, phase, done: ++calls, total });

  let fmac: Uint8Array;
  let input: Float32Array | null = null;
  let encodeMs: number | null = null;
  if (msg.type === "code") {
    input = msg.audio;
    const frames = framesFor(input.length);
    const { rvq } = engine!.info.codec;
    const bits = Math.log2(rvq.codebookSize);
    // The rate as the CLI codes it: allocated across frames where the model has stages to spare.
    const rate = { stages: Math.min(rvq.stages, Math.max(1, (msg.kbps * 1000) / ((SR / 512) * bits))), allocate: true };
    total = (allocates(rate, rvq) ? 2 : 1) * blockStarts(frames).length + decodeCalls(frames, o);
    phase = "encoding";
    const t0 = performance.now();
    fmac = writeFmac(await encodeStream(eng, input, rate));
    encodeMs = performance.now() - t0;
  } else {
    fmac = msg.fmac;
  }
  // Decoded from the bytes, as a receiver would: the .fmac round trip is part of the demo.
  const source = msg.type === "decode" ? msg.name : "bitstream";
  // The header first: an entropy-coded payload is read with the code tables of the model that wrote it.
  const mismatch = streamMismatch(readFmacHeader(fmac, source), engine!.info);
  if (mismatch) throw new Error(`${source}: ${mismatch}`);
  const stream = readFmac(fmac, source, codeModelOf(engine!.info));
  const why = streamMismatch(stream, engine!.info);
  if (why) throw new Error(`${source}: ${why}`);
  if (!input) total = decodeCalls(stream.frames, o);
  phase = "decoding";
  const t1 = performance.now();
  const decoded = await decodeAudio(eng, stream.codes, stream.frames, stream.stages, stream.length, { ...o, frameStages: stream.frameStages, predictive: stream.predictive });
  const decodeMs = performance.now() - t1;

  const wav = encodeWav([decoded], SR, "pcm16");
  let opus: OpusPeer | null = null;
  if (input && msg.type === "code") {
    send({ type: "progress", id, phase: "Opus (WebCodecs)", done: calls, total });
    opus = await opusPeer(input, SR, msg.opusBitrate).catch((e: Error) => ({ ok: false as const, why: `Opus: ${e.message}` }));
  }
  send({ type: "progress", id, phase: "spectrograms", done: calls, total });
  const opusAt24k = opus?.ok ? to24k(opus.audio, opus.sampleRate) : null;
  const [melOut, melIn = null, melOpus = null] = spectrograms([decoded, ...(input ? [input] : []), ...(opusAt24k ? [opusAt24k] : [])]);
  if (job.cancelled) throw new Cancelled();
  const result: RunResult = { seconds: stream.length / SR, fmac, wav, stages: stream.stages, mode: msg.mode, decoded, encodeMs, decodeMs, melIn, melOut, melOpus, opus };
  const transfer: Transferable[] = [fmac.buffer, wav.buffer, decoded.buffer].map((b) => b as ArrayBuffer);
  for (const m of [melOut, melIn, melOpus]) if (m) transfer.push(m.data.buffer as ArrayBuffer, m.rgba.buffer as ArrayBuffer);
  if (opus?.ok) transfer.push(opus.audio.buffer as ArrayBuffer);
  return { result, transfer };
}

onmessage = async (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  if (msg.type === "cancel") {
    const job = jobs.get(msg.id);
    if (job) job.cancelled = true;
    return;
  }
  if (msg.type === "load") {
    try {
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.wasmPaths = msg.base;
      frontEnd = await MelFrontEnd.fast();
      engine = await openWebEngine(ort as never, new URL("model/", msg.base).href, (done, total) => send({ type: "loading", done, total }));
      send({ type: "ready", info: engine.info, webCodecs: hasWebCodecs() });
    } catch (e) {
      send({ type: "error", id: null, message: `cannot load the model: ${(e as Error).message}` });
    }
    return;
  }
  const id = msg.id;
  const job: Job = { cancelled: false, onCall: () => {} };
  jobs.set(id, job);
  try {
    const { result, transfer } = await run(id, job, msg);
    send({ type: "result", id, result }, transfer);
  } catch (e) {
    if (e instanceof Cancelled) send({ type: "cancelled", id });
    else send({ type: "error", id, message: (e as Error).message });
  } finally {
    jobs.delete(id);
  }
};
