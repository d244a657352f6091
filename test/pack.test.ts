import { describe, expect, it } from "vitest";
import type { ManifestEntry } from "../src/corpus/build.js";
import { Rng } from "../src/nn/rng.js";
import { BANDS, memoryClip } from "../src/train/clip.js";
import { ClipPacker, MIN_PACKED_FRAMES } from "../src/train/pack.js";

/** A clip whose frame f holds the value id * 1000 + f in every band, so a crop tells where each frame came from. */
function clip(id: number, source: string, frames: number) {
  const data = Float32Array.from({ length: frames * BANDS }, (_, i) => id * 1000 + Math.floor(i / BANDS));
  return memoryClip({ id: `c${id}`, source, kind: "speech-real" } as ManifestEntry, new Float32Array(frames * 512), { frames, bands: BANDS, data });
}
const origin = (crop: Float32Array, f: number) => ({ id: Math.floor(crop[f * BANDS] / 1000), frame: crop[f * BANDS] % 1000 });

describe("packing short clips into crops", () => {
  const clips = [clip(1, "a", 20), clip(2, "a", 30), clip(3, "a", 100), clip(4, "b", 12), clip(5, "a", MIN_PACKED_FRAMES - 1)];
  const packer = new ClipPacker(clips);

  it("a short clip fills the crop's start whole, then windows of clips of its own source, in order, until full", () => {
    for (let seed = 0; seed < 20; seed++) {
      const crop = packer.crop(clips[0], 64, new Rng(seed));
      expect(crop.length).toBe(64 * BANDS);
      for (let f = 0; f < 20; f++) expect(origin(crop, f)).toEqual({ id: 1, frame: f });
      // Every later frame continues a window of a clip of source "a" (never "b", never the clip too short to pack).
      for (let f = 20; f < 64; f++) {
        const o = origin(crop, f);
        expect([1, 2, 3]).toContain(o.id);
        const prev = origin(crop, f - 1);
        if (prev.id === o.id && o.frame !== 0) expect(o.frame).toBe(prev.frame + 1);
      }
      // Each band of a frame is that frame's.
      for (let f = 0; f < 64; f++) for (let b = 1; b < BANDS; b++) expect(crop[f * BANDS + b]).toBe(crop[f * BANDS]);
    }
  });

  it("a clip as long as the crop gives one window of itself; draws are deterministic for a seed", () => {
    const crop = packer.crop(clips[2], 64, new Rng(3));
    const start = origin(crop, 0).frame;
    for (let f = 0; f < 64; f++) expect(origin(crop, f)).toEqual({ id: 3, frame: start + f });
    expect(Array.from(packer.crop(clips[0], 64, new Rng(7)))).toEqual(Array.from(packer.crop(clips[0], 64, new Rng(7))));
  });

  it("a source with one clip repeats it", () => {
    for (let seed = 0; seed < 10; seed++) {
      const crop = packer.crop(clips[3], 30, new Rng(seed));
      for (let f = 0; f < 24; f++) expect(origin(crop, f)).toEqual({ id: 4, frame: f % 12 });
      // The last 6 frames: a window of it.
      for (let f = 25; f < 30; f++) expect(origin(crop, f)).toEqual({ id: 4, frame: origin(crop, 24).frame + f - 24 });
    }
  });
});
