/**
 * One plain config object per model (as Vocos and DAC do). `paper` has the
 * sizes of the FlowMAC paper, `small` what trains usefully on one CPU core in
 * hours (chosen by measurement, see docs/training.md), `tiny` is for tests.
 */
export interface TransformerStackConfig {
  dim: number;
  layers: number;
  heads: number;
  ffDim: number;
  dropout: number;
  /** Attention sees +-window frames (0 = whole sequence). Bounded windows make block-wise decoding exact. */
  window: number;
}

export interface RvqConfig {
  dim: number;
  stages: number;
  codebookSize: number;
  /** EMA decay of the codebooks. */
  decay: number;
  /** Probability that an example trains with a random number of stages (quantizer dropout). */
  dropoutProb: number;
  /** Fewest stages quantizer dropout draws. */
  minStages: number;
  /** Codes whose EMA usage falls below this many assignments per batch are restarted from data. */
  deadThreshold: number;
}

export interface CfmConfig {
  /** U-Net channels per level (Matcha: [256, 256]). */
  channels: number[];
  blocksPerLevel: number;
  midBlocks: number;
  heads: number;
  headDim: number;
  groups: number;
  timeEmbDim: number;
  window: number;
  dropout: number;
  sigmaMin: number;
  /** Probability of dropping the condition in training (classifier-free guidance). */
  condDropProb: number;
}

export interface CodecConfig {
  name: string;
  nMels: number;
  encoder: TransformerStackConfig;
  decoder: TransformerStackConfig;
  rvq: RvqConfig;
  cfm: CfmConfig;
  /**
   * Loss weights. `cfm` (absent: 1) weights the flow-matching loss; 0 leaves the
   * CFM decoder out of the step altogether (a prior-first schedule: the default
   * decoder is the prior mel, and the CFM is ~60 % of a step's work). `bandDelta`
   * (absent: 0) weights an L1 term on the prior's error in the differences between
   * adjacent mel bands: harmonics are peaks across bands, which the prior's L1 + L2
   * on levels alone smooths where it is unsure.
   */
  loss: { prior: number; vq: number; cfm?: number; bandDelta?: number };
  /**
   * Residual linear paths around the encoder and decoder stacks: z = (x - m) V + enc(x),
   * mu = zq V^T + m + dec(zq), with trainable V [nMels, rvq.dim] and m [nMels]. With V, m
   * from a fitted linear codec's PCA and zero output projections, the codec starts as
   * the linear codec (src/train/warm-start.ts) and learns what the stacks add to it.
   */
  linearPath?: boolean;
}

export const FRAME_RATE = 24000 / 512; // 46.875 frames per second

/** kbit/s without float noise: 0.375, 1.125, 3. */
export const kbit = (bitsPerSecond: number) => String(Number((bitsPerSecond / 1000).toFixed(6)));

/** Bits per second for `stages` RVQ stages of 2^bits-entry codebooks. */
export function bitrate(stages: number, codebookSize = 256): number {
  return FRAME_RATE * stages * Math.log2(codebookSize);
}

function stack(dim: number, layers: number, heads: number, window: number, dropout = 0): TransformerStackConfig {
  return { dim, layers, heads, ffDim: 4 * dim, dropout, window };
}

export const CODEC_CONFIGS: Record<string, CodecConfig> = {
  paper: {
    name: "paper",
    nMels: 128,
    encoder: stack(128, 6, 2, 0, 0.1),
    decoder: stack(128, 6, 2, 0, 0.1),
    rvq: { dim: 16, stages: 8, codebookSize: 256, decay: 0.99, dropoutProb: 0.5, minStages: 1, deadThreshold: 0.5 },
    cfm: { channels: [256, 256], blocksPerLevel: 1, midBlocks: 2, heads: 2, headDim: 64, groups: 8, timeEmbDim: 1024, window: 0, dropout: 0.05, sigmaMin: 1e-4, condDropProb: 0.2 },
    loss: { prior: 0.01, vq: 0.25 },
  },
  small: {
    name: "small",
    nMels: 128,
    encoder: stack(128, 4, 2, 32),
    decoder: stack(128, 4, 2, 32),
    rvq: { dim: 16, stages: 8, codebookSize: 256, decay: 0.99, dropoutProb: 0.5, minStages: 1, deadThreshold: 0.5 },
    cfm: { channels: [128, 128], blocksPerLevel: 1, midBlocks: 1, heads: 2, headDim: 64, groups: 8, timeEmbDim: 256, window: 32, dropout: 0, sigmaMin: 1e-4, condDropProb: 0.2 },
    loss: { prior: 0.01, vq: 0.25 },
  },
  tiny: {
    name: "tiny",
    nMels: 128,
    encoder: stack(32, 1, 2, 8),
    decoder: stack(32, 1, 2, 8),
    rvq: { dim: 8, stages: 4, codebookSize: 64, decay: 0.9, dropoutProb: 0.5, minStages: 1, deadThreshold: 0.1 },
    cfm: { channels: [32, 32], blocksPerLevel: 1, midBlocks: 1, heads: 2, headDim: 16, groups: 4, timeEmbDim: 32, window: 8, dropout: 0, sigmaMin: 1e-4, condDropProb: 0.2 },
    loss: { prior: 0.01, vq: 0.25 },
  },
};

/** `<name>-lin`: the same model with the residual linear paths (warm-startable from a linear codec). */
for (const name of ["small", "tiny"]) CODEC_CONFIGS[`${name}-lin`] = { ...structuredClone(CODEC_CONFIGS[name]), name: `${name}-lin`, linearPath: true };
/**
 * `small-lin64`: codes 64 dimensions instead of 16 (same 8 x 8 bits per frame). A PCA to 16
 * dimensions loses 6.2% of the normalised mel's variance, far more than the RVQ's own error;
 * at 64 it loses 0.8%, and the linear codec's speech STOI rises 0.643 -> 0.705 (docs/results.md).
 */
CODEC_CONFIGS["small-lin64"] = { ...structuredClone(CODEC_CONFIGS["small-lin"]), name: "small-lin64" };
CODEC_CONFIGS["small-lin64"].rvq.dim = 64;

/**
 * The config of `base` with `stages` RVQ stages, named `<name>-cq<stages>` (FlowMAC-CQ
 * is the paper's name for its higher-rate model); an earlier -cq suffix is replaced.
 */
export function extendedConfig(base: CodecConfig, stages: number): CodecConfig {
  const c = structuredClone(base);
  c.name = `${base.name.replace(/-cq\d+$/, "")}-cq${stages}`;
  c.rvq.stages = stages;
  return c;
}

/**
 * `small-lin64-cq16`: 16 stages, 6 kbit/s (the paper's FlowMAC-CQ rate). Made from a trained
 * `small-lin64` by `flowmac extend-stages` (k-means stages 9-16 on its residual, networks
 * unchanged) or trained as it is.
 */
CODEC_CONFIGS["small-lin64-cq16"] = extendedConfig(CODEC_CONFIGS["small-lin64"], 16);
