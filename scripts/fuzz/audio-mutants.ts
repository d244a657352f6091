/**
 * Mutated WAV and FLAC files, deterministic from a seed, aimed at their
 * headers: the fields of a WAV fmt/data chunk and of a FLAC STREAMINFO block
 * edited to edge values, chunks and metadata blocks inserted, reordered or
 * given lying sizes, ID3 tags in front, plus byte damage, cuts and tails.
 */
import type { Rng } from "../../src/nn/rng.js";
import { concat, extend, fieldValue, flipBits, overwriteBytes, pick, randomBytes, truncate, weightedIndex } from "./bytes.js";
import type { Mutant } from "./fmac-mutants.js";

export interface AudioBase {
  name: string;
  format: "wav" | "flac";
  bytes: Uint8Array;
}

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

/** Sets `width` bits at bit offset `at` (most significant bit first, as FLAC stores them). */
function setBitsBE(b: Uint8Array, at: number, width: number, value: number): void {
  for (let i = 0; i < width; i++) {
    const bit = Math.floor(value / 2 ** (width - 1 - i)) % 2;
    const p = at + i;
    b[p >> 3] = (b[p >> 3] & ~(0x80 >> (p & 7))) | (bit ? 0x80 >> (p & 7) : 0);
  }
}

function getBitsBE(b: Uint8Array, at: number, width: number): number {
  let v = 0;
  for (let i = 0; i < width; i++) v = v * 2 + ((b[(at + i) >> 3] >> (7 - ((at + i) & 7))) & 1);
  return v;
}

// WAV: the canonical 44-byte header's fields as [offset, bytes].
const WAV_FIELDS: [number, number][] = [[4, 4], [16, 4], [20, 2], [22, 2], [24, 4], [28, 4], [32, 2], [34, 2], [40, 4]];

function wavField(rng: Rng, b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b);
  const v = new DataView(out.buffer);
  const [at, size] = pick(rng, WAV_FIELDS);
  const cur = size === 2 ? v.getUint16(at, true) : v.getUint32(at, true);
  const next = at === 20 && rng.int(2) ? pick(rng, [0, 1, 2, 3, 6, 7, 0x11, 0xfffe]) : at === 34 && rng.int(2) ? pick(rng, [0, 4, 8, 12, 16, 20, 24, 32, 48, 64]) : fieldValue(rng, 8 * size, cur);
  if (size === 2) v.setUint16(at, next, true);
  else v.setUint32(at, next, true);
  return out;
}

/** A chunk with an arbitrary id and a body of `size` bytes, its stated size true or not, padded or not. */
function junkChunk(rng: Rng): Uint8Array {
  const id = rng.int(2) ? pick(rng, ["LIST", "fact", "JUNK", "PAD ", "fmt ", "data", "bext"]) : String.fromCharCode(...randomBytes(rng, 4));
  const size = rng.int(rng.int(2) ? 8 : 300);
  const stated = rng.uniform() < 0.7 ? size : fieldValue(rng, 32, size);
  const pad = size & 1 && rng.int(2) ? new Uint8Array(1) : new Uint8Array(0);
  return concat(ascii(id), u32(stated), randomBytes(rng, size), pad);
}

/** Chunks inserted, reordered or turned into WAVE_FORMAT_EXTENSIBLE. */
function wavStructure(rng: Rng, b: Uint8Array): Uint8Array {
  const riff = b.subarray(0, 12);
  const fmt = b.subarray(12, 36);
  const data = b.subarray(36);
  switch (rng.int(5)) {
    case 0:
      return concat(riff, junkChunk(rng), fmt, data);
    case 1:
      return concat(riff, fmt, junkChunk(rng), data);
    case 2:
      return concat(riff, data, fmt); // data before fmt
    case 3: {
      const ext = new Uint8Array(48);
      ext.set(fmt.subarray(0, 24));
      const v = new DataView(ext.buffer);
      v.setUint32(4, rng.int(4) ? 40 : fieldValue(rng, 32, 40), true);
      const tag = v.getUint16(8, true);
      v.setUint16(8, 0xfffe, true);
      v.setUint16(24, rng.int(2) ? 22 : rng.int(65536), true); // cbSize
      v.setUint16(26, v.getUint16(22, true), true); // valid bits
      v.setUint16(32, rng.int(3) ? tag : fieldValue(rng, 16, tag), true); // sub-format GUID, first two bytes
      return concat(riff, ext, data);
    }
    default:
      return concat(ascii(pick(rng, ["RIFX", "RF64", "RIFF"])), b.subarray(4, 8), ascii(pick(rng, ["WAVE", "wave", "AVI "])), b.subarray(12));
  }
}

