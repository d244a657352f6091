/**
 * Strict WAV reader and writer. We parse WAV ourselves rather than through a
 * generic decoder so that every malformed or lying header gets a precise error:
 * a codec must never silently decode garbage.
 */
import { UserError } from "../util/errors.js";

export interface DecodedAudio {
  sampleRate: number;
  /** One Float32Array per channel, samples nominally in [-1, 1]. */
  channels: Float32Array[];
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_ALAW = 6;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;

export function isWav(bytes: Uint8Array): boolean {
  const tag = String.fromCharCode(...bytes.subarray(0, 4));
  return bytes.length >= 12 && (tag === "RIFF" || tag === "RIFX" || tag === "RF64") && String.fromCharCode(...bytes.subarray(8, 12)) === "WAVE";
}

export function readWav(bytes: Uint8Array, source = "input"): DecodedAudio {
  const fail = (why: string): never => {
    throw new UserError(`${source}: invalid WAV file (${why})`);
  };
  if (!isWav(bytes)) fail("no RIFF/WAVE header");
  if (String.fromCharCode(...bytes.subarray(0, 4)) === "RIFX") fail("big-endian RIFX is not supported");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 12;
  let fmt: { tag: number; channels: number; rate: number; blockAlign: number; bits: number } | null = null;
  let dataStart = -1;
  let dataLen = 0;
  while (pos + 8 <= bytes.length) {
    const id = String.fromCharCode(...bytes.subarray(pos, pos + 4));
    let size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === "fmt ") {
      if (size < 16 || body + size > bytes.length) fail(`fmt chunk of ${size} bytes is too short or truncated`);
      let tag = view.getUint16(body, true);
      const channels = view.getUint16(body + 2, true);
      const rate = view.getUint32(body + 4, true);
      const blockAlign = view.getUint16(body + 12, true);
      const bits = view.getUint16(body + 14, true);
      if (tag === FORMAT_EXTENSIBLE) {
        if (size < 40) fail("WAVE_FORMAT_EXTENSIBLE fmt chunk is shorter than 40 bytes");
        tag = view.getUint16(body + 24, true); // first two bytes of the sub-format GUID
      }
      fmt = { tag, channels, rate, blockAlign, bits };
    } else if (id === "data") {
      dataStart = body;
      const remaining = bytes.length - body;
      // 0 or 0xFFFFFFFF: streaming writers that could not seek back to fill the size in.
      if (size === 0xffffffff || (size === 0 && remaining > 0 && fmt !== null)) size = remaining;
      if (size > remaining) fail(`header declares ${size} bytes of audio but only ${remaining} are present (truncated file?)`);
      dataLen = size;
      break;
    }
    pos = body + size + (size & 1);
  }
  if (!fmt) fail("no fmt chunk");
  const f = fmt!;
  if (dataStart < 0) fail("no data chunk");
  if (f.channels < 1) fail("zero channels");
  if (f.rate < 1000 || f.rate > 192000) fail(`sample rate ${f.rate} Hz is out of range (1-192 kHz)`); // the resampler's limits
  const supported: Record<number, number[]> = {
    [FORMAT_PCM]: [8, 16, 24, 32],
    [FORMAT_FLOAT]: [32, 64],
    [FORMAT_ALAW]: [8],
    [FORMAT_MULAW]: [8],
  };
  if (!(f.tag in supported)) fail(`unsupported encoding (format tag ${f.tag}); use PCM or float`);
  if (!supported[f.tag].includes(f.bits)) fail(`${f.bits}-bit samples are not supported for format tag ${f.tag}`);
  const bytesPerSample = f.bits / 8;
  if (f.blockAlign !== bytesPerSample * f.channels)
    fail(`block align ${f.blockAlign} does not match ${f.channels} channels of ${f.bits}-bit samples`);
  const frames = Math.floor(dataLen / f.blockAlign);
  const channels = Array.from({ length: f.channels }, () => new Float32Array(frames));
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < f.channels; c++) {
      const p = dataStart + i * f.blockAlign + c * bytesPerSample;
      channels[c][i] = readSample(view, p, f.tag, f.bits);
    }
  }
  return { sampleRate: f.rate, channels };
}

function readSample(view: DataView, p: number, tag: number, bits: number): number {
  if (tag === FORMAT_FLOAT) return bits === 32 ? view.getFloat32(p, true) : view.getFloat64(p, true);
  if (tag === FORMAT_MULAW) return muLawDecode(view.getUint8(p));
  if (tag === FORMAT_ALAW) return aLawDecode(view.getUint8(p));
  switch (bits) {
    case 8:
      return (view.getUint8(p) - 128) / 128;
    case 16:
      return view.getInt16(p, true) / 32768;
    case 24: {
      const v = view.getUint8(p) | (view.getUint8(p + 1) << 8) | (view.getInt8(p + 2) << 16);
      return v / 8388608;
    }
    default:
      return view.getInt32(p, true) / 2147483648;
  }
}

function muLawDecode(u: number): number {
  u = ~u & 0xff;
  const sign = u & 0x80;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return (sign ? -magnitude : magnitude) / 32768;
}

function aLawDecode(a: number): number {
  a ^= 0x55;
  const sign = a & 0x80;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  let magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return (sign ? magnitude : -magnitude) / 32768;
}

export type WavSampleFormat = "pcm16" | "float32";

/** Encodes mono or multichannel audio as a WAV file. PCM output is clipped and rounded. */
export function encodeWav(channels: Float32Array[], sampleRate: number, format: WavSampleFormat = "pcm16"): Uint8Array {
  const nch = channels.length;
  const frames = channels[0]?.length ?? 0;
  const bps = format === "pcm16" ? 2 : 4;
  const dataLen = frames * nch * bps;
  const out = new Uint8Array(44 + dataLen);
  const v = new DataView(out.buffer);
  const ascii = (p: number, s: string) => [...s].forEach((ch, i) => (out[p + i] = ch.charCodeAt(0)));
  ascii(0, "RIFF");
  v.setUint32(4, 36 + dataLen, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, format === "pcm16" ? FORMAT_PCM : FORMAT_FLOAT, true);
  v.setUint16(22, nch, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * nch * bps, true);
  v.setUint16(32, nch * bps, true);
  v.setUint16(34, bps * 8, true);
  ascii(36, "data");
  v.setUint32(40, dataLen, true);
  let p = 44;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nch; c++) {
      const x = channels[c][i];
      if (format === "pcm16") {
        const s = Math.max(-1, Math.min(1, x));
        v.setInt16(p, Math.round(s < 0 ? s * 32768 : s * 32767), true);
      } else {
        v.setFloat32(p, x, true);
      }
      p += bps;
    }
  }
  return out;
}
