/**
 * The peer codec: the same clip through the browser's own Opus encoder and
 * decoder (WebCodecs), so the page can put a familiar codec next to FlowMAC at
 * a similar bit rate. Runs wherever WebCodecs does (the worker here).
 */
import type { OpusPeer } from "./protocol.js";

export function hasWebCodecs(): boolean {
  return typeof AudioEncoder !== "undefined" && typeof AudioDecoder !== "undefined" && typeof AudioData !== "undefined";
}

export async function opusPeer(audio: Float32Array, sampleRate: number, bitrate: number): Promise<OpusPeer> {
  if (!hasWebCodecs()) return { ok: false, why: "this browser has no WebCodecs AudioEncoder/AudioDecoder" };
  const config: AudioEncoderConfig = { codec: "opus", sampleRate, numberOfChannels: 1, bitrate };
  const support = await AudioEncoder.isConfigSupported(config).catch(() => ({ supported: false }));
  if (!support.supported) return { ok: false, why: `this browser's AudioEncoder does not take Opus at ${sampleRate} Hz, ${bitrate / 1000} kbit/s` };

  const chunks: EncodedAudioChunk[] = [];
  let decoderConfig: AudioDecoderConfig = { codec: "opus", sampleRate, numberOfChannels: 1 };
  let failure: Error | null = null;
  const t0 = performance.now();
  const enc = new AudioEncoder({
    output: (chunk, meta) => {
      chunks.push(chunk);
      if (meta?.decoderConfig) decoderConfig = meta.decoderConfig;
    },
    error: (e) => (failure = e),
  });
  enc.configure(config);
  enc.encode(new AudioData({ format: "f32-planar", sampleRate, numberOfChannels: 1, numberOfFrames: audio.length, timestamp: 0, data: audio as Float32Array<ArrayBuffer> }));
  await enc.flush();
  enc.close();
  const t1 = performance.now();
  if (failure) return { ok: false, why: `Opus encoder: ${(failure as Error).message}` };

  const parts: Float32Array[] = [];
  let outRate = sampleRate;
  const dec = new AudioDecoder({
    output: (d) => {
      const a = new Float32Array(d.numberOfFrames);
      d.copyTo(a, { planeIndex: 0, format: "f32-planar" });
      outRate = d.sampleRate;
      parts.push(a);
      d.close();
    },
    error: (e) => (failure = e),
  });
  dec.configure(decoderConfig);
  for (const c of chunks) dec.decode(c);
  await dec.flush();
  dec.close();
  const t2 = performance.now();
  if (failure) return { ok: false, why: `Opus decoder: ${(failure as Error).message}` };

  // Raw Opus packets, no container: the fair count against .fmac's own 40 header+CRC bytes.
  const bytes = chunks.reduce((n, c) => n + c.byteLength, 0);
  const want = Math.round((audio.length * outRate) / sampleRate);
  const out = new Float32Array(want);
  let o = 0;
  for (const p of parts) {
    out.set(p.subarray(0, Math.max(0, want - o)), o);
    o += p.length;
  }
  return { ok: true, bytes, packets: chunks.length, bitrate, audio: out, sampleRate: outRate, encodeMs: t1 - t0, decodeMs: t2 - t1 };
}
