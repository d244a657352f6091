/**
 * The magnitude refiner's training step on onnxruntime: its loss, the loss's
 * parts and the gradient of every parameter (jax-js's valueAndGrad, traced and
 * exported as one graph), fed with the optimiser's host weights and a host-built
 * batch. Nothing random happens inside. Exported once per config and batch
 * shape, cached on disk (step-graph-cache.ts).
 */
import type * as OrtTypes from "onnxruntime-common";
import { SESSION_OPTIONS } from "../model/onnx-engine.js";
import { refinerLoss, type RefinerParams, type RefinerVocoderConfig } from "../model/refiner.js";
import { withConvAlgorithm } from "../nn/layers.js";
import { namedLeaves } from "../nn/params.js";
import { np, tree, valueAndGrad, type JArray } from "../nn/runtime.js";
import { exportOnnx, type ExportArg } from "../onnx/export.js";
import { gradOutput, paramInput } from "./codec-step-graph.js";
import { cachedStepGraph } from "./step-graph-cache.js";

type Ort = typeof OrtTypes;

/** Bumped whenever the traced step function changes (cached step graphs are keyed by it). */
export const REFINER_STEP_VERSION = 1;

const SCALARS = ["loss", "l1", "sc"] as const;

/** The batch: mel [B, F, nMels], log NNLS prior and log target magnitude [B, F, bins]. */
export interface RefinerBatchShape {
  batch: number;
  frames: number;
}

export function exportRefinerStep(c: RefinerVocoderConfig, params: RefinerParams, s: RefinerBatchShape): Uint8Array {
  const bins = c.generator.nFft / 2 + 1;
  const lossAndGrad = valueAndGrad((p: any, mel: JArray, prior: JArray, target: JArray): any => refinerLoss(p, c, mel, prior, target), { hasAux: true });
  const step = (p: RefinerParams, mel: JArray, prior: JArray, target: JArray) => {
    const [[loss, aux], grads] = lossAndGrad(p, mel, prior, target) as unknown as [[JArray, { l1: JArray; sc: JArray }], RefinerParams];
    return [loss, aux.l1, aux.sc, ...tree.leaves(grads)];
  };
  const args: ExportArg[] = [
    { name: "p", value: tree.map((a: JArray) => np.zeros(a.shape), params as any), kind: "input" },
    { name: "mel", value: np.zeros([s.batch, s.frames, c.generator.nMels]), kind: "input" },
    { name: "prior", value: np.zeros([s.batch, s.frames, bins]), kind: "input" },
    { name: "target", value: np.zeros([s.batch, s.frames, bins]), kind: "input" },
  ];
  const outputs = [...SCALARS, ...namedLeaves(params).map((_, i) => gradOutput(i))];
  // One plain matmul per convolution: onnxruntime's GEMMs gain nothing from Winograd's transforms.
  return withConvAlgorithm("im2col", () => exportOnnx("refiner_step", step, args, outputs));
}

export interface RefinerStepResult {
  loss: number;
  l1: number;
  sc: number;
  /** In namedLeaves(params) order. */
  grads: Float32Array[];
}

export class OnnxRefinerStep {
  private constructor(
    private ort: Ort,
    private session: OrtTypes.InferenceSession,
    private paramShapes: number[][],
    private dims: { mel: number[]; mag: number[] },
  ) {}

  static async create(ort: Ort, c: RefinerVocoderConfig, params: RefinerParams, s: RefinerBatchShape): Promise<OnnxRefinerStep> {
    const bytes = cachedStepGraph("refiner", { step: REFINER_STEP_VERSION, config: c, shape: s }, () => exportRefinerStep(c, params, s));
    const session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS(1, 4));
    const bins = c.generator.nFft / 2 + 1;
    return new OnnxRefinerStep(ort, session, namedLeaves(params).map(([, a]) => a.shape.slice()), { mel: [s.batch, s.frames, c.generator.nMels], mag: [s.batch, s.frames, bins] });
  }

  async run(weights: Float32Array[], mel: Float32Array, prior: Float32Array, target: Float32Array): Promise<RefinerStepResult> {
    const f32 = (data: Float32Array, dims: number[]) => new this.ort.Tensor("float32", data, dims);
    const feeds: Record<string, OrtTypes.Tensor> = { mel: f32(mel, this.dims.mel), prior: f32(prior, this.dims.mag), target: f32(target, this.dims.mag) };
    weights.forEach((w, i) => (feeds[paramInput(i)] = f32(w, this.paramShapes[i])));
    const out = await this.session.run(feeds);
    const scalar = (k: string) => (out[k].data as Float32Array)[0];
    return { loss: scalar("loss"), l1: scalar("l1"), sc: scalar("sc"), grads: weights.map((_, i) => out[gradOutput(i)].data as Float32Array) };
  }

  dispose(): void {
    void this.session.release();
  }
}
