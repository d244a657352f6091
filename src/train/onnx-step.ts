/**
 * The codec's training step on onnxruntime (one intra-op thread, as the
 * inference engine runs): the exported step graph (codec-step-graph.ts) fed
 * with the optimiser's host weights, the codebook buffers and a host-drawn
 * batch. Exported once per config and batch shape, cached on disk.
 */
import type * as OrtTypes from "onnxruntime-common";
import type { CodecBuffers, CodecParams, HostCodecBatch } from "../model/codec.js";
import type { CodecConfig } from "../model/config.js";
import { SESSION_OPTIONS } from "../model/onnx-engine.js";
import { namedLeaves } from "../nn/params.js";
import { BATCH_FIELDS, BUFFER_FIELDS, bufferInput, CODEC_STEP_VERSION, exportCodecStep, gradOutput, nextBufferOutput, paramInput } from "./codec-step-graph.js";
import { cachedStepGraph } from "./step-graph-cache.js";

type Ort = typeof OrtTypes;

/** Host copies of the RVQ buffers, per stage. */
export type HostCodecBuffers = Record<(typeof BUFFER_FIELDS)[number], Float32Array[]>;

export interface CodecStepResult {
  loss: number;
  prior: number;
  cfm: number;
  commit: number;
  /** [S, N] */
  codes: Int32Array;
  /** [S, N, D] */
  residuals: Float32Array;
  /** After this batch's EMA update. */
  buffers: HostCodecBuffers;
  /** In namedLeaves(params) order. */
  grads: Float32Array[];
}

export class OnnxCodecStep {
  private constructor(
    private ort: Ort,
    private session: OrtTypes.InferenceSession,
    private paramShapes: number[][],
    private bufferShapes: Record<string, number[][]>,
    private stages: number,
  ) {}

  static async create(ort: Ort, c: CodecConfig, params: CodecParams, buffers: CodecBuffers, batch: HostCodecBatch): Promise<OnnxCodecStep> {
    const shapes = Object.fromEntries(BATCH_FIELDS.map((f) => [f, batch[f].shape]));
    const bytes = cachedStepGraph("codec", { step: CODEC_STEP_VERSION, config: c, shapes }, () => exportCodecStep(c, params, buffers, batch));
    const session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS(1, 4));
    const bufferShapes = Object.fromEntries(BUFFER_FIELDS.map((f) => [f, buffers[f].map((a) => a.shape.slice())]));
    return new OnnxCodecStep(ort, session, namedLeaves(params).map(([, a]) => a.shape.slice()), bufferShapes, c.rvq.stages);
  }

  async run(weights: Float32Array[], buffers: HostCodecBuffers, batch: HostCodecBatch): Promise<CodecStepResult> {
    const f32 = (data: Float32Array, dims: number[]) => new this.ort.Tensor("float32", data, dims);
    const feeds: Record<string, OrtTypes.Tensor> = {};
    weights.forEach((w, i) => (feeds[paramInput(i)] = f32(w, this.paramShapes[i])));
    for (const f of BUFFER_FIELDS) buffers[f].forEach((b, s) => (feeds[bufferInput(f, s)] = f32(b, this.bufferShapes[f][s])));
    for (const f of BATCH_FIELDS) feeds[f] = f32(batch[f].data, batch[f].shape);
    const out = await this.session.run(feeds);
    const scalar = (k: string) => (out[k].data as Float32Array)[0];
    const S = this.stages;
    const perStage = (f: string) => Array.from({ length: S }, (_, s) => out[nextBufferOutput(f, s)].data as Float32Array);
    return {
      loss: scalar("loss"),
      prior: scalar("prior"),
      cfm: scalar("cfm"),
      commit: scalar("commit"),
      codes: out.codes.data as Int32Array,
      residuals: out.residuals.data as Float32Array,
      buffers: { codebooks: perStage("codebooks"), emaSum: perStage("emaSum"), emaCount: perStage("emaCount") },
      grads: weights.map((_, i) => out[gradOutput(i)].data as Float32Array),
    };
  }

  dispose(): void {
    void this.session.release();
  }
}
