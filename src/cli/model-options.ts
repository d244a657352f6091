/** The options of every command that runs a model, and opening the engine they choose. */
import type { Command } from "commander";
import type { InferenceEngine } from "../model/engine.js";
import { ENGINES, openEngine, type EngineName } from "../model/open.js";
import { interruptible } from "./interrupt.js";
import { parseChoice } from "./options.js";

export interface ModelOpts {
  model?: string;
  engine: EngineName;
  verbose?: boolean;
}

export function modelOptions(cmd: Command, modelHelp = "model directory (default: the bundled model)"): Command {
  return cmd
    .option("--model <dir>", modelHelp)
    .option("--engine <name>", "inference engine: onnx (fast) or jax (reference)", parseChoice("engine", ENGINES), "onnx")
    .option("--verbose", "show onnxruntime's own warnings and errors");
}

export async function openModel(o: ModelOpts): Promise<InferenceEngine> {
  return interruptible(await openEngine(o.model, o.engine, { verbose: o.verbose }));
}
