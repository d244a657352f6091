/**
 * The one place that starts jax-js. Node 20 lacks iterator helpers that jax-js
 * uses (einsum, attention), so core-js's polyfill is loaded first; the wasm
 * backend is the CPU device on Node (plain init() probes navigator and throws).
 *
 * Fused multiply-add: jax-js writes its matmul and reduction kernels with wasm's
 * relaxed-SIMD `f32x4.relaxed_madd` when the engine validates it (Chrome 114+,
 * Node 22+). Node 20's V8 has the feature complete but behind a flag, so initJax
 * turns the flag on before the first kernel is compiled: the 1024³ matmul kernel
 * ran 0.74× the time of separate multiplies and adds (one process, interleaved).
 * A fused multiply-add rounds once instead of twice, so results move by an ulp
 * or so, and they are the same on every run of one machine; on hardware without
 * FMA the engine multiplies and adds. FLOWMAC_NO_FMA=1 keeps plain multiplies and
 * adds (bit-identical across machines).
 */
import "core-js/actual/iterator/index.js";
import { defaultDevice, init } from "@jax-js/jax";

let ready: Promise<void> | null = null;

export function initJax(): Promise<void> {
  ready ??= (async () => {
    await enableRelaxedSimd();
    const devices = await init("wasm");
    if (!devices.includes("wasm")) throw new Error("jax-js: the wasm backend is not available");
    defaultDevice("wasm");
  })();
  return ready;
}

// The smallest module that uses f32x4.relaxed_madd: (v128, v128, v128) -> v128.
const RELAXED_MADD_PROBE = Uint8Array.from(
  "0061736d0100000001080160037b7b7b017b030201000a0d010b00200020012002fd85020b".match(/../g)!,
  (byte) => parseInt(byte, 16),
);

/** Whether this engine compiles relaxed-SIMD fused multiply-adds. */
export function hasRelaxedSimd(): boolean {
  return typeof WebAssembly !== "undefined" && WebAssembly.validate(RELAXED_MADD_PROBE);
}

/** On Node, set V8's relaxed-SIMD flag: on, or off where FLOWMAC_NO_FMA is set (Node 22+ has it on). */
async function enableRelaxedSimd(): Promise<void> {
  if (typeof process === "undefined" || !process.versions?.node) return;
  const wantFma = !process.env.FLOWMAC_NO_FMA;
  if (hasRelaxedSimd() === wantFma) return;
  const v8 = await import("node:v8");
  v8.setFlagsFromString(wantFma ? "--experimental-wasm-relaxed-simd" : "--no-experimental-wasm-relaxed-simd");
  if (!wantFma && hasRelaxedSimd()) process.emitWarning("FLOWMAC_NO_FMA is set, but this engine's relaxed SIMD could not be turned off: jax-js will use fused multiply-adds");
}

export { numpy as np, lax, nn as jnn, tree, jit, grad, valueAndGrad, vjp, makeJaxpr, random } from "@jax-js/jax";
export type { Array as JArray } from "@jax-js/jax";
