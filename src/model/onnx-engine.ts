/**
 * The fast engine: the exported ONNX graphs on onnxruntime (onnxruntime-node
 * in Node, onnxruntime-web in browsers; the caller passes the module), one
 * intra-op thread. Same interface, same block shapes as the jax-js engine.
 */
import type * as OrtTypes from "onnxruntime-common";
import type { EncodedBlock, EngineInfo, InferenceEngine } from "./engine.js";
import { ONNX_FORMAT, type GraphName, type OnnxBundle } from "./export-onnx-names.js";
import { BLOCK } from "./pipeline.js";
import { UserError } from "../util/errors.js";
import { loadFastFft } from "../audio/fft.js";
import { InverseStft } from "../audio/istft.js";
import { RefinerVocoder } from "./refiner-host.js";
import { RvqSearch, type SearchOptions } from "./rvq-search.js";

type Ort = typeof OrtTypes;

/** Why graphs exported as `info` describes cannot run with this version of flowmac, or null if they can. */
export function bundleVersionProblem(info: OnnxBundle["info"]): string | null {
  if (info.format === ONNX_FORMAT && info.block === BLOCK) return null;
  return `exported by another version of flowmac (format ${info.format ?? 1}, blocks of ${info.block}; this one needs format ${ONNX_FORMAT}, blocks of ${BLOCK})`;
}

/** Codebooks from the bytes of a bundle's CODEBOOKS_FILE (little-endian float32; copied, so any alignment will do). */
export function codebooksFrom(bytes: Uint8Array): Float32Array {
  if (bytes.length % 4) throw new UserError(`ONNX model: the codebooks file has ${bytes.length} bytes, not a whole number of float32 values`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float32Array.from({ length: bytes.length / 4 }, (_, i) => v.getFloat32(4 * i, true));
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
  private constructor(
    readonly info: EngineInfo,
    private ort: Ort,
    private sessions: Record<GraphName, OrtTypes.InferenceSession>,
    /** Set when the vocoder graph outputs a spectrum (Vocos-style generators). */
    private istft: InverseStft | null,
    /** Set when the vocoder graph outputs log-magnitude (a refiner): its prior and phase on the host. */
    private refiner: RefinerVocoder | null,
    private rvq: RvqSearch,
  ) {}

  static async create(ort: Ort, bundle: OnnxBundle, { threads = 1, logSeverity = 4 }: OnnxEngineOptions = {}): Promise<OnnxEngine> {
    const problem = bundleVersionProblem(bundle.info);
    if (problem) throw new UserError(`ONNX model was ${problem}: re-export it with \`flowmac export\``);
    ort.env.logLevel = LOG_LEVELS[logSeverity]; // the process-wide logger: read when the first session is created
    const sessions = {} as Record<GraphName, OrtTypes.InferenceSession>;
    for (const [name, bytes] of Object.entries(bundle.graphs) as [GraphName, Uint8Array][])
      sessions[name] = await ort.InferenceSession.create(bytes, SESSION_OPTIONS(threads, logSeverity));
    let istft: InverseStft | null = null;
    let refiner: RefinerVocoder | null = null;
    const g = bundle.info.vocoder.generator;
    if (sessions.vocoder.outputNames.includes("re")) {
      if (g.kind !== "vocos") throw new UserError("ONNX model: the vocoder graph outputs a spectrum but the vocoder is not Vocos-style");
      istft = new InverseStft(await loadFastFft(g.nFft), g.hop);
    } else if (sessions.vocoder.outputNames.includes("logmag")) {
      if (g.kind !== "refiner") throw new UserError("ONNX model: the vocoder graph outputs log-magnitude but the vocoder is not a refiner");
      refiner = await RefinerVocoder.create(g);
    }
    const { stages, codebookSize, dim } = bundle.info.codec.rvq;
    if (bundle.codebooks.length !== stages * codebookSize * dim) throw new UserError(`ONNX model: ${bundle.codebooks.length} codebook values where the model has ${stages} x ${codebookSize} x ${dim}`);
    return new OnnxEngine(bundle.info, ort, sessions, istft, refiner, new RvqSearch(bundle.codebooks, stages, codebookSize, dim));
  }

  private f32(data: Float32Array, dims: number[]) {
    return new this.ort.Tensor("float32", data, dims);
  }

  async encode(melNorm: Float32Array, frames: number, search: SearchOptions | undefined, valid: Float32Array): Promise<EncodedBlock> {
    const out = await this.sessions.encoder.run({ mel: this.f32(melNorm, [1, frames, this.info.codec.nMels]), valid: this.f32(valid, [frames]) });
    const { codes, prefixError } = this.rvq.search(out.scores.data as Float32Array, frames, search);
    return { codes, prefixError };
  }

  async prior(codes: Int32Array, mask: Float32Array, frames: number, valid: Float32Array): Promise<Float32Array> {
    const S = this.info.codec.rvq.stages;
    const out = await this.sessions.prior.run({ codes: new this.ort.Tensor("int32", codes, [S, frames]), mask: this.f32(mask, [S, frames]), valid: this.f32(valid, [frames]) });
    return out.mu.data as Float32Array;
  }

  async vectorField(x: Float32Array, mu: Float32Array, tEmb: Float32Array, batch: number, frames: number): Promise<Float32Array> {
    const n = this.info.codec.nMels;
    const s = batch === 2 ? this.sessions.cfm2 : batch === 1 ? this.sessions.cfm1 : null;
    if (!s) throw new Error(`onnx engine: no CFM graph for batch ${batch}`);
    const out = await s.run({ x: this.f32(x, [batch, frames, n]), mu: this.f32(mu, [batch, frames, n]), t_emb: this.f32(tEmb, [batch, tEmb.length / batch]) });
    return out.v.data as Float32Array;
  }

  async vocode(mel: Float32Array, frames: number): Promise<Float32Array> {
    if (this.refiner) {
      const n = this.info.codec.nMels;
      return this.refiner.vocode(mel, frames, async (m, logPrior, f) => {
        const out = await this.sessions.vocoder.run({ mel: this.f32(m, [1, f, n]), prior: this.f32(logPrior, [1, f, logPrior.length / f]) });
        return out.logmag.data as Float32Array;
      });
    }
    const out = await this.sessions.vocoder.run({ mel: this.f32(mel, [1, frames, this.info.codec.nMels]) });
    if (this.istft) return this.istft.synthesise(out.re.data as Float32Array, out.im.data as Float32Array, frames);
    return out.audio.data as Float32Array;
  }

  dispose(): void {
    for (const s of Object.values(this.sessions)) void s.release();
  }
}
