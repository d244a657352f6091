/**
 * The code tables of an entropy-coded stream (.fmac version 3): a model's
 * probabilities for its indices, fitted on its own codes of training audio.
 * RVQ codes hold across frames (silence, a held vowel): stage k's index given
 * the previous frame's stage-k index needs far fewer than 8 bits for the first
 * stages (3.8 bits for stage 1, 6.0 for stage 2, 6.8 for stage 3 on validation
 * speech; docs/results.md) and about 8 from the seventh on, so tables are kept
 * for the stages where they pay and the rest stay fixed-length. Integer
 * frequencies, so every platform decodes the same. Stored in the codec
 * weights (metadata "code_model" and tensor "code_model.tables"), so the model id covers them.
 */
import { base64ToBytes, bytesToBase64 } from "../util/base64.js";
import { UserError } from "../util/errors.js";
import { withTensors } from "../util/safetensors.js";
import { FrequencyTable, quantizeFrequencies } from "./range-coder.js";

export const CODE_MODEL_VERSION = 2;
/** Frequencies sum to 2^16: ~1.5e-5 the least probability a table can give. */
export const CODE_TOTAL_BITS = 16;

export interface StageTables {
  /** Where the previous frame has no index at this stage (the first frame, or a frame with fewer stages): the stage's overall counts. */
  start: FrequencyTable;
  /** Given the previous frame's index at this stage: `symbols` tables. */
  next: FrequencyTable[];
}

export interface CodeModel {
  /** Entries of a codebook. */
  symbols: number;
  /** Tables of stages 1..stages.length; later stages are coded fixed-length. */
  stages: StageTables[];
}

/** The table frame t's index at stage k (0-based) is coded with, or null for fixed-length; `prev`: the previous frame's index at k, if it has one. */
export function tableFor(m: CodeModel, k: number, prev: number | null): FrequencyTable | null {
  const s = m.stages[k];
  if (!s) return null;
  return prev === null ? s.start : s.next[prev];
}

/**
 * The table of frame t's stage-k index in a stream (codes frame-major, `stages`
 * a frame; counts: each frame's stages): its context is the previous frame's
 * stage-k index where that frame carries stage k. The one rule the writer, the
 * reader and the encoder's pricing share.
 */
export function streamTable(m: CodeModel, codes: ArrayLike<number>, counts: ArrayLike<number>, stages: number, t: number, k: number): FrequencyTable | null {
  return tableFor(m, k, t > 0 && counts[t - 1] > k ? codes[(t - 1) * stages + k] : null);
}

export interface FitOptions {
  /** Smoothing weights tried per stage: a context seen n times trusts its counts n / (n + beta), the rest the stage's overall counts. */
  betas?: number[];
  /** A stage gets tables only if they save at least this many bits an index on held-out codes (and every stage before it has them). */
  minSaving?: number;
  /** The most stages given tables (each costs 2 * K * (K + 1) bytes: 131 KB for K = 256). */
  maxStages?: number;
}

/**
 * Fits tables on streams of codes (frame-major, `stages` a frame, every stage
 * present). Per stage, beta is chosen on held-out frames (every eighth block of
 * 64), and the stage gets tables only if they pay there; then the tables are
 * counted on all frames. Stages get tables from the first on, while they pay.
 */
