/**
 * The fast engine: the exported ONNX graphs on onnxruntime (onnxruntime-node
 * in Node, onnxruntime-web in browsers; the caller passes the module), one
 * intra-op thread. Same interface, same block shapes as the jax-js engine.
 */
import type * as OrtTypes from "onnxruntime-common";
import type { EncodedBlock, EngineInfo, InferenceEngine, VocodeSettings } from "./engine.js";
import { ONNX_FORMAT, ONNX_GRAPHS, type GraphName, type OnnxBundle } from "./export-onnx-names.js";
import { BLOCK } from "./pipeline.js";
import { UserError } from "../util/errors.js";
import { loadFastFft } from "../audio/fft.js";
import { InverseStft } from "../audio/istft.js";
import { RefinerVocoder } from "./refiner-host.js";
import type { SearchOptions } from "./rvq-search.js";
import { WeightedSearches } from "./search-metric.js";

type Ort = typeof OrtTypes;

/** Why graphs exported as `info` describes cannot run with this version of flowmac, or null if they can. */
export function bundleVersionProblem(info: OnnxBundle["info"]): string | null {
  if (info.format === ONNX_FORMAT && info.block === BLOCK) return null;
  return `exported by another version of flowmac (format ${info.format ?? 1}, blocks of ${info.block}; this one needs format ${ONNX_FORMAT}, blocks of ${BLOCK})`;
}

/** Values from the bytes of a bundle's CODEBOOKS_FILE or SEARCH_METRIC_FILE (little-endian float32; copied, so any alignment will do). */
export function float32sFrom(bytes: Uint8Array, file: string): Float32Array {
  if (bytes.length % 4) throw new UserError(`ONNX model: ${file} has ${bytes.length} bytes, not a whole number of float32 values`);
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return out; // little-endian host: the bytes are the values
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = v.getFloat32(4 * i, true);
  return out;
}

export interface OnnxEngineOptions {
  /** Intra-op threads (default 1). */
  threads?: number;
  /**
   * Least severity onnxruntime logs (0 verbose ... 4 fatal). Default 4: its own
   * log lines (an error at 3) would reach the terminal next to the error the
   * caller reports anyway.
   */
  logSeverity?: 0 | 1 | 2 | 3 | 4;
}

const LOG_LEVELS = ["verbose", "info", "warning", "error", "fatal"] as const;

/**
 * Session options. onnxruntime's SkipLayerNormFusion is switched off: its fused
 * Add + LayerNormalization kernel measured 5-7x slower here than the two ops it
 * replaces (~0.29 ms vs ~0.06 ms per [320, 128] residual), ~8% of an encoder block.
 */
export const SESSION_OPTIONS = (threads: number, logSeverity: OnnxEngineOptions["logSeverity"]): OrtTypes.InferenceSession.SessionOptions => ({
  intraOpNumThreads: threads,
  logSeverityLevel: logSeverity,
  interOpNumThreads: 1,
  graphOptimizationLevel: "all",
  executionMode: "sequential",
  extra: { optimization: { disable_specified_optimizers: "SkipLayerNormFusion" } },
});

export class OnnxEngine implements InferenceEngine {
  readonly name = "onnx";
  /**
   * Sessions are created on first use: building one costs ~0.1-0.5 s, and an encode needs the
   * encoder's alone, a decode never needs it (a CLI run used to spend ~1 s building all five).
   */
  private readonly sessions = new Map<GraphName, Promise<OrtTypes.InferenceSession>>();
  /** Rows [stages * codebookSize, dim]: the identity, then zeros (latent()). */
  private identityBooks: Float32Array | null = null;
  private constructor(
    readonly info: EngineInfo,
    private ort: Ort,
    private graphs: Record<GraphName, Uint8Array>,
    private options: OrtTypes.InferenceSession.SessionOptions,
    /** Set when the vocoder graph outputs a spectrum (Vocos-style generators). */
    private istft: InverseStft | null,
    /** Set when the vocoder graph outputs log-magnitude (a refiner): its prior and phase on the host. */
    private refiner: RefinerVocoder | null,
    private searches: WeightedSearches,
    private metricParts: Float32Array,
  ) {}

  static async create(ort: Ort, bundle: OnnxBundle, { threads = 1, logSeverity = 4 }: OnnxEngineOptions = {}): Promise<OnnxEngine> {
    const problem = bundleVersionProblem(bundle.info);
    if (problem) throw new UserError(`ONNX model was ${problem}: re-export it with \`flowmac export\``);
    ort.env.logLevel = LOG_LEVELS[logSeverity]; // the process-wide logger: read when the first session is created
    for (const name of ONNX_GRAPHS) if (!(bundle.graphs[name]?.length > 0)) throw new UserError(`ONNX model: no ${name} graph`);
    // The vocoder's host side follows from its kind; its graph's outputs are checked when its session is built.
    const g = bundle.info.vocoder.generator;
    const istft = g.kind === "vocos" ? new InverseStft(await loadFastFft(g.nFft), g.hop) : null;
    const refiner = g.kind === "refiner" ? await RefinerVocoder.create(g) : null;
    const { stages, codebookSize, dim } = bundle.info.codec.rvq;
    if (bundle.codebooks.length !== stages * codebookSize * dim) throw new UserError(`ONNX model: ${bundle.codebooks.length} codebook values where the model has ${stages} x ${codebookSize} x ${dim}`);
    if (bundle.metric.length !== 0 && bundle.metric.length !== 2 * dim * dim) throw new UserError(`ONNX model: ${bundle.metric.length} search-metric values where the model needs 0 or 2 x ${dim} x ${dim}`);
    return new OnnxEngine(bundle.info, ort, bundle.graphs, SESSION_OPTIONS(threads, logSeverity), istft, refiner, new WeightedSearches(bundle.codebooks, stages, codebookSize, dim, bundle.metric), bundle.metric);
  }

