/** The reference engine: the jax-js model code itself, jit-compiled per block shape. */
import { jit, np, tree, type JArray } from "../nn/runtime.js";
import type { CodecBuffers, CodecParams } from "./codec.js";
import { cfmVectorField } from "./cfm.js";
import { dequantize, nearestCode } from "./rvq.js";
import { transformerStack } from "./transformer-stack.js";
import { generate, type GeneratorParams } from "./vocoder.js";
import type { EngineInfo, InferenceEngine } from "./engine.js";
import { lax } from "../nn/runtime.js";

export class JaxEngine implements InferenceEngine {
  readonly name = "jax";
  private encodeFn: (p: any, b: any, mel: JArray) => JArray;
  private priorFns = new Map<number, (p: any, b: any, codes: JArray) => JArray>();
  private fieldFn: (p: any, x: JArray, mu: JArray, t: JArray) => JArray;
  private vocodeFn: (p: any, mel: JArray) => JArray;

  constructor(
    readonly info: EngineInfo,
    private codec: CodecParams,
    private buffers: CodecBuffers,
    private generator: GeneratorParams,
  ) {
    const c = info.codec;
    this.encodeFn = jit((p: any, b: any, mel: JArray) => {
      const T = mel.shape[1];
      let r = transformerStack(p.encoder, c.encoder, mel).reshape([T, c.rvq.dim]);
      const codes: JArray[] = [];
      for (const cb of b.codebooks as JArray[]) {
        const idx = nearestCode(r.ref, cb);
        r = r.sub(np.take(cb.ref, idx.ref, 0));
        codes.push(idx);
      }
      r.dispose();
      return np.stack(codes, 0);
    });
    this.fieldFn = jit((p: any, x: JArray, mu: JArray, t: JArray) => cfmVectorField(p, c.cfm, x, mu, t));
    this.vocodeFn = jit((p: any, mel: JArray) => generate(p, info.vocoder, mel));
    void lax;
  }

  async encode(melNorm: Float32Array, frames: number): Promise<Int32Array> {
    const out = this.encodeFn(tree.ref(this.codec), tree.ref(this.buffers), np.array(melNorm).reshape([1, frames, this.info.codec.nMels]));
    return Int32Array.from(out.dataSync() as Int32Array);
  }

  async prior(codes: Int32Array, stages: number, frames: number): Promise<Float32Array> {
    const c = this.info.codec;
    let f = this.priorFns.get(stages);
    if (!f) {
      f = jit((p: any, b: any, cd: JArray) => {
        const zq = dequantize(b, cd, stages).reshape([1, frames, c.rvq.dim]);
        return transformerStack(p.decoder, c.decoder, zq);
      });
      this.priorFns.set(stages, f);
    }
    const out = f(tree.ref(this.codec), tree.ref(this.buffers), np.array(codes, { dtype: np.int32 }).reshape([stages, frames]));
    return Float32Array.from(out.dataSync() as Float32Array);
  }

  async vectorField(x: Float32Array, mu: Float32Array, tEmb: Float32Array, batch: number, frames: number): Promise<Float32Array> {
    const n = this.info.codec.nMels;
    const out = this.fieldFn(
      tree.ref(this.codec.cfm),
      np.array(x).reshape([batch, frames, n]),
      np.array(mu).reshape([batch, frames, n]),
      np.array(tEmb).reshape([batch, -1]),
    );
    return Float32Array.from(out.dataSync() as Float32Array);
  }

  async vocode(mel: Float32Array, frames: number): Promise<Float32Array> {
    const out = this.vocodeFn(tree.ref(this.generator), np.array(mel).reshape([1, frames, this.info.codec.nMels]));
    return Float32Array.from(out.dataSync() as Float32Array);
  }

  dispose(): void {
    tree.dispose(this.codec);
    tree.dispose(this.buffers);
    tree.dispose(this.generator);
  }
}
