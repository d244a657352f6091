/** Writes and reads float32 NumPy .npy files (format version 1.0, C order). */
import { UserError } from "./errors.js";

export function encodeNpy(data: Float32Array, shape: number[]): Uint8Array {
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // Magic (6) + version (2) + length (2) + header + '\n' must be a multiple of 64.
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += " ".repeat(pad % 64) + "\n";
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

export function decodeNpy(bytes: Uint8Array, source = "npy"): { data: Float32Array; shape: number[] } {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) throw new UserError(`${source}: not a NumPy .npy file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeMatch = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeMatch) throw new UserError(`${source}: unreadable .npy header`);
  if (fortran === "True") throw new UserError(`${source}: Fortran-ordered arrays are not supported`);
  const shape = shapeMatch[1].split(",").map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const body = bytes.slice(start + headerLen);
  let data: Float32Array;
  if (descr === "<f4") {
    if (body.length < n * 4) throw new UserError(`${source}: truncated (${body.length} bytes for ${n} float32 values)`);
    data = new Float32Array(body.buffer, 0, n);
  } else if (descr === "<f8") {
    if (body.length < n * 8) throw new UserError(`${source}: truncated (${body.length} bytes for ${n} float64 values)`);
    data = Float32Array.from(new Float64Array(body.buffer, 0, n));
  } else {
    throw new UserError(`${source}: dtype ${descr} is not supported (need float32 or float64)`);
  }
  return { data, shape };
}