  /** The session of graph `name`, built on first use. */
  private session(name: GraphName): Promise<OrtTypes.InferenceSession> {
    let s = this.sessions.get(name);
    if (!s) {
      s = this.ort.InferenceSession.create(this.graphs[name], this.options).then((session) => {
        if (name === "vocoder") this.checkVocoderOutputs(session.outputNames);
        return session;
      });
      this.sessions.set(name, s);
    }
    return s;
  }

  /** The vocoder graph must output what its kind's host side reads. */
  private checkVocoderOutputs(outputs: readonly string[]): void {
    const want = this.istft ? "re" : this.refiner ? "logmag" : "audio";
    const kind = this.info.vocoder.generator.kind;
    if (!outputs.includes(want)) throw new UserError(`ONNX model: the vocoder is ${kind} but its graph has no '${want}' output (outputs: ${outputs.join(", ")})`);
  }

  private f32(data: Float32Array, dims: number[]) {
    return new this.ort.Tensor("float32", data, dims);
  }

  async encode(melNorm: Float32Array, frames: number, search: SearchOptions | undefined, valid: Float32Array): Promise<EncodedBlock> {
    const { score, rvq } = this.searches.get(search?.highBandWeight);
    const { stages, codebookSize, dim } = this.info.codec.rvq;
    const out = await (await this.session("encoder")).run({ books: this.f32(score, [stages * codebookSize, dim]), mel: this.f32(melNorm, [1, frames, this.info.codec.nMels]), valid: this.f32(valid, [frames]) });
    const { codes, prefixError } = rvq.search(out.scores.data as Float32Array, frames, search);
    return { codes, prefixError };
  }

  async prior(codes: Int32Array, mask: Float32Array, frames: number, valid: Float32Array): Promise<Float32Array> {
    const S = this.info.codec.rvq.stages;
    const out = await (await this.session("prior")).run({ codes: new this.ort.Tensor("int32", codes, [S, frames]), mask: this.f32(mask, [S, frames]), valid: this.f32(valid, [frames]) });
    return out.mu.data as Float32Array;
  }

  searchMetricParts(): Float32Array {
    return this.metricParts;
  }

  /** The encoder graph's scores against the identity (zero rows beyond it) are the latent itself: no second encoder graph. */
  async latent(melNorm: Float32Array, frames: number, valid: Float32Array): Promise<Float32Array> {
    const { stages, codebookSize, dim } = this.info.codec.rvq;
    const rows = stages * codebookSize;
    if (!this.identityBooks) {
      this.identityBooks = new Float32Array(rows * dim);
      for (let i = 0; i < dim; i++) this.identityBooks[i * dim + i] = 1;
    }
    const out = await (await this.session("encoder")).run({ books: this.f32(this.identityBooks, [rows, dim]), mel: this.f32(melNorm, [1, frames, this.info.codec.nMels]), valid: this.f32(valid, [frames]) });
    const scores = out.scores.data as Float32Array;
    const z = new Float32Array(frames * dim);
    for (let t = 0; t < frames; t++) z.set(scores.subarray(t * rows, t * rows + dim), t * dim);
    return z;
  }

  async priorFromLatent(zq: Float32Array, frames: number, valid: Float32Array): Promise<Float32Array> {
    const out = await (await this.session("prior-latent")).run({ zq: this.f32(zq, [1, frames, this.info.codec.rvq.dim]), valid: this.f32(valid, [frames]) });
    return out.mu.data as Float32Array;
  }

  async vectorField(x: Float32Array, mu: Float32Array, tEmb: Float32Array, batch: number, frames: number): Promise<Float32Array> {
    const n = this.info.codec.nMels;
    if (batch !== 1 && batch !== 2) throw new Error(`onnx engine: no CFM graph for batch ${batch}`);
    const out = await (await this.session(batch === 2 ? "cfm2" : "cfm1")).run({ x: this.f32(x, [batch, frames, n]), mu: this.f32(mu, [batch, frames, n]), t_emb: this.f32(tEmb, [batch, tEmb.length / batch]) });
    return out.v.data as Float32Array;
  }

  async vocode(mel: Float32Array, frames: number, o?: VocodeSettings): Promise<Float32Array> {
    if (this.refiner) {
      const n = this.info.codec.nMels;
      return this.refiner.vocode(mel, frames, async (m, logPrior, f) => {
        const out = await (await this.session("vocoder")).run({ mel: this.f32(m, [1, f, n]), prior: this.f32(logPrior, [1, f, logPrior.length / f]) });
        return out.logmag.data as Float32Array;
      }, o);
    }
    const out = await (await this.session("vocoder")).run({ mel: this.f32(mel, [1, frames, this.info.codec.nMels]) });
    if (this.istft) return this.istft.synthesise(out.re.data as Float32Array, out.im.data as Float32Array, frames);
    return out.audio.data as Float32Array;
  }

  dispose(): void {
    for (const s of this.sessions.values()) void s.then((session) => session.release(), () => {});
    this.sessions.clear();
  }
}
