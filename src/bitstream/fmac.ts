/**
 * The .fmac bitstream (specified byte by byte in docs/bitstream.md): a 36-byte
 * little-endian header, the RVQ indices packed frame by frame at log2(codebook
 * size) bits each, and a CRC-32 of everything before it. Version 1: every frame
 * carries the same stages. Version 2 (rate-allocated): each frame carries its
 * own number of stages, coded as a change from the previous frame's
 * (stage-counts.ts) before its indices. Version 3 (entropy-coded): version 2's
 * payload range-coded, each index of the stages the model has code tables for
 * (code-model.ts) given the previous frame's index at its stage, the rest uniform.
 */
import { UserError } from "../util/errors.js";
import { crc32 } from "./crc32.js";
import { streamTable, type CodeModel } from "./code-model.js";
import { RangeDecoder, RangeEncoder } from "./range-coder.js";
import { bigChangeBits, BitReader, BitWriter, readChange, writeChange } from "./stage-counts.js";

export const MAGIC = "FMAC";
export const VERSION = 1;
/** The version of rate-allocated streams (per-frame stage counts). */
export const VERSION_ALLOCATED = 2;
/** The version of entropy-coded streams: version 2's content, range-coded under the model's code tables. */
export const VERSION_ENTROPY = 3;
/** Header flag (byte 5) of a predictive stream (versions 1 and 2): each frame's indices code the error of a prediction from the last decoded frame (model/predictive-rvq.ts), with the model's predictive codebooks. */
export const FLAG_PREDICTIVE = 1;
export const HEADER_BYTES = 36;
export const CRC_BYTES = 4;
export const HOP = 512;
/** The one sample rate version 1 codes. */
export const SAMPLE_RATE = 24000;

export interface FmacStream {
  /** 16 hex digits: the first 8 bytes of the SHA-256 of the codec weights. */
  modelId: string;
  sampleRate: number;
  stages: number;
  bitsPerIndex: number;
  /** Samples of the (resampled) input; the decoder trims its output to this. */
  length: number;
  frames: number;
  /** Indices, frame-major: codes[t * stages + s] (0 beyond a frame's count). */
  codes: Uint16Array;
  /** Rate-allocated streams (version 2): the stages frame t carries, 1..stages. */
  frameStages?: Uint8Array;
  /** Version 2: the count the first frame's change is from (1..stages). */
  baseStages?: number;
  /** Version 3 (with frameStages): the code tables the indices are coded with: the model's. */
  codeModel?: CodeModel;
  /** Versions 1 and 2 with FLAG_PREDICTIVE: the indices are the model's predictive RVQ's. */
  predictive?: boolean;
}

/** Frames a signal of `length` samples has: floor(length / hop) + 1 (centred STFT). */
export function framesFor(length: number): number {
  return Math.floor(length / HOP) + 1;
}

export function payloadBytes(frames: number, stages: number, bits: number): number {
  return Math.ceil((frames * stages * bits) / 8);
}

/**
 * The payload of a version 2 stream: per frame, the count's change and then its
 * indices; of version 3 the same, range-coded, each index under its code table where the model has one.
 */
function allocatedPayload(s: FmacStream): Uint8Array {
  const counts = s.frameStages!;
  if (counts.length !== s.frames) throw new Error(`expected ${s.frames} stage counts, got ${counts.length}`);
  const base = s.baseStages ?? s.stages;
  if (!(base >= 1 && base <= s.stages)) throw new Error(`base stage count ${base} outside 1..${s.stages}`);
  const m = s.codeModel;
  if (m && m.symbols !== 2 ** s.bitsPerIndex) throw new Error(`code tables for ${m.symbols} entries, indices of ${s.bitsPerIndex} bits`);
  const w = m ? new RangeEncoder() : new BitWriter();
  const width = bigChangeBits(s.stages);
  let prev = base;
  for (let t = 0; t < s.frames; t++) {
    const n = counts[t];
    if (!(n >= 1 && n <= s.stages)) throw new Error(`frame ${t} carries ${n} stages, outside 1..${s.stages}`);
    writeChange(w, n - prev, width);
    for (let k = 0; k < n; k++) {
      const c = s.codes[t * s.stages + k];
      if (w instanceof RangeEncoder) {
        const tab = streamTable(m!, s.codes, counts, s.stages, t, k);
        if (tab) tab.encode(w, c);
        else w.writeUniform(c, s.bitsPerIndex);
      } else w.write(c, s.bitsPerIndex);
    }
    prev = n;
  }
  return w.finish();
}

