/**
 * The code tables of an entropy-coded stream (.fmac version 3): a model's
 * probabilities for its first-stage indices, fitted on its own codes of
 * training audio. The first RVQ stage codes the coarse spectrum, which holds
 * across frames (silence, a held vowel): given the previous frame's index it
 * needs ~4.7 bits of 8 (docs/results.md). Later stages are close to uniform and
 * stay fixed-length. Integer frequencies, so every platform decodes the same.
 * Stored in the codec weights' metadata ("code_model"), so the model id covers them.
 */
import { UserError } from "../util/errors.js";
import { FrequencyTable, quantizeFrequencies } from "./range-coder.js";

export const CODE_MODEL_VERSION = 1;
/** Frequencies sum to 2^16: ~1.5e-5 the least probability a table can give. */
export const CODE_TOTAL_BITS = 16;

export interface CodeModel {
  /** Entries of a codebook. */
  symbols: number;
  /** Stage 1 of the first frame. */
  first: FrequencyTable;
  /** Stage 1 given the previous frame's stage-1 index: `symbols` tables. */
  next: FrequencyTable[];
}

/**
 * Fits the tables on streams of codes (frame-major, `stages` a frame): counts of
 * stage-1 transitions, each context interpolated with the stage's unigram
 * (weight `beta` on it: a context seen n times trusts its counts n / (n + beta)).
 */
export function fitCodeModel(streams: Iterable<ArrayLike<number>>, stages: number, symbols: number, beta = 16): CodeModel {
  const uni = new Float64Array(symbols).fill(0.5);
  const firsts = new Float64Array(symbols).fill(0.5);
  const pairs = new Float64Array(symbols * symbols);
  for (const c of streams) {
    const T = c.length / stages;
    for (let t = 0; t < T; t++) {
      const k = c[t * stages];
      if (!(k >= 0 && k < symbols)) throw new RangeError(`index ${k} outside a codebook of ${symbols}`);
      uni[k]++;
      if (t === 0) firsts[k]++;
      else pairs[c[(t - 1) * stages] * symbols + k]++;
    }
  }
  const z = uni.reduce((a, b) => a + b, 0);
  const p = uni.map((u) => u / z);
  // The first frame: too few of them to trust alone, interpolated as any context is.
  const first = new FrequencyTable(quantizeFrequencies(firsts.map((f, k) => f + beta * p[k]), CODE_TOTAL_BITS), CODE_TOTAL_BITS);
  const next = Array.from({ length: symbols }, (_, i) => {
    const row = pairs.subarray(i * symbols, (i + 1) * symbols);
    return new FrequencyTable(quantizeFrequencies(row.map((n, k) => n + beta * p[k]), CODE_TOTAL_BITS), CODE_TOTAL_BITS);
  });
  return { symbols, first, next };
}

/** Bits frame t's stage-1 index costs, for each frame of a stream (frame-major, `stages` a frame). */
export function firstStageBits(m: CodeModel, codes: ArrayLike<number>, frames: number, stages: number): Float64Array {
  const out = new Float64Array(frames);
  for (let t = 0; t < frames; t++) out[t] = (t === 0 ? m.first : m.next[codes[(t - 1) * stages]]).bits(codes[t * stages]);
  return out;
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** The tables as the codec weights' "code_model" metadata string: frequencies as little-endian uint16 (freq - 1), base64. */
export function serializeCodeModel(m: CodeModel): string {
  const K = m.symbols;
  const bytes = new Uint8Array(2 * K * (K + 1));
  const v = new DataView(bytes.buffer);
  [m.first, ...m.next].forEach((tab, r) => {
    for (let k = 0; k < K; k++) v.setUint16(2 * (r * K + k), tab.freq[k] - 1, true);
  });
  return JSON.stringify({ version: CODE_MODEL_VERSION, symbols: K, total_bits: CODE_TOTAL_BITS, tables: toBase64(bytes) });
}

/** Parses serializeCodeModel's string; throws a one-line Error naming `source` when it is not one. */
export function parseCodeModel(text: string, source: string): CodeModel {
  try {
    const j = JSON.parse(text) as { version?: number; symbols?: number; total_bits?: number; tables?: string };
    if (j.version !== CODE_MODEL_VERSION) throw new Error(`version ${j.version}, this reader knows ${CODE_MODEL_VERSION}`);
    const K = j.symbols!;
    if (!(Number.isInteger(K) && K >= 2 && K <= 65536) || j.total_bits !== CODE_TOTAL_BITS || typeof j.tables !== "string") throw new Error("bad fields");
    const bytes = fromBase64(j.tables);
    if (bytes.length !== 2 * K * (K + 1)) throw new Error(`${bytes.length} table bytes for ${K} symbols`);
    const v = new DataView(bytes.buffer);
    const rows = Array.from({ length: K + 1 }, (_, r) => new FrequencyTable(Array.from({ length: K }, (_, k) => v.getUint16(2 * (r * K + k), true) + 1), CODE_TOTAL_BITS));
    return { symbols: K, first: rows[0], next: rows.slice(1) };
  } catch (e) {
    throw new Error(`${source}: corrupt code tables (${(e as Error).message})`);
  }
}

const parsed = new Map<string, CodeModel>();

/** A model's code tables (EngineInfo.codeTables), parsed once; undefined for a model without them. Corrupt tables are a UserError naming `source`. */
export function codeModelOf(info: { codeTables?: string }, source = "model"): CodeModel | undefined {
  const text = info.codeTables;
  if (text === undefined) return undefined;
  let m = parsed.get(text);
  if (!m) {
    try {
      m = parseCodeModel(text, source);
    } catch (e) {
      throw new UserError((e as Error).message);
    }
    if (parsed.size > 8) parsed.clear();
    parsed.set(text, m);
  }
  return m;
}
