/**
 * Exports a loaded model's four networks to ONNX at the pipeline's block
 * shape: the encoder with the scores its RVQ search needs (against codebooks given as an input: the search's metric depends on the rate), the prior decoder (stage mask as an
 * input, so one graph serves every bit rate), one CFM vector-field evaluation
 * (batch 2 for guidance and batch 1), and the vocoder. model.json carries
 * what the pipeline needs besides the graphs (configs, mel statistics, model id).
 */
import { withConvAlgorithm } from "../nn/layers.js";
import { np } from "../nn/runtime.js";
import { exportOnnx } from "../onnx/export.js";
import { cfmVectorField } from "./cfm.js";
import { codecMetricParts, encodeScores, priorFromCodes, priorFromLatent } from "./codec.js";
import { hostCodebooks } from "./rvq.js";
import type { LoadedModel } from "./load.js";
import { BLOCK } from "./pipeline.js";
import { isRefinerConfig, refineMagnitude, type RefinerParams } from "./refiner.js";
import { generate } from "./vocoder.js";
import { vocosSpectrum, type VocosParams } from "./vocos.js";

import { ONNX_FORMAT, type GraphName, type OnnxBundle } from "./export-onnx-names.js";

export { CODEBOOKS_FILE, SEARCH_METRIC_FILE, ONNX_FORMAT, ONNX_GRAPHS, type GraphName, type OnnxBundle } from "./export-onnx-names.js";

export function exportModelOnnx(m: LoadedModel): OnnxBundle {
  return withConvAlgorithm("im2col", () => exportGraphs(m));
}

function exportGraphs(m: LoadedModel): OnnxBundle {
  const c = m.info.codec;
  const n = c.nMels;
  const S = c.rvq.stages;
  const w = (value: unknown) => ({ name: "w", value, kind: "weight" as const });
  const input = (name: string, value: unknown) => ({ name, value, kind: "input" as const });
  const zeros = (shape: number[]) => np.zeros(shape);
  const cfm = (B: number) =>
    exportOnnx(`cfm${B}`, (p: any, x: any, mu: any, t: any) => cfmVectorField(p, c.cfm, x, mu, t), [w(m.codec.cfm), input("x", zeros([B, BLOCK, n])), input("mu", zeros([B, BLOCK, n])), input("t_emb", zeros([B, c.cfm.channels[0]]))], ["v"]);
  const graphs: Record<GraphName, Uint8Array> = {
    encoder: exportOnnx("encoder", (p: any, b: any, mel: any, valid: any) => encodeScores(p, b, c, mel, valid), [w(m.codec), input("books", zeros([S * c.rvq.codebookSize, c.rvq.dim])), input("mel", zeros([1, BLOCK, n])), input("valid", zeros([BLOCK]))], ["scores"]),
    prior: exportOnnx("prior", (p: any, b: any, codes: any, mask: any, valid: any) => priorFromCodes(p, b, c, codes, mask, valid), [w(m.codec), { name: "b", value: m.buffers, kind: "weight" }, input("codes", np.zeros([S, BLOCK], { dtype: np.int32 })), input("mask", zeros([S, BLOCK])), input("valid", zeros([BLOCK]))], ["mu"]),
    "prior-latent": exportOnnx("prior-latent", (p: any, zq: any, valid: any) => priorFromLatent(p, c, zq, valid), [w(m.codec), input("zq", zeros([1, BLOCK, c.rvq.dim])), input("valid", zeros([BLOCK]))], ["mu"]),
    cfm1: cfm(1),
    cfm2: cfm(2),
    vocoder: exportVocoder(m),
  };
  return { info: { ...m.info, block: BLOCK, format: ONNX_FORMAT }, graphs, codebooks: hostCodebooks(m.buffers), metric: codecMetricParts(m.codec, c) };
}

/**
 * The vocoder graph: Vocos-style generators stop at their spectrum (outputs re
 * and im [1, BLOCK, nFft/2 + 1]; the engine runs the inverse STFT on a host
 * FFT); a refiner maps the mel and its log NNLS prior [1, BLOCK, nFft/2 + 1]
 * to log-magnitude (the engine computes the prior and the phase on the host);
 * other generators output audio.
 */
function exportVocoder(m: LoadedModel): Uint8Array {
  const v = m.info.vocoder;
  const mel = { name: "mel", value: np.zeros([1, BLOCK, m.info.codec.nMels]), kind: "input" as const };
  const weights = { name: "w", value: m.generator, kind: "weight" as const };
  if (isRefinerConfig(v)) {
    const g = v.generator;
    const prior = { name: "prior", value: np.zeros([1, BLOCK, g.nFft / 2 + 1]), kind: "input" as const };
    return exportOnnx("vocoder", (p: any, x: any, lp: any) => refineMagnitude(p as RefinerParams, g, x, lp), [weights, mel, prior], ["logmag"]);
  }
  const g = v.generator;
  if (g.kind === "vocos") return exportOnnx("vocoder", (p: any, x: any) => vocosSpectrum(p as VocosParams, g, x), [weights, mel], ["re", "im"]);
  return exportOnnx("vocoder", (p: any, x: any) => generate(p, v, x), [weights, mel], ["audio"]);
}
