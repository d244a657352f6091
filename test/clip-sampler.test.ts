import { describe, expect, it } from "vitest";
import type { ClipKind } from "../src/corpus/build.js";
import { ClipSampler, type Clip } from "../src/train/data.js";
import { Rng } from "../src/nn/rng.js";

/** A clip that is only its manifest entry and length (the sampler reads nothing else). */
function clip(id: string, source: string, kind: ClipKind, frames: number): Clip {
  return {
    entry: { id, path: `${id}.wav`, source, package: source, licence: "-", kind, seconds: (frames * 512) / 24000, split: "train" },
    frames,
    samples: frames * 512,
    mel: () => new Float32Array(0),
    audio: () => new Float32Array(0),
  };
}

/** Share of n draws per source. */
function shares(sampler: ClipSampler, n: number): Map<string, number> {
  const rng = new Rng(3);
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const s = sampler.pick(rng).entry.source;
    out.set(s, (out.get(s) ?? 0) + 1 / n);
  }
  return out;
}

describe("clip sampler: kinds and sources", () => {
  // One long reader and two short voice sets, and some music.
  const clips = [
    ...Array.from({ length: 8 }, (_, i) => clip(`reader-${i}`, "reader", "speech-real", 1000)),
    clip("game-a-0", "game-a", "speech-real", 500),
    clip("game-b-0", "game-b", "speech-real", 300),
    clip("game-b-1", "game-b", "speech-real", 200),
    clip("tune-0", "tunes", "music-real", 2000),
    clip("short", "game-a", "speech-real", 10),
  ];
  const n = 40_000;

  it("draws by duration within a kind by default, kinds by their weights", () => {
    const s = shares(new ClipSampler(clips, 64), n);
    // speech-real 0.45 and music-real 0.25 of the weight present: 0.643 / 0.357.
    expect(s.get("tunes")!).toBeCloseTo(0.25 / 0.7, 1);
    // ~1400 draws of each game set: a ratio within 15 % of the durations' (the short clip is never drawn).
    expect(Math.abs(s.get("reader")! / s.get("game-a")! / (8000 / 500) - 1)).toBeLessThan(0.15);
    expect(Math.abs(s.get("game-b")! / s.get("game-a")! - 1)).toBeLessThan(0.15);
  });

  it("gives every source of a kind the same share at source balance 0, and follows given kind weights", () => {
    const s = shares(new ClipSampler(clips, 64, { sourceBalance: 0, kindWeights: { "speech-real": 0.75 } }), n);
    expect(s.get("tunes")!).toBeCloseTo(0.25, 1);
    for (const src of ["reader", "game-a", "game-b"]) expect(s.get(src)!).toBeCloseTo(0.75 / 3, 1);
  });

  it("never draws a clip shorter than the crop", () => {
    const rng = new Rng(9);
    const sampler = new ClipSampler(clips, 64, { sourceBalance: 0.5 });
    for (let i = 0; i < 5000; i++) expect(sampler.pick(rng).entry.id).not.toBe("short");
  });
});