// FLAC STREAMINFO fields as [bit offset from the file start, width]: block sizes, frame sizes, rate, channels-1, bits-1, total samples.
const STREAMINFO_FIELDS: [number, number][] = [[64, 16], [80, 16], [96, 24], [120, 24], [144, 20], [164, 3], [167, 5], [172, 36]];

function flacField(rng: Rng, b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b);
  const [at, width] = pick(rng, STREAMINFO_FIELDS);
  const cur = getBitsBE(out, at, width);
  const next = at === 144 && rng.int(2) ? pick(rng, [0, 1, 999, 1000, 8000, 16000, 24000, 96000, 192000, 192001, 655350, 0xfffff]) : fieldValue(rng, Math.min(width, 32), cur);
  setBitsBE(out, at, width, next % 2 ** width);
  return out;
}

/** Metadata block headers edited, blocks inserted, or an ID3v2 tag put in front. */
function flacStructure(rng: Rng, b: Uint8Array): Uint8Array {
  switch (rng.int(4)) {
    case 0: {
      const out = Uint8Array.from(b);
      out[4] = rng.int(2) ? out[4] ^ 0x80 : rng.int(256); // last-block flag, block type
      return out;
    }
    case 1: {
      const out = Uint8Array.from(b);
      setBitsBE(out, 40, 24, fieldValue(rng, 24, 34)); // STREAMINFO's stated length
      return out;
    }
    case 2: {
      const size = rng.int(64);
      const stated = rng.uniform() < 0.6 ? size : fieldValue(rng, 24, size);
      const block = concat(Uint8Array.of(rng.int(2) ? 1 : rng.int(128), stated >> 16, (stated >> 8) & 0xff, stated & 0xff), randomBytes(rng, size));
      const streaminfo = Uint8Array.from(b.subarray(4, 42));
      streaminfo[0] &= 0x7f; // no longer the last block
      return concat(b.subarray(0, 4), streaminfo, block, b.subarray(42));
    }
    default: {
      const size = rng.int(100);
      const stated = rng.uniform() < 0.6 ? size : rng.int(1 << 28);
      const tag = concat(ascii("ID3"), Uint8Array.of(4, 0, rng.int(2) ? 0 : 0x10, (stated >> 21) & 0x7f, (stated >> 14) & 0x7f, (stated >> 7) & 0x7f, stated & 0x7f), randomBytes(rng, size));
      return concat(tag, b);
    }
  }
}

/** Where a header ends: what "header damage" aims at (the first FLAC frame header included). */
function headerEnd(base: AudioBase): number {
  if (base.format === "wav") return 44;
  const b = base.bytes;
  for (let i = 42; i + 1 < b.length; i++) if (b[i] === 0xff && (b[i + 1] & 0xfe) === 0xf8) return i + 16;
  return 64;
}

type Mutator = (rng: Rng, base: AudioBase) => Uint8Array;

const MUTATORS: [string, number, Mutator][] = [
  ["header-bit-flips", 15, (rng, a) => flipBits(rng, a.bytes, 1 + rng.int(4), 0, headerEnd(a))],
  ["header-overwrites", 12, (rng, a) => overwriteBytes(rng, a.bytes, 1 + rng.int(4), 0, headerEnd(a))],
  ["header-fields", 30, (rng, a) => (a.format === "wav" ? wavField(rng, a.bytes) : flacField(rng, a.bytes))],
  ["header-structure", 15, (rng, a) => (a.format === "wav" ? wavStructure(rng, a.bytes) : flacStructure(rng, a.bytes))],
  ["two-field-edits", 8, (rng, a) => (a.format === "wav" ? wavField(rng, wavField(rng, a.bytes)) : flacField(rng, flacStructure(rng, a.bytes)))],
  ["truncation", 8, (rng, a) => truncate(rng, a.bytes)],
  ["extension", 5, (rng, a) => extend(rng, a.bytes)],
  ["body-damage", 7, (rng, a) => flipBits(rng, a.bytes, 1 + rng.int(8), headerEnd(a))],
];

export interface AudioMutant extends Mutant {
  base: AudioBase;
}

export function* audioMutants(rng: Rng, bases: AudioBase[], count: number): Generator<AudioMutant> {
  const weights = MUTATORS.map(([, w]) => w);
  for (let i = 0; i < count; i++) {
    const base = pick(rng, bases);
    const [kind, , mutate] = MUTATORS[weightedIndex(rng, weights)];
    yield { kind, bytes: mutate(rng, base), base };
  }
}
