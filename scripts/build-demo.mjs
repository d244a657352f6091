#!/usr/bin/env node
/**
 * Builds the browser demo into demo/dist: bundles the page (demo/app.ts) and its
 * codec worker (demo/worker.ts) with esbuild, copies
 * onnxruntime-web's wasm runtime, the bundled samples and the model exported to
 * ONNX (from models/default, or --model <dir>). Serve it with `npm run demo`.
 */
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "demo/dist");
const args = process.argv.slice(2);
const modelDir = args.includes("--model") ? args[args.indexOf("--model") + 1] : join(root, "models/default");

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "model"), { recursive: true });
await build({
  // The page and the worker are separate bundles: the worker alone loads onnxruntime-web.
  entryPoints: [join(root, "demo/app.ts"), join(root, "demo/worker.ts")],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  outdir: out,
  minify: true,
  // PFFFT's Emscripten loader imports node:module only when it runs under Node.
  external: ["module"],
  logLevel: "warning",
});
cpSync(join(root, "demo/index.html"), join(out, "index.html"));
for (const f of ["ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.mjs"]) cpSync(join(root, "node_modules/onnxruntime-web/dist", f), join(out, f));
// The bundle loads PFFFT's wasm from next to itself (new URL("pffft.wasm", import.meta.url)).
cpSync(join(root, "node_modules/@echogarden/pffft-wasm/dist/simd/pffft.wasm"), join(out, "pffft.wasm"));
cpSync(join(root, "samples"), join(out, "samples"), { recursive: true });

const { initJax } = await import(join(root, "dist/src/nn/runtime.js"));
const { loadModel, readModelDir } = await import(join(root, "dist/src/model/load.js"));
const { exportModelOnnx } = await import(join(root, "dist/src/model/export-onnx.js"));
const { writeBundle } = await import(join(root, "dist/src/model/open.js"));
await initJax();
writeBundle(exportModelOnnx(await loadModel(readModelDir(modelDir))), join(out, "model"));
console.log(`demo built in ${out}; run: npm run demo`);
