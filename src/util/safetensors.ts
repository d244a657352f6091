/**
 * Reader and writer for the safetensors format: an 8-byte little-endian header
 * length, a JSON header mapping names to {dtype, shape, data_offsets}, then raw
 * little-endian tensor bytes. Used for fixtures, model weights and checkpoints.
 */
import { UserError } from "./errors.js";

export type SafeDType = "F32" | "F64" | "I32" | "U8" | "I64" | "F16";
export type TensorData = Float32Array | Float64Array | Int32Array | Uint8Array;

export interface NamedTensor {
  dtype: SafeDType;
  shape: number[];
  data: TensorData;
}

export interface SafeTensorsFile {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<SafeDType, number> = { F32: 4, F64: 8, I32: 4, U8: 1, I64: 8, F16: 2 };

function product(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function dtypeOf(data: TensorData): SafeDType {
  if (data instanceof Float32Array) return "F32";
  if (data instanceof Float64Array) return "F64";
  if (data instanceof Int32Array) return "I32";
  return "U8";
}

/** Parses a safetensors buffer; `source` names the file in error messages. */
export function parseSafeTensors(bytes: Uint8Array, source = "safetensors"): SafeTensorsFile {
  const fail = (why: string): never => {
    throw new UserError(`${source}: not a valid safetensors file (${why})`);
  };
  if (bytes.length < 8) fail("shorter than its 8-byte header length");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > bytes.length - 8 || headerLen > 100_000_000) fail(`header length ${headerLen} exceeds the file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch {
    return fail("header is not JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) fail("header is not a JSON object");
  const body = bytes.subarray(8 + headerLen);
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    const dtype = e.dtype as SafeDType;
    if (!(dtype in BYTES)) fail(`tensor ${name} has unsupported dtype ${e.dtype}`);
    if (!Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) fail(`tensor ${name} lacks shape or offsets`);
    const [start, end] = e.data_offsets!;
    const n = product(e.shape!);
    if (!(start >= 0 && end <= body.length && end - start === n * BYTES[dtype]))
      fail(`tensor ${name}: offsets [${start}, ${end}] do not fit shape [${e.shape}] in a ${body.length}-byte body`);
    const raw = body.slice(start, end); // copy: aligned, owned buffer
    let data: TensorData;
    switch (dtype) {
      case "F32":
        data = new Float32Array(raw.buffer, 0, n);
        break;
      case "F64":
        data = new Float64Array(raw.buffer, 0, n);
        break;
      case "I32":
        data = new Int32Array(raw.buffer, 0, n);
        break;
      case "I64": {
        const big = new BigInt64Array(raw.buffer, 0, n);
        data = Int32Array.from(big, (v) => Number(v));
        break;
      }
      case "F16":
        data = f16ToF32(new Uint16Array(raw.buffer, 0, n));
        break;
      default:
        data = raw;
    }
    tensors.set(name, { dtype: dtype === "I64" ? "I32" : dtype === "F16" ? "F32" : dtype, shape: e.shape!, data });
  }
  return { tensors, metadata };
}

function f16ToF32(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const x = h[i];
    const s = x & 0x8000 ? -1 : 1;
    const e = (x >> 10) & 0x1f;
    const m = x & 0x3ff;
    out[i] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}

/** Serialises tensors (in the given order) and string metadata to safetensors bytes. */
export function serializeSafeTensors(
  tensors: Iterable<[string, { shape: number[]; data: TensorData }]>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const parts: RawTensor[] = [];
  for (const [name, t] of tensors) {
    if (product(t.shape) !== t.data.length) throw new Error(`tensor ${name}: shape [${t.shape}] does not match ${t.data.length} values`);
    parts.push({ name, dtype: dtypeOf(t.data), shape: t.shape, raw: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) });
  }
  return assemble(parts, metadata);
}

interface RawTensor {
  name: string;
  dtype: string;
  shape: number[];
  raw: Uint8Array;
}

/** A safetensors file of tensors' raw bytes, in order, and string metadata (left out when empty). */
function assemble(parts: RawTensor[], metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const p of parts) {
    header[p.name] = { dtype: p.dtype, shape: p.shape, data_offsets: [offset, offset + p.raw.length] };
    offset += p.raw.length;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the body starts 8-byte aligned, as the reference writer does.
  const enc = new TextEncoder();
  while ((8 + enc.encode(json).length) % 8 !== 0) json += " ";
  const headerBytes = enc.encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const p of parts) {
    out.set(p.raw, pos);
    pos += p.raw.length;
  }
  return out;
}

/**
 * Rewrites a safetensors file: `extra` tensors appended (or replacing those of
 * the same name), `metadata` merged in, and the F32 tensors `toF16` names
 * stored as F16 (round to nearest even). Every other tensor keeps its bytes and
 * dtype (an F16 tensor stays F16).
 */
export function rewriteSafeTensors(
  bytes: Uint8Array,
  o: { extra?: Record<string, { shape: number[]; data: TensorData }>; metadata?: Record<string, string>; toF16?: (name: string) => boolean },
  source = "safetensors",
): Uint8Array {
  const file = parseSafeTensors(bytes, source); // validates
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const body = bytes.subarray(8 + headerLen);
  const extra = o.extra ?? {};
  const parts: RawTensor[] = [];
  const kept = Object.entries(header).filter(([k]) => k !== "__metadata__" && !(k in extra));
  kept.sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  for (const [name, e] of kept) {
    let raw = body.subarray(e.data_offsets[0], e.data_offsets[1]);
    let dtype = e.dtype;
    if (dtype === "F32" && o.toF16?.(name)) {
      const f = new Float32Array(raw.slice().buffer);
      const h = new Uint16Array(f.length);
      for (let i = 0; i < f.length; i++) h[i] = f32ToF16(f[i]);
      raw = new Uint8Array(h.buffer);
      dtype = "F16";
    }
    parts.push({ name, dtype, shape: e.shape, raw });
  }
  for (const [name, t] of Object.entries(extra)) parts.push({ name, dtype: dtypeOf(t.data), shape: t.shape, raw: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) });
  return assemble(parts, { ...file.metadata, ...(o.metadata ?? {}) });
}

/** The same file with `extra` tensors appended (or replaced) and `metadata` merged in; the other tensors keep their bytes and dtypes. */
export function withTensors(bytes: Uint8Array, extra: Record<string, { shape: number[]; data: TensorData }>, metadata: Record<string, string>, source = "safetensors"): Uint8Array {
  return rewriteSafeTensors(bytes, { extra, metadata }, source);
}

/** A float32 value as IEEE half-precision bits, rounded to nearest even (overflow to infinity). */
export function f32ToF16(x: number): number {
  F32_SCRATCH[0] = x;
  const b = U32_SCRATCH[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is the right rounding too
  return sign | h;
}
const F32_SCRATCH = new Float32Array(1);
const U32_SCRATCH = new Uint32Array(F32_SCRATCH.buffer);
