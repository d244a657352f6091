/**
 * Exported training-step graphs, cached on disk (under the ONNX cache, see
 * model/open.ts): exporting the codec `small` step traces and translates ~9k
 * operations. Keyed by a hash of everything the graph depends on that the
 * caller names (config, shapes, step version), the exporter's version and the
 * installed jax-js. Not keyed: the model code itself (bump the step version
 * when the loss changes).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { EXPORTER_VERSION } from "../onnx/export.js";
import { onnxCacheBase } from "../model/open.js";
import { writeFileAtomic } from "../util/files.js";

/** jax-js as installed (version and the patches applied at install): a hash of its entry module. */
function jaxBuild(): string {
  const entry = createRequire(import.meta.url).resolve("@jax-js/jax");
  return createHash("sha256").update(readFileSync(entry)).digest("hex").slice(0, 16);
}

function stepGraphKey(key: object): string {
  const full = { ...key, exporter: EXPORTER_VERSION, jax: jaxBuild() };
  return createHash("sha256").update(JSON.stringify(full)).digest("hex").slice(0, 24);
}

/** The graph cached under `key`, or `make()`'s, stored for next time (a read-only cache only costs a re-export). */
export function cachedStepGraph(name: string, key: object, make: () => Uint8Array): Uint8Array {
  const dir = join(onnxCacheBase(), "train-steps");
  const path = join(dir, `${name}-${stepGraphKey(key)}.onnx`);
  if (existsSync(path)) return new Uint8Array(readFileSync(path));
  const bytes = make();
  try {
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(path, bytes);
  } catch {
    // Exported again next time.
  }
  return bytes;
}
