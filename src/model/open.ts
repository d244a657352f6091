/** Opens a model directory with the requested inference engine. */
import { initJax } from "../nn/runtime.js";
import type { InferenceEngine } from "./engine.js";
import { JaxEngine } from "./jax-engine.js";
import { DEFAULT_MODEL_DIR, loadModel, readModelDir } from "./load.js";

export type EngineName = "jax";

export async function openEngine(modelDir: string = DEFAULT_MODEL_DIR, engine: EngineName = "jax"): Promise<InferenceEngine> {
  void engine;
  await initJax();
  const m = await loadModel(readModelDir(modelDir));
  return new JaxEngine(m.info, m.codec, m.buffers, m.generator);
}