export function fitCodeModel(streams: ArrayLike<number>[], stages: number, symbols: number, o: FitOptions = {}): CodeModel {
  const betas = o.betas ?? [4, 16, 64, 256];
  const minSaving = o.minSaving ?? 0.1;
  const K = symbols;
  const fixedBits = Math.log2(K);
  const out: StageTables[] = [];
  // Held out for choosing beta and whether a stage pays: every eighth block of 64 frames of each stream.
  const heldOut = (i: number, t: number) => (i + Math.floor(t / 64)) % 8 === 7;
  const count = (k: number, all: boolean) => {
    const uni = new Float64Array(K).fill(0.5);
    const pairs = new Float64Array(K * K);
    streams.forEach((c, i) => {
      const T = c.length / stages;
      for (let t = 0; t < T; t++) {
        const x = c[t * stages + k];
        if (!(x >= 0 && x < K)) throw new RangeError(`index ${x} outside a codebook of ${K}`);
        if (!all && heldOut(i, t)) continue;
        uni[x]++;
        if (t > 0) pairs[c[(t - 1) * stages + k] * K + x]++;
      }
    });
    const z = uni.reduce((a, b) => a + b, 0);
    return { p: uni.map((u) => u / z), pairs };
  };
  const tablesOf = ({ p, pairs }: { p: Float64Array; pairs: Float64Array }, beta: number): StageTables => {
    const start = new FrequencyTable(quantizeFrequencies(p, CODE_TOTAL_BITS), CODE_TOTAL_BITS);
    const next = Array.from({ length: K }, (_, i) => new FrequencyTable(quantizeFrequencies(pairs.subarray(i * K, (i + 1) * K).map((n, x) => n + beta * p[x]), CODE_TOTAL_BITS), CODE_TOTAL_BITS));
    return { start, next };
  };
  for (let k = 0; k < Math.min(stages, o.maxStages ?? stages); k++) {
    let best = { beta: betas[0], bits: Infinity };
    const heldIn = count(k, false);
    for (const beta of betas) {
      const tab = tablesOf(heldIn, beta);
      let bits = 0;
      let n = 0;
      streams.forEach((c, i) => {
        const T = c.length / stages;
        for (let t = 0; t < T; t++) if (heldOut(i, t)) (bits += (t > 0 ? tab.next[c[(t - 1) * stages + k]] : tab.start).bits(c[t * stages + k])), n++;
      });
      if (n > 0 && bits / n < best.bits) best = { beta, bits: bits / n };
    }
    if (!(best.bits <= fixedBits - minSaving)) break;
    out.push(tablesOf(count(k, true), best.beta));
  }
  return { symbols: K, stages: out };
}

/**
 * Bits of every index at stage k given the previous frame's index there (-1:
 * none), as [K] rows made on first use; null where stage k is coded
 * fixed-length. The rate term of the encoder's entropy-constrained RVQ search.
 */
export function indexBitRows(m: CodeModel): (k: number, prev: number) => Float32Array | null {
  const rows = new Map<number, Float32Array>();
  const K = m.symbols;
  return (k, prev) => {
    const tab = tableFor(m, k, prev < 0 ? null : prev);
    if (!tab) return null;
    const key = k * (K + 1) + prev + 1;
    let row = rows.get(key);
    if (!row) {
      row = new Float32Array(K);
      for (let j = 0; j < K; j++) row[j] = tab.bits(j);
      rows.set(key, row);
    }
    return row;
  };
}

/**
 * Bits of each frame's first n indices, n = 1..stages ([frames, stages],
 * cumulative), pricing every index with its previous-frame context as if the
 * previous frame carried every stage: what the rate allocator weighs from the
 * first search pass (a frame whose predecessor has fewer stages costs a little more).
 */
export function cumulativeIndexBits(m: CodeModel, codes: ArrayLike<number>, frames: number, stages: number): Float64Array {
  const fixed = Math.log2(m.symbols);
  const out = new Float64Array(frames * stages);
  for (let t = 0; t < frames; t++) {
    let acc = 0;
    for (let k = 0; k < stages; k++) {
      const tab = tableFor(m, k, t > 0 ? codes[(t - 1) * stages + k] : null);
      acc += tab ? tab.bits(codes[t * stages + k]) : fixed;
      out[t * stages + k] = acc;
    }
  }
  return out;
}

/** Exactly the bits a version 3 stream's indices cost (the count changes excluded). */
export function streamIndexBits(m: CodeModel, codes: ArrayLike<number>, counts: ArrayLike<number>, frames: number, stages: number): number {
  const fixed = Math.log2(m.symbols);
  let bits = 0;
  for (let t = 0; t < frames; t++)
    for (let k = 0; k < counts[t]; k++) {
      const tab = streamTable(m, codes, counts, stages, t, k);
      bits += tab ? tab.bits(codes[t * stages + k]) : fixed;
    }
  return bits;
}