export function writeFmac(s: FmacStream): Uint8Array {
  if (!/^[0-9a-f]{16}$/.test(s.modelId)) throw new Error(`model id must be 16 hex digits, got ${s.modelId}`);
  if (s.codes.length !== s.frames * s.stages) throw new Error(`expected ${s.frames * s.stages} codes, got ${s.codes.length}`);
  // packBits keeps the low bits only: a code that does not fit would be written as another one.
  for (const c of s.codes) if (c >= 2 ** s.bitsPerIndex) throw new Error(`code ${c} does not fit in ${s.bitsPerIndex} bits`);
  const allocated = s.frameStages ? allocatedPayload(s) : null;
  const payload = allocated ? allocated.length : payloadBytes(s.frames, s.stages, s.bitsPerIndex);
  const out = new Uint8Array(HEADER_BYTES + payload + CRC_BYTES);
  const v = new DataView(out.buffer);
  out.set([...MAGIC].map((c) => c.charCodeAt(0)), 0);
  if (s.codeModel && !allocated) throw new Error("code tables are for rate-allocated streams (frameStages)");
  v.setUint8(4, allocated ? (s.codeModel ? VERSION_ENTROPY : VERSION_ALLOCATED) : VERSION);
  if (s.predictive && s.codeModel) throw new Error("predictive streams are not entropy-coded (the code tables are the plain RVQ's)");
  v.setUint8(5, s.predictive ? FLAG_PREDICTIVE : 0);
  v.setUint16(6, HEADER_BYTES, true);
  for (let i = 0; i < 8; i++) out[8 + i] = parseInt(s.modelId.slice(2 * i, 2 * i + 2), 16);
  v.setUint32(16, s.sampleRate, true);
  v.setUint8(20, s.stages);
  v.setUint8(21, s.bitsPerIndex);
  v.setUint16(22, allocated ? (s.baseStages ?? s.stages) : 0, true);
  v.setBigUint64(24, BigInt(s.length), true);
  v.setUint32(32, s.frames, true);
  if (allocated) out.set(allocated, HEADER_BYTES);
  else packBits(s.codes, s.bitsPerIndex, out.subarray(HEADER_BYTES, HEADER_BYTES + payload));
  v.setUint32(HEADER_BYTES + payload, crc32(out.subarray(0, HEADER_BYTES + payload)), true);
  return out;
}

/** A stream's header fields, read before its payload: which model it needs (the payload of version 3 needs that model's code tables). */
export type FmacHeader = Omit<FmacStream, "codes" | "frameStages" | "baseStages" | "codeModel" | "predictive"> & { version: number };

