/**
 * The one place that starts jax-js. Node 20 lacks iterator helpers that jax-js
 * uses (einsum, attention), so core-js's polyfill is loaded first; the wasm
 * backend is the CPU device on Node (plain init() probes navigator and throws).
 */
import "core-js/actual/iterator/index.js";
import { defaultDevice, init } from "@jax-js/jax";

let ready: Promise<void> | null = null;

export function initJax(): Promise<void> {
  ready ??= (async () => {
    const devices = await init("wasm");
    if (!devices.includes("wasm")) throw new Error("jax-js: the wasm backend is not available");
    defaultDevice("wasm");
  })();
  return ready;
}

export { numpy as np, lax, nn as jnn, tree, jit, grad, valueAndGrad, vjp, makeJaxpr, random } from "@jax-js/jax";
export type { Array as JArray } from "@jax-js/jax";