/** The tables' rows as stored: per stage K + 1 rows (start, then next[0..K-1]) of K little-endian uint16 values, each a frequency minus 1. */
export function codeTableBytes(m: CodeModel): Uint8Array {
  const K = m.symbols;
  const rows = m.stages.flatMap((s) => [s.start, ...s.next]);
  const bytes = new Uint8Array(2 * K * rows.length);
  const v = new DataView(bytes.buffer);
  rows.forEach((tab, r) => {
    for (let k = 0; k < K; k++) v.setUint16(2 * (r * K + k), tab.freq[k] - 1, true);
  });
  return bytes;
}

/** The codec weights' "code_model" metadata: the tables' shape; their rows are the tensor CODE_TABLES_TENSOR (codeTableBytes). */
export function codeModelHeader(m: CodeModel): string {
  return JSON.stringify({ version: CODE_MODEL_VERSION, symbols: m.symbols, stages: m.stages.length, total_bits: CODE_TOTAL_BITS });
}

/** The tensor of the codec weights that holds the tables' rows (U8). */
export const CODE_TABLES_TENSOR = "code_model.tables";

/** The tables as one JSON string (the header with the rows in base64): EngineInfo.codeTables, which ONNX bundles carry as JSON. */
export function serializeCodeModel(m: CodeModel): string {
  return joinCodeTables(codeModelHeader(m), codeTableBytes(m));
}

/** The header and the rows, as stored in the codec weights, joined into serializeCodeModel's string. */
export function joinCodeTables(header: string, rows: Uint8Array): string {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(header) as Record<string, unknown>;
  } catch {
    j = {};
  }
  return JSON.stringify({ ...j, tables: bytesToBase64(rows) });
}

/** Parses serializeCodeModel's string; throws a one-line Error naming `source` when it is not one. */
export function parseCodeModel(text: string, source: string): CodeModel {
  try {
    const j = JSON.parse(text) as { version?: number; symbols?: number; stages?: number; total_bits?: number; tables?: string };
    if (j.version !== CODE_MODEL_VERSION) throw new Error(`version ${j.version}, this reader knows ${CODE_MODEL_VERSION}`);
    const K = j.symbols!;
    const S = j.stages!;
    if (!(Number.isInteger(K) && K >= 2 && K <= 65536) || !(Number.isInteger(S) && S >= 0 && S <= 64) || j.total_bits !== CODE_TOTAL_BITS || typeof j.tables !== "string") throw new Error("bad fields");
    const bytes = base64ToBytes(j.tables);
    if (bytes.length !== 2 * K * (K + 1) * S) throw new Error(`${bytes.length} table bytes for ${S} stages of ${K} symbols`);
    const v = new DataView(bytes.buffer);
    const row = (r: number) => new FrequencyTable(Array.from({ length: K }, (_, k) => v.getUint16(2 * (r * K + k), true) + 1), CODE_TOTAL_BITS);
    const stages = Array.from({ length: S }, (_, s) => ({ start: row(s * (K + 1)), next: Array.from({ length: K }, (_, i) => row(s * (K + 1) + 1 + i)) }));
    return { symbols: K, stages };
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

/** A codec weights file with `m` as its code tables (metadata "code_model", tensor CODE_TABLES_TENSOR) and `metadata` merged in; the weights keep their bytes. */
export function withCodeTables(codec: Uint8Array, m: CodeModel, metadata: Record<string, string> = {}, source = "codec.safetensors"): Uint8Array {
  const rows = codeTableBytes(m);
  return withTensors(codec, { [CODE_TABLES_TENSOR]: { shape: [rows.length], data: rows } }, { code_model: codeModelHeader(m), ...metadata }, source);
}
