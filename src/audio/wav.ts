/**
 * Strict WAV reader and writer. We parse WAV ourselves rather than through a
 * generic decoder so that every malformed or lying header gets a precise error:
 * a codec must never silently decode garbage.
 */
import { softLimitSample } from "./limiter.js";
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

/** Null if we take input at `rate` (the resampler's limits), else why not. */
export function unsupportedRate(rate: number): string | null {
  return rate >= 1000 && rate <= 192000 ? null : `sample rate ${rate} Hz is out of range (1-192 kHz)`;
}

export function isWav(bytes: Uint8Array): boolean {
  const tag = String.fromCharCode(...bytes.subarray(0, 4));
  return bytes.length >= 12 && (tag === "RIFF" || tag === "RIFX" || tag === "RF64") && String.fromCharCode(...bytes.subarray(8, 12)) === "WAVE";
}

/** Where a WAV file's samples are and how they are encoded. */
export interface WavLayout {
  tag: number;
  channels: number;
  sampleRate: number;
  bits: number;
  blockAlign: number;
  /** Byte offset of the first sample frame. */
  dataStart: number;
  /** Whole sample frames in the data chunk. */
  frames: number;
}

/**
 * Parses and checks a WAV header. `read(pos, len)` returns up to len bytes of
 * the file at pos (fewer at its end), so the header can come from memory or
 * from a file read piecemeal; `size` is the file's length in bytes.
 */
export function parseWavHeader(read: (pos: number, len: number) => Uint8Array, size: number, source = "input"): WavLayout {
  const fail = (why: string): never => {
    throw new UserError(`${source}: invalid WAV file (${why})`);
  };
  if (!isWav(read(0, 12))) fail("no RIFF/WAVE header");
  if (String.fromCharCode(...read(0, 4)) === "RIFX") fail("big-endian RIFX is not supported");
  let pos = 12;
  let fmt: { tag: number; channels: number; rate: number; blockAlign: number; bits: number } | null = null;
  let dataStart = -1;
  let dataLen = 0;
  while (pos + 8 <= size) {
    const head = read(pos, 8);
    const id = String.fromCharCode(...head.subarray(0, 4));
    let chunk = new DataView(head.buffer, head.byteOffset, 8).getUint32(4, true);
    const body = pos + 8;
    if (id === "fmt ") {
      if (chunk < 16 || body + chunk > size) fail(`fmt chunk of ${chunk} bytes is too short or truncated`);
      const b = read(body, Math.min(chunk, 40));
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      let tag = view.getUint16(0, true);
      const channels = view.getUint16(2, true);
      const rate = view.getUint32(4, true);
      const blockAlign = view.getUint16(12, true);
      const bits = view.getUint16(14, true);
      if (tag === FORMAT_EXTENSIBLE) {
        if (chunk < 40) fail("WAVE_FORMAT_EXTENSIBLE fmt chunk is shorter than 40 bytes");
        tag = view.getUint16(24, true); // first two bytes of the sub-format GUID
      }
      fmt = { tag, channels, rate, blockAlign, bits };
    } else if (id === "data") {
      dataStart = body;
      const remaining = size - body;
      // 0 or 0xFFFFFFFF: streaming writers that could not seek back to fill the size in.
      if (chunk === 0xffffffff || (chunk === 0 && remaining > 0 && fmt !== null)) chunk = remaining;
      if (chunk > remaining) fail(`header declares ${chunk} bytes of audio but only ${remaining} are present (truncated file?)`);
      dataLen = chunk;
      break;
    }
    pos = body + chunk + (chunk & 1);
  }
  if (!fmt) fail("no fmt chunk");
  const f = fmt!;
  if (dataStart < 0) fail("no data chunk");
  if (f.channels < 1) fail("zero channels");
  const badRate = unsupportedRate(f.rate);
  if (badRate) fail(badRate);
  const supported: Record<number, number[]> = {
    [FORMAT_PCM]: [8, 16, 24, 32],
    [FORMAT_FLOAT]: [32, 64],
    [FORMAT_ALAW]: [8],
    [FORMAT_MULAW]: [8],
  };
  if (!(f.tag in supported)) fail(`unsupported encoding (format tag ${f.tag}); use PCM or float`);
  if (!supported[f.tag].includes(f.bits)) fail(`${f.bits}-bit samples are not supported for format tag ${f.tag}`);
  if (f.blockAlign !== (f.bits / 8) * f.channels)
    fail(`block align ${f.blockAlign} does not match ${f.channels} channels of ${f.bits}-bit samples`);
  return { tag: f.tag, channels: f.channels, sampleRate: f.rate, bits: f.bits, blockAlign: f.blockAlign, dataStart, frames: Math.floor(dataLen / f.blockAlign) };
}

/** Decodes whole sample frames (bytes holds frames x blockAlign bytes) into one array per channel. */
export function decodeWavFrames(bytes: Uint8Array, layout: WavLayout): Float32Array[] {
  const frames = Math.floor(bytes.length / layout.blockAlign);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bytesPerSample = layout.bits / 8;
  const channels = Array.from({ length: layout.channels }, () => new Float32Array(frames));
  for (let i = 0; i < frames; i++)
    for (let c = 0; c < layout.channels; c++) channels[c][i] = readSample(view, i * layout.blockAlign + c * bytesPerSample, layout.tag, layout.bits);
  return channels;
}

export function readWav(bytes: Uint8Array, source = "input"): DecodedAudio {
  const layout = parseWavHeader((pos, len) => bytes.subarray(pos, pos + len), bytes.length, source);
  const data = bytes.subarray(layout.dataStart, layout.dataStart + layout.frames * layout.blockAlign);
  return { sampleRate: layout.sampleRate, channels: decodeWavFrames(data, layout) };
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
  const header = wavHeader(channels.length, channels[0]?.length ?? 0, sampleRate, format);
  const body = encodeWavSamples(channels, format);
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
}

/** The 44-byte header of a WAV file of `frames` samples per channel. */
export function wavHeader(nch: number, frames: number, sampleRate: number, format: WavSampleFormat = "pcm16"): Uint8Array {
  const bps = format === "pcm16" ? 2 : 4;
  const dataLen = frames * nch * bps;
  const out = new Uint8Array(44);
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
  return out;
}

/** Interleaved sample bytes of a WAV data chunk (16-bit PCM clipped to [-1, 1], or float32). */
export function encodeWavSamples(channels: Float32Array[], format: WavSampleFormat = "pcm16"): Uint8Array {
  const nch = channels.length;
  const frames = channels[0]?.length ?? 0;
  const bps = format === "pcm16" ? 2 : 4;
  const out = new Uint8Array(frames * nch * bps);
  const v = new DataView(out.buffer);
  let p = 0;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nch; c++) {
      const x = channels[c][i];
      if (format === "pcm16") {
        const s = Math.max(-1, Math.min(1, softLimitSample(x))); // 16 bits cannot hold |x| > 1: limited softly, not clipped
        v.setInt16(p, Math.round(s < 0 ? s * 32768 : s * 32767), true);
      } else {
        v.setFloat32(p, x, true);
      }
      p += bps;
    }
  }
  return out;
}
