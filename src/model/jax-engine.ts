/** The reference engine: the jax-js model code itself, jit-compiled per block shape. */
import { jit, np, tree, type JArray } from "../nn/runtime.js";
import { codecMetricParts, encodeScores, encoderLatent, priorFromCodes, priorFromLatent, type CodecBuffers, type CodecParams } from "./codec.js";
import type { SearchOptions } from "./rvq-search.js";
import { hostCodebooks } from "./rvq.js";
import { WeightedSearches } from "./search-metric.js";
import { cfmVectorField } from "./cfm.js";
import { generate, type AnyVocoderParams } from "./vocoder.js";
import { isRefinerConfig, refineMagnitude, type RefinerParams } from "./refiner.js";
import { RefinerVocoder } from "./refiner-host.js";
import type { EncodedBlock, EngineInfo, InferenceEngine, VocodeSettings } from "./engine.js";

export class JaxEngine implements InferenceEngine {
  readonly name = "jax";
  private encodeFn: (p: any, b: any, mel: JArray, valid: JArray) => JArray;
  private priorFn: (p: any, b: any, codes: JArray, mask: JArray, valid: JArray) => JArray;
  private latentFn: (p: any, mel: JArray, valid: JArray) => JArray;
  private priorLatentFn: (p: any, zq: JArray, valid: JArray) => JArray;
  private fieldFn: (p: any, x: JArray, mu: JArray, t: JArray) => JArray;
  /** The vocoder: audio from the mel, or (a refiner) log-magnitude from the mel and its log NNLS prior. */
  private vocodeFn: ((p: any, mel: JArray) => JArray) | null = null;
  private refineFn: ((p: any, mel: JArray, logPrior: JArray) => JArray) | null = null;
  private refiner: Promise<RefinerVocoder> | null = null;
  private searches: WeightedSearches;
  private metricParts: Float32Array;

  constructor(
    readonly info: EngineInfo,
    private codec: CodecParams,
    private buffers: CodecBuffers,
    private generator: AnyVocoderParams,
  ) {
    const c = info.codec;
    this.encodeFn = jit((p: any, b: any, mel: JArray, valid: JArray) => encodeScores(p, b, c, mel, valid));
    this.metricParts = codecMetricParts(codec, c);
    this.searches = new WeightedSearches(hostCodebooks(buffers), c.rvq.stages, c.rvq.codebookSize, c.rvq.dim, this.metricParts);
    this.priorFn = jit((p: any, b: any, codes: JArray, mask: JArray, valid: JArray) => priorFromCodes(p, b, c, codes, mask, valid));
    this.latentFn = jit((p: any, mel: JArray, valid: JArray) => encoderLatent(p, c, mel, valid));
    this.priorLatentFn = jit((p: any, zq: JArray, valid: JArray) => priorFromLatent(p, c, zq, valid));
    this.fieldFn = jit((p: any, x: JArray, mu: JArray, t: JArray) => cfmVectorField(p, c.cfm, x, mu, t));
    const v = info.vocoder;
    if (isRefinerConfig(v)) this.refineFn = jit((p: any, mel: JArray, logPrior: JArray) => refineMagnitude(p as RefinerParams, v.generator, mel, logPrior));
    else this.vocodeFn = jit((p: any, mel: JArray) => generate(p, v, mel));
  }

  async encode(melNorm: Float32Array, frames: number, search: SearchOptions | undefined, valid: Float32Array): Promise<EncodedBlock> {
    const { score, rvq } = this.searches.get(search?.highBandWeight);
    const out = this.encodeFn(tree.ref(this.codec), np.array(score).reshape([-1, this.info.codec.rvq.dim]), np.array(melNorm).reshape([1, frames, this.info.codec.nMels]), np.array(valid));
    const { codes, prefixError } = rvq.search(out.dataSync() as Float32Array, frames, search);
    return { codes, prefixError };
  }

  async prior(codes: Int32Array, mask: Float32Array, frames: number, valid: Float32Array): Promise<Float32Array> {
    const S = this.info.codec.rvq.stages;
    const out = this.priorFn(tree.ref(this.codec), tree.ref(this.buffers), np.array(codes, { dtype: np.int32 }).reshape([S, frames]), np.array(mask).reshape([S, frames]), np.array(valid));
    return Float32Array.from(out.dataSync() as Float32Array);
  }

  searchMetricParts(): Float32Array {
    return this.metricParts;
  }

  async latent(melNorm: Float32Array, frames: number, valid: Float32Array): Promise<Float32Array> {
    const out = this.latentFn(tree.ref(this.codec), np.array(melNorm).reshape([1, frames, this.info.codec.nMels]), np.array(valid));
    return Float32Array.from(out.dataSync() as Float32Array);
  }

  async priorFromLatent(zq: Float32Array, frames: number, valid: Float32Array): Promise<Float32Array> {
    const out = this.priorLatentFn(tree.ref(this.codec), np.array(zq).reshape([1, frames, this.info.codec.rvq.dim]), np.array(valid));
    return Float32Array.from(out.dataSync() as Float32Array);
  }

  async vectorField(x: Float32Array, mu: Float32Array, tEmb: Float32Array, batch: number, frames: number): Promise<Float32Array> {
    const n = this.info.codec.nMels;
    const out = this.fieldFn(tree.ref(this.codec.cfm), np.array(x).reshape([batch, frames, n]), np.array(mu).reshape([batch, frames, n]), np.array(tEmb).reshape([batch, -1]));
    return Float32Array.from(out.dataSync() as Float32Array);
  }

  async vocode(mel: Float32Array, frames: number, o?: VocodeSettings): Promise<Float32Array> {
    const v = this.info.vocoder;
    if (isRefinerConfig(v)) {
      this.refiner ??= RefinerVocoder.create(v.generator);
      const bins = v.generator.nFft / 2 + 1;
      return (await this.refiner).vocode(mel, frames, async (m, logPrior, f) => {
        const out = this.refineFn!(tree.ref(this.generator), np.array(m).reshape([1, f, v.generator.nMels]), np.array(logPrior).reshape([1, f, bins]));
        return Float32Array.from(out.dataSync() as Float32Array);
      }, o);
    }
    const out = this.vocodeFn!(tree.ref(this.generator), np.array(mel).reshape([1, frames, this.info.codec.nMels]));
    return Float32Array.from(out.dataSync() as Float32Array);
  }

  dispose(): void {
    tree.dispose(this.codec);
    tree.dispose(this.buffers);
    tree.dispose(this.generator);
  }
}
