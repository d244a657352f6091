import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeWav } from "../src/audio/wav.js";
import { Rng } from "../src/nn/rng.js";
import type { ClipKind, ManifestEntry } from "../src/corpus/build.js";

/** A deterministic toy corpus (harmonic tones, chirps, noise bursts) for training tests; no Debian packages needed. */
export function makeToyCorpus(dir: string, clips = 6, seconds = 2): string {
  const rng = new Rng(42);
  mkdirSync(join(dir, "clips"), { recursive: true });
  const entries: ManifestEntry[] = [];
  const kinds: ClipKind[] = ["speech-real", "music-real", "speech-synthetic", "music-synthetic"];
  for (let i = 0; i < clips; i++) {
    const n = Math.round(seconds * 24000);
    const x = new Float32Array(n);
    const f0 = 100 + rng.uniform() * 300;
    for (let t = 0; t < n; t++) {
      const s = t / 24000;
      const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * (1 + i) * s);
      let v = 0;
      for (let h = 1; h <= 6; h++) v += Math.sin(2 * Math.PI * f0 * h * s * (1 + 0.1 * s)) / h;
      x[t] = 0.2 * env * v + 0.01 * rng.normal();
    }
    const id = `toy-${i}`;
    writeFileSync(join(dir, "clips", `${id}.wav`), encodeWav([x], 24000, "pcm16"));
    entries.push({ id, path: `clips/${id}.wav`, source: "toy", package: "none", licence: "CC0", kind: kinds[i % 4], seconds, split: i === clips - 1 ? "validation" : "train" });
  }
  writeFileSync(join(dir, "manifest.jsonl"), entries.map((e) => JSON.stringify(e)).join("\n") + "\n");
  return dir;
}
