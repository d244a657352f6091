/**
 * Mutated .fmac files, deterministic from a seed. Random byte damage almost
 * always dies at the CRC, so about half the mutants are "resealed": a header
 * field or the payload is edited and the CRC recomputed, or a whole header is
 * assembled from edited fields with a payload of the size it implies, so that
 * they reach the checks behind the CRC (field ranges, the model's stages, bits
 * and id, the decoders).
 */
import type { CodeModel } from "../../src/bitstream/code-model.js";
import { CRC_BYTES, framesFor, HEADER_BYTES, HOP, packBits, payloadBytes, readFmac, type FmacStream } from "../../src/bitstream/fmac.js";
import { crc32 } from "../../src/bitstream/crc32.js";
import type { Rng } from "../../src/nn/rng.js";
import { CORE } from "../../src/model/pipeline.js";
import { concat, extend, fieldValue, flipBits, overwriteBytes, pick, randomBytes, truncate, weightedIndex } from "./bytes.js";

export interface Mutant {
  kind: string;
  bytes: Uint8Array;
}

/** The header fields as written, wider than FmacStream allows (a mutant may hold any value). */
interface RawHeader {
  magic: Uint8Array;
  version: number;
  flags: number;
  headerBytes: number;
  modelId: Uint8Array;
  sampleRate: number;
  stages: number;
  bits: number;
  reserved: number;
  length: bigint;
  frames: number;
}

/** Above this a "sized" payload is not built (the file would be huge); a small random one stands in. */
const MAX_PAYLOAD = 1 << 16;
const LENGTHS = [1, 2, 511, 512, 513, 1023, 1024, 12000, 24000, CORE * HOP - 1, CORE * HOP, CORE * HOP + 1];
const HUGE_LENGTHS = [0n, 2n ** 40n - 1n, 2n ** 40n, 2n ** 40n + 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];

function headerOf(bytes: Uint8Array): RawHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    magic: bytes.slice(0, 4),
    version: v.getUint8(4),
    flags: v.getUint8(5),
    headerBytes: v.getUint16(6, true),
    modelId: bytes.slice(8, 16),
    sampleRate: v.getUint32(16, true),
    stages: v.getUint8(20),
    bits: v.getUint8(21),
    reserved: v.getUint16(22, true),
    length: v.getBigUint64(24, true),
    frames: v.getUint32(32, true),
  };
}

/** Header + payload + the CRC of both: a file that passes the CRC whatever its fields say. */
function assemble(h: RawHeader, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.length + CRC_BYTES);
  const v = new DataView(out.buffer);
  out.set(h.magic, 0);
  v.setUint8(4, h.version);
  v.setUint8(5, h.flags);
  v.setUint16(6, h.headerBytes, true);
  out.set(h.modelId, 8);
  v.setUint32(16, h.sampleRate, true);
  v.setUint8(20, h.stages);
  v.setUint8(21, h.bits);
  v.setUint16(22, h.reserved, true);
  v.setBigUint64(24, h.length, true);
  v.setUint32(32, h.frames, true);
  out.set(payload, HEADER_BYTES);
  return reseal(out);
}

/** Recomputes the CRC over everything before the last CRC_BYTES (where a valid file keeps it). */
export function reseal(b: Uint8Array): Uint8Array {
  if (b.length < CRC_BYTES) return b;
  const out = Uint8Array.from(b);
  new DataView(out.buffer).setUint32(out.length - CRC_BYTES, crc32(out.subarray(0, out.length - CRC_BYTES)), true);
  return out;
}

/** A payload for `h`: the base's codes (cycled, masked to the bit width) or random bits, pad bits zero or not. */
function payloadFor(rng: Rng, h: RawHeader, base: FmacStream): Uint8Array {
  const frames = h.frames;
  const size = h.stages >= 1 && h.bits >= 1 && h.bits <= 16 ? payloadBytes(frames, h.stages, h.bits) : -1;
  if (size < 0 || size > MAX_PAYLOAD) return randomBytes(rng, rng.int(256));
  const count = frames * h.stages;
  const out = new Uint8Array(size);
  if (rng.uniform() < 0.6) {
    const codes = new Uint16Array(count);
    for (let i = 0; i < count; i++) codes[i] = base.codes[i % base.codes.length] & ((1 << h.bits) - 1);
    packBits(codes, h.bits, out);
  } else {
    out.set(randomBytes(rng, size));
    const used = (count * h.bits) % 8;
    if (used && rng.uniform() < 0.5) out[size - 1] &= (1 << used) - 1; // zero pad bits, as a writer would
  }
  return out;
}

function editedLength(rng: Rng, current: bigint): bigint {
  const r = rng.uniform();
  if (r < 0.1) return pick(rng, HUGE_LENGTHS);
  if (r < 0.45) return BigInt(pick(rng, LENGTHS));
  if (r < 0.8) return BigInt(Math.max(0, Number(current) + (rng.int(2) ? 1 : -1) * (1 + rng.int(rng.int(2) ? 8 : 2048))));
  return BigInt(1 + rng.int(48000));
}

type FieldEdit = (rng: Rng, h: RawHeader) => void;