/** The header of a .fmac file, checked as readFmac checks it, the payload and CRC left unread. */
export function readFmacHeader(bytes: Uint8Array, source = "input"): FmacHeader {
  const fail = (why: string): never => {
    throw new UserError(`${source}: ${why}`);
  };
  if (bytes.length < 4 || String.fromCharCode(...bytes.subarray(0, 4)) !== MAGIC) fail("not a .fmac file (bad magic)");
  if (bytes.length < HEADER_BYTES + CRC_BYTES) fail(`truncated .fmac file (${bytes.length} bytes, the header alone is ${HEADER_BYTES})`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getUint8(4);
  if (version !== VERSION && version !== VERSION_ALLOCATED && version !== VERSION_ENTROPY) fail(`.fmac version ${version} is not supported (this decoder reads versions ${VERSION} to ${VERSION_ENTROPY})`);
  const headerBytes = v.getUint16(6, true);
  if (headerBytes !== HEADER_BYTES) fail(`corrupt .fmac header (header length ${headerBytes})`);
  const modelId = Array.from(bytes.subarray(8, 16), (b) => b.toString(16).padStart(2, "0")).join("");
  const sampleRate = v.getUint32(16, true);
  const stages = v.getUint8(20);
  const bitsPerIndex = v.getUint8(21);
  const length = Number(v.getBigUint64(24, true));
  const frames = v.getUint32(32, true);
  if (stages < 1 || stages > 64) fail(`corrupt .fmac header (${stages} stages)`);
  if (bitsPerIndex < 1 || bitsPerIndex > 16) fail(`corrupt .fmac header (${bitsPerIndex} bits per index)`);
  if (!Number.isSafeInteger(length) || length < 1 || length > 2 ** 40) fail(`corrupt .fmac header (length ${length})`);
  if (frames !== framesFor(length)) fail(`corrupt .fmac header (${frames} frames for ${length} samples)`);
  return { version, modelId, sampleRate, stages, bitsPerIndex, length, frames };
}

/**
 * Parses and fully validates a .fmac file; every failure is a one-line UserError
 * naming `source`. A version 3 stream needs the code tables of the model that
 * wrote it (`codeModel`; check the header's model id first, readFmacHeader).
 */
export function readFmac(bytes: Uint8Array, source = "input", codeModel?: CodeModel): FmacStream {
  const fail = (why: string): never => {
    throw new UserError(`${source}: ${why}`);
  };
  const { version, modelId, sampleRate, stages, bitsPerIndex, length, frames } = readFmacHeader(bytes, source);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (version === VERSION_ALLOCATED) return readAllocated(bytes, v, { modelId, sampleRate, stages, bitsPerIndex, length, frames }, fail);
  if (version === VERSION_ENTROPY) {
    if (!codeModel) fail(`entropy-coded .fmac (version ${VERSION_ENTROPY}): reading it needs the code tables of the model that wrote it (id ${modelId}), which this model does not carry`);
    if (codeModel!.symbols !== 2 ** bitsPerIndex) fail(`corrupt .fmac header (${bitsPerIndex} bits per index; the code tables have ${codeModel!.symbols} entries)`);
    return readAllocated(bytes, v, { modelId, sampleRate, stages, bitsPerIndex, length, frames, codeModel }, fail);
  }
  const payload = payloadBytes(frames, stages, bitsPerIndex);
  const expected = HEADER_BYTES + payload + CRC_BYTES;
  if (bytes.length < expected) fail(`truncated .fmac file (${bytes.length} of ${expected} bytes)`);
  if (bytes.length > expected) fail(`corrupt .fmac file (${bytes.length - expected} unexpected trailing bytes)`);
  const stored = v.getUint32(HEADER_BYTES + payload, true);
  if (crc32(bytes.subarray(0, HEADER_BYTES + payload)) !== stored) fail("corrupt .fmac file (CRC mismatch)");
  if (sampleRate !== SAMPLE_RATE) fail(`unsupported sample rate ${sampleRate} in .fmac header`);
  // Reserved fields and pad bits are 0 in version 1: a file that sets them means something this reader would ignore.
  const flags = v.getUint8(5);
  const reserved = v.getUint16(22, true);
  if ((flags & ~FLAG_PREDICTIVE) !== 0 || reserved !== 0) fail(`corrupt .fmac header (reserved ${flags & ~FLAG_PREDICTIVE ? `flags 0x${flags.toString(16)}` : `bytes 22-23 0x${reserved.toString(16)}`}; version ${VERSION} defines only the predictive flag)`);
  const padBits = payload * 8 - frames * stages * bitsPerIndex;
  if (padBits > 0 && bytes[HEADER_BYTES + payload - 1] >> (8 - padBits) !== 0) fail("corrupt .fmac file (pad bits after the last index are not 0)");
  const codes = unpackBits(bytes.subarray(HEADER_BYTES, HEADER_BYTES + payload), bitsPerIndex, frames * stages);
  return { modelId, sampleRate, stages, bitsPerIndex, length, frames, codes, ...(flags & FLAG_PREDICTIVE ? { predictive: true } : {}) };
}

/**
 * The rest of a version 2 or 3 stream, header fields read: the payload's length
 * follows from the counts, so the CRC (the last 4 bytes) is checked first and
 * the payload must then end exactly where its last index (version 3: the range
 * coder's flush) does.
 */
function readAllocated(bytes: Uint8Array, v: DataView, h: Omit<FmacStream, "codes">, fail: (why: string) => never): FmacStream {
  const { stages, bitsPerIndex, frames } = h;
  const end = bytes.length - CRC_BYTES;
  if (crc32(bytes.subarray(0, end)) !== v.getUint32(end, true)) fail("corrupt or truncated .fmac file (CRC mismatch)");
  if (h.sampleRate !== SAMPLE_RATE) fail(`unsupported sample rate ${h.sampleRate} in .fmac header`);
  const version = v.getUint8(4);
  const flags = v.getUint8(5);
  const allowed = version === VERSION_ALLOCATED ? FLAG_PREDICTIVE : 0;
  if ((flags & ~allowed) !== 0) fail(`corrupt .fmac header (reserved flags 0x${flags.toString(16)}; version ${version} defines ${allowed ? "only the predictive flag" : "none"})`);
  const base = v.getUint8(22);
  if (base < 1 || base > stages || v.getUint8(23) !== 0) fail(`corrupt .fmac header (base stage count ${base}, byte 23 ${v.getUint8(23)})`);
  const data = bytes.subarray(HEADER_BYTES, end);
  const m = h.codeModel;
  const r = m ? new RangeDecoder(data) : new BitReader(data);
  const width = bigChangeBits(stages);
  const codes = new Uint16Array(frames * stages);
  const frameStages = new Uint8Array(frames);
  // Version 3: a value no symbol holds is corrupt data; reading past the end, a truncation.
  const lost = (t: number) => (r instanceof RangeDecoder && r.overrun === 0 ? `corrupt .fmac file (undecodable data in frame ${t} of ${frames})` : `truncated .fmac file (the data ends in frame ${t} of ${frames})`);
  let prev = base;
  for (let t = 0; t < frames; t++) {
    const d = readChange(r, width);
    if (d === null) fail(lost(t));
    const n = prev + d!;
    if (n < 1 || n > stages) fail(`corrupt .fmac file (frame ${t} would carry ${n} stages, outside 1..${stages})`);
    for (let k = 0; k < n; k++) {
      let c: number | null;
      if (r instanceof RangeDecoder) {
        const tab = streamTable(m!, codes, frameStages, stages, t, k);
        c = tab ? tab.decode(r) : r.readUniform(bitsPerIndex);
      } else c = r.read(bitsPerIndex);
      if (c === null) fail(lost(t));
      codes[t * stages + k] = c!;
    }
    frameStages[t] = n;
    prev = n;
  }
  if (r instanceof RangeDecoder) {
    if (r.overrun > 0) fail(`truncated .fmac file (the data ends ${r.overrun} bytes early)`);
    if (r.consumed < data.length) fail(`corrupt .fmac file (${data.length - r.consumed} unexpected trailing bytes)`);
    const s = { ...h, codes, frameStages, baseStages: base, codeModel: m };
    // Strict, as the other versions are: only the bytes the encoder writes for these symbols (the flush's low bytes are otherwise free).
    const canonical = allocatedPayload(s);
    if (canonical.length !== data.length || canonical.some((b, i) => b !== data[i])) fail("corrupt .fmac file (the range-coded data is not what the encoder writes for it)");
    return s;
  }
  const predictive = flags & FLAG_PREDICTIVE ? { predictive: true } : {};
  const used = Math.ceil(r.position / 8);
  if (end - HEADER_BYTES > used) fail(`corrupt .fmac file (${end - HEADER_BYTES - used} unexpected trailing bytes)`);
  if (r.read(used * 8 - r.position) !== 0) fail("corrupt .fmac file (pad bits after the last index are not 0)");
  return { ...h, codes, frameStages, baseStages: base, ...predictive };
}

/** Packs values LSB-first into a byte stream. */
export function packBits(values: ArrayLike<number>, bits: number, out: Uint8Array): void {
  if (bits === 8) {
    for (let i = 0; i < values.length; i++) out[i] = values[i];
    return;
  }
  let acc = 0;
  let n = 0;
  let p = 0;
  const mask = (1 << bits) - 1;
  for (let i = 0; i < values.length; i++) {
    acc |= (values[i] & mask) << n;
    n += bits;
    while (n >= 8) {
      out[p++] = acc & 0xff;
      acc >>>= 8;
      n -= 8;
    }
  }
  if (n > 0) out[p] = acc & 0xff;
}

export function unpackBits(bytes: Uint8Array, bits: number, count: number): Uint16Array {
  const out = new Uint16Array(count);
  if (bits === 8) {
    out.set(bytes.subarray(0, count));
    return out;
  }
  let acc = 0;
  let n = 0;
  let p = 0;
  const mask = (1 << bits) - 1;
  for (let i = 0; i < count; i++) {
    while (n < bits) {
      acc |= bytes[p++] << n;
      n += 8;
    }
    out[i] = acc & mask;
    acc >>>= bits;
    n -= bits;
  }
  return out;
}
