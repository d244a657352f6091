import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseSafeTensors, type NamedTensor } from "../src/util/safetensors.js";

export const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

/** Loads one of the PyTorch/torchaudio reference fixtures (copied from ../shared/fixtures). */
export function torchFixture(name: string): Map<string, NamedTensor> {
  return parseSafeTensors(new Uint8Array(readFileSync(`${FIXTURES}torch/${name}.safetensors`)), name).tensors;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** max |a-b| / max(|b|, floor): a relative error robust to tiny reference values. */
/** Largest absolute difference relative to b's peak magnitude (engine parity checks). */
export function relToPeak(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let peak = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    peak = Math.max(peak, Math.abs(b[i]));
  }
  return err / Math.max(peak, 1e-12);
}

export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-3): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor));
  return m;
}

/** max |a-b| / max |b|: the error relative to the reference's scale, for sums whose order differs. */
export function maxScaledDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  return maxAbsDiff(a, b) / scale;
}

export function sine(freq: number, rate: number, seconds: number, amp = 0.5): Float32Array {
  const n = Math.round(rate * seconds);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return x;
}

/** The bytes of every wasm module jax-js compiles while `run` runs. */
export function compiledModules(run: () => void): Uint8Array[] {
  const modules: Uint8Array[] = [];
  const Module = WebAssembly.Module;
  (WebAssembly as { Module: unknown }).Module = function (bytes: BufferSource) {
    modules.push(new Uint8Array(bytes as ArrayBuffer));
    return new Module(bytes);
  };
  try {
    run();
  } finally {
    (WebAssembly as { Module: unknown }).Module = Module;
  }
  return modules;
}

/** Whether a module's bytes contain an instruction's encoding (SIMD ops are 0xfd + a LEB128 opcode). */
export function hasOpcode(bytes: Uint8Array, op: number[]): boolean {
  return bytes.some((_, i) => op.every((v, k) => bytes[i + k] === v));
}