/** One edit per header field; `length` and `stages` favour values that keep the file decodable. */
const FIELD_EDITS: Record<string, FieldEdit> = {
  magic: (rng, h) => (h.magic = flipBits(rng, h.magic, 1)),
  version: (rng, h) => (h.version = fieldValue(rng, 8, h.version)),
  flags: (rng, h) => (h.flags = 1 + rng.int(255)),
  headerBytes: (rng, h) => (h.headerBytes = fieldValue(rng, 16, h.headerBytes)),
  modelId: (rng, h) => (h.modelId = flipBits(rng, h.modelId, 1)),
  sampleRate: (rng, h) => (h.sampleRate = rng.int(2) ? pick(rng, [0, 16000, 23999, 24001, 44100, 48000]) : fieldValue(rng, 32, h.sampleRate)),
  stages: (rng, h) => (h.stages = rng.int(2) ? 1 + rng.int(8) : fieldValue(rng, 8, h.stages)),
  bits: (rng, h) => (h.bits = rng.int(2) ? rng.int(18) : fieldValue(rng, 8, h.bits)),
  reserved: (rng, h) => (h.reserved = 1 + rng.int(0xffff)),
  length: (rng, h) => (h.length = editedLength(rng, h.length)),
  frames: (rng, h) => (h.frames = fieldValue(rng, 32, h.frames)),
};
const FIELD_NAMES = Object.keys(FIELD_EDITS);

/** Header fields edited, frames kept consistent with the length (mostly), payload of the implied size (mostly), CRC valid. */
function reshaped(rng: Rng, base: FmacStream, bytes: Uint8Array): Uint8Array {
  const h = headerOf(bytes);
  const edits = 1 + rng.int(rng.int(2) ? 1 : 3);
  let framesEdited = false;
  for (let i = 0; i < edits; i++) {
    const name = pick(rng, FIELD_NAMES);
    framesEdited ||= name === "frames";
    FIELD_EDITS[name](rng, h);
  }
  if (!framesEdited && rng.uniform() < 0.85 && h.length < 2n ** 53n) h.frames = Math.min(0xffffffff, framesFor(Number(h.length)));
  const payload = rng.uniform() < 0.85 ? payloadFor(rng, h, base) : bytes.subarray(HEADER_BYTES, bytes.length - CRC_BYTES);
  return assemble(h, payload);
}

/** The same stream with a length moved within its last frame: valid, decodes to the new length. */
function lengthInFrame(rng: Rng, _base: FmacStream, bytes: Uint8Array): Uint8Array {
  const h = headerOf(bytes);
  const first = (h.frames - 1) * HOP;
  h.length = BigInt(Math.max(1, first + rng.int(HOP)));
  return assemble(h, bytes.subarray(HEADER_BYTES, bytes.length - CRC_BYTES));
}

/** The stream re-packed with its first k stages: what an encoder at a lower rate writes. */
function fewerStages(rng: Rng, base: FmacStream, bytes: Uint8Array): Uint8Array {
  const h = headerOf(bytes);
  const k = 1 + rng.int(base.stages);
  const codes = new Uint16Array(base.frames * k);
  for (let t = 0; t < base.frames; t++) for (let s = 0; s < k; s++) codes[t * k + s] = base.codes[t * base.stages + s];
  const payload = new Uint8Array(payloadBytes(base.frames, k, base.bitsPerIndex));
  packBits(codes, base.bitsPerIndex, payload);
  h.stages = k;
  return assemble(h, payload);
}

/** Damage inside the payload (indices changed, pad bits set), CRC recomputed. */
function payloadEdit(rng: Rng, _base: FmacStream, bytes: Uint8Array): Uint8Array {
  const end = bytes.length - CRC_BYTES;
  const damaged = rng.int(2) ? flipBits(rng, bytes, 1 + rng.int(4), HEADER_BYTES, end) : overwriteBytes(rng, bytes, 1 + rng.int(4), HEADER_BYTES, end);
  return reseal(damaged);
}

type Mutator = (rng: Rng, base: FmacStream, bytes: Uint8Array) => Uint8Array;

/** Mutation classes and their weights (resealed ones about half). */
const MUTATORS: [string, number, Mutator][] = [
  ["bit-flips", 12, (rng, _s, b) => flipBits(rng, b, 1 + rng.int(rng.int(2) ? 2 : 16))],
  ["byte-overwrites", 8, (rng, _s, b) => overwriteBytes(rng, b, 1 + rng.int(8))],
  ["header-overwrites", 8, (rng, _s, b) => overwriteBytes(rng, b, 1 + rng.int(4), 0, HEADER_BYTES)],
  ["truncation", 8, (rng, _s, b) => truncate(rng, b)],
  ["extension", 7, (rng, _s, b) => extend(rng, b)],
  ["garbage", 3, (rng, _s, b) => (rng.int(2) ? randomBytes(rng, rng.int(2 * b.length)) : concat(b.slice(0, 4), randomBytes(rng, rng.int(2 * b.length))))],
  ["resealed-truncation", 4, (rng, _s, b) => reseal(truncate(rng, b))],
  ["resealed-extension", 4, (rng, _s, b) => reseal(extend(rng, b))],
  ["resealed-fields", 30, reshaped],
  ["resealed-payload", 6, payloadEdit],
  ["length-in-frame", 3, lengthInFrame],
  ["fewer-stages", 2, fewerStages],
];

export interface FmacBase {
  stream: FmacStream;
  bytes: Uint8Array;
}

/** `codeModel`: the tables a version 3 stream is read with (its model's). */
export function fmacBase(bytes: Uint8Array, codeModel?: CodeModel): FmacBase {
  return { stream: readFmac(bytes, "base", codeModel), bytes };
}

/** `count` mutants of the bases, the same ones for the same Rng state. */
export function* fmacMutants(rng: Rng, bases: FmacBase[], count: number): Generator<Mutant> {
  const weights = MUTATORS.map(([, w]) => w);
  for (let i = 0; i < count; i++) {
    const base = pick(rng, bases);
    const [kind, , mutate] = MUTATORS[weightedIndex(rng, weights)];
    yield { kind, bytes: mutate(rng, base.stream, base.bytes) };
  }
}
