/**
 * The codec's training step as one ONNX graph: loss, its parts and its
 * gradients with respect to every parameter (jax-js's valueAndGrad, traced),
 * plus the RVQ's EMA codebook update from this batch's codes. Parameters,
 * codebook buffers and the host-drawn batch are inputs; nothing random happens
 * inside. The optimiser and the dead-code restarts stay on the host.
 */
import { codecLoss, type CodecBatch, type CodecBuffers, type CodecParams, type HostCodecBatch } from "../model/codec.js";
import type { CodecConfig } from "../model/config.js";
import { emaCodebookUpdate } from "../model/rvq.js";
import { withConvAlgorithm } from "../nn/layers.js";
import { namedLeaves } from "../nn/params.js";
import { np, tree, valueAndGrad, type JArray } from "../nn/runtime.js";
import { exportOnnx, type ExportArg } from "../onnx/export.js";

/** Bumped whenever the traced step function changes (cached step graphs are keyed by it). */
export const CODEC_STEP_VERSION = 1;

export const BATCH_FIELDS = ["mel", "noise", "t", "tEmb", "condMask", "stageMask"] as const;
export const BUFFER_FIELDS = ["codebooks", "emaSum", "emaCount"] as const;
const SCALARS = ["loss", "prior", "cfm", "commit"] as const;

/** Graph output names, in order: the loss and its parts, codes and residuals, the new buffers per stage, one gradient per parameter. */
function codecStepOutputs(stages: number, params: number): string[] {
  const perStage = (name: string) => Array.from({ length: stages }, (_, s) => nextBufferOutput(name, s));
  return [...SCALARS, "codes", "residuals", ...BUFFER_FIELDS.flatMap(perStage), ...Array.from({ length: params }, (_, i) => gradOutput(i))];
}

/** Graph input names of the parameters (p.0, p.1, ... in namedLeaves order) and buffers (codebooks.0, ...). */
export const paramInput = (i: number) => `p.${i}`;
export const bufferInput = (field: string, stage: number) => `${field}.${stage}`;
export const nextBufferOutput = (field: string, stage: number) => `next.${field}.${stage}`;
export const gradOutput = (i: number) => `grad.${i}`;

/** Exports the step for batches of `batch`'s shapes; `params` and `buffers` give the input shapes (their values are not stored). */
export function exportCodecStep(c: CodecConfig, params: CodecParams, buffers: CodecBuffers, batch: HostCodecBatch): Uint8Array {
  const S = c.rvq.stages;
  const [B, T] = batch.mel.shape;
  const lossAndGrad = valueAndGrad((p: any, b: any, x: any): any => codecLoss(p, b, c, x), { hasAux: true });
  const step = (p: CodecParams, codebooks: JArray[], emaSum: JArray[], emaCount: JArray[], ...fields: JArray[]) => {
    const x = Object.fromEntries(BATCH_FIELDS.map((k, i) => [k, fields[i]])) as unknown as CodecBatch;
    const stageMask = x.stageMask.ref;
    const [[loss, aux], grads] = lossAndGrad(p, { codebooks: codebooks.map((a) => a.ref), emaSum: emaSum.map((a) => a.ref), emaCount: emaCount.map((a) => a.ref) }, x) as unknown as [[JArray, any], CodecParams];
    // Each frame weighs in the EMA by whether its stage was active for its example (as the jax-js step does on the host).
    const weights = np.broadcastTo(stageMask.reshape([S, B, 1]), [S, B, T]).reshape([S, B * T]);
    const next = emaCodebookUpdate({ codebooks, emaSum, emaCount }, aux.codes.ref, aux.residuals.ref, weights, np.array(new Float32Array([c.rvq.decay])).reshape([]));
    return [loss, aux.prior, aux.cfm, aux.commit, aux.codes, aux.residuals, ...next.codebooks, ...next.emaSum, ...next.emaCount, ...tree.leaves(grads)];
  };
  const zeros = (shape: number[]) => np.zeros(shape);
  const args: ExportArg[] = [
    { name: "p", value: tree.map((a: JArray) => zeros(a.shape), params as any), kind: "input" },
    ...BUFFER_FIELDS.map((f) => ({ name: f, value: buffers[f].map((a) => zeros(a.shape)), kind: "input" as const })),
    ...BATCH_FIELDS.map((f) => ({ name: f, value: zeros(batch[f].shape), kind: "input" as const })),
  ];
  // One plain matmul per convolution: onnxruntime's GEMMs gain nothing from Winograd's transforms.
  return withConvAlgorithm("im2col", () => exportOnnx("codec_step", step, args, codecStepOutputs(S, namedLeaves(params).length)));
}
