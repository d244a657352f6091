import { beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadAudio } from "../src/audio/load.js";
import { MelFrontEnd } from "../src/audio/mel.js";
import { MelStream } from "../src/audio/mel-stream.js";
import { Rng } from "../src/nn/rng.js";
import { clipMel, ClipSampler, cropAt, openTrainingData } from "../src/train/data.js";
import { loadFolderClips } from "../src/train/folder-clips.js";
import { pathHash, splitByPath } from "../src/train/folder-split.js";
import { UserError } from "../src/util/errors.js";
import { makeAudioFolder } from "./audio-folder.js";
import { testSignal } from "./tiny-model.js";

const fe = new MelFrontEnd();

describe("MelStream", () => {
  it("equals the whole-signal log-mel bit for bit, however the signal is cut", () => {
    const rng = new Rng(1);
    for (const n of [700, 2048, 512 * 20, 512 * 20 + 1, 30011]) {
      const x = testSignal(n / 24000);
      const whole = fe.compute(x).data;
      const stream = new MelStream(fe, n);
      const parts: Float32Array[] = [];
      for (let at = 0; at < n; ) {
        const len = Math.min(n - at, 1 + rng.int(3000));
        parts.push(stream.push(x.subarray(at, at + len)));
        at += len;
      }
      parts.push(stream.finish());
      const got = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
      parts.reduce((at, p) => (got.set(p, at), at + p.length), 0);
      expect(Buffer.compare(Buffer.from(got.buffer), Buffer.from(whole.buffer)), `n=${n}`).toBe(0);
    }
  });
});

describe("validation split of a plain folder", () => {
  const paths = Array.from({ length: 200 }, (_, i) => `speaker${i % 7}/take-${i}.flac`);

  it("is decided by each file's path alone: same on every call and in any order, about the fraction asked", () => {
    const a = splitByPath(paths, 0.1);
    const b = splitByPath([...paths].reverse(), 0.1);
    expect(new Set(b.validation)).toEqual(new Set(a.validation));
    expect(a.validation.length).toBeGreaterThan(8);
    expect(a.validation.length).toBeLessThan(35);
    expect(a.validation.every((p) => pathHash(p) < 0.1)).toBe(true);
    // Adding files does not move the others.
    const more = splitByPath([...paths, "new/one.wav", "new/two.wav"], 0.1);
    expect(more.validation.filter((p) => !p.startsWith("new/"))).toEqual(a.validation);
    expect(new Set([...a.train, ...a.validation]).size).toBe(paths.length);
  });

  it("holds out at least one file and trains on at least one when there are two or more; one file does both", () => {
    for (const n of [2, 3, 5]) {
      const s = splitByPath(paths.slice(0, n), 0);
      expect(s.validation).toHaveLength(1);
      expect(s.train).toHaveLength(n - 1);
      expect(splitByPath(paths.slice(0, n), 0.5).train.length).toBeGreaterThan(0);
    }
    expect(splitByPath(["a.wav"], 0.05)).toEqual({ train: ["a.wav"], validation: ["a.wav"] });
  });
});

describe("a plain folder of own audio", () => {
  let folder: ReturnType<typeof makeAudioFolder>;
  let cacheDir: string;
  let firstLog: string[];

  beforeAll(async () => {
    folder = makeAudioFolder(mkdtempSync(join(tmpdir(), "flowmac-own-")));
    cacheDir = join(mkdtempSync(join(tmpdir(), "flowmac-own-run-")), "data-cache");
    firstLog = [];
    await loadFolderClips(folder.dir, cacheDir, 0.05, { log: (m) => firstLog.push(m) });
  });

  it("decodes every format nested anywhere as encode reads it; skips the rest with a note each and a count", async () => {
    const { train, val } = await loadFolderClips(folder.dir, cacheDir, 0.05);
    const clips = [...train, ...val];
    expect(clips.map((c) => c.entry.path).sort()).toEqual(folder.usable);
    expect(val.length).toBeGreaterThanOrEqual(1);
    for (const clip of clips) {
      const audio = await loadAudio(join(folder.dir, clip.entry.path));
      expect(clip.samples).toBe(audio.length);
      expect(clip.frames).toBe(fe.frameCount(audio.length));
      expect(clip.entry.kind).toBe("speech-real");
      expect(Buffer.compare(Buffer.from(clip.audio(0, clip.samples).buffer), Buffer.from(audio.buffer))).toBe(0);
      const mel = fe.compute(audio).data;
      expect(Buffer.compare(Buffer.from(clipMel(clip).data.buffer), Buffer.from(mel.buffer))).toBe(0);
      // A crop at the end is zero-padded past the clip.
      const crop = cropAt(clip, clip.frames - 4, 4);
      expect(crop.mel).toEqual(mel.subarray((clip.frames - 4) * 128));
      expect(crop.audio.subarray(clip.samples - (clip.frames - 4) * 512).every((v) => v === 0)).toBe(true);
    }
    expect(firstLog.filter((l) => l.startsWith("skipped"))).toEqual([
      expect.stringMatching(/^skipped music\/broken\.mp3: not a supported audio file/),
      "skipped short.wav: too short (0.20 s < 0.4 s)",
    ]);
    expect(firstLog.some((l) => /^data cache: decoded .* \(4 files, .*, 2 skipped\)/.test(l))).toBe(true);
    const sampler = new ClipSampler(train, 16);
    expect(train).toContain(sampler.pick(new Rng(0)));
  });

  it("is reused by a later run (same key: files untouched), rebuilt when a file changes", async () => {
    const mtime = statSync(join(cacheDir, "audio.f32")).mtimeMs;
    const log: string[] = [];
    const again = await loadFolderClips(folder.dir, cacheDir, 0.05, { log: (m) => log.push(m) });
    expect(again.cache.reused).toBe(true);
    expect(log.some((l) => l.startsWith("data cache: reused"))).toBe(true);
    expect(statSync(join(cacheDir, "audio.f32")).mtimeMs).toBe(mtime);
    const later = new Date(Date.now() + 5000);
    utimesSync(join(folder.dir, "talks/two.flac"), later, later);
    const rebuilt = await loadFolderClips(folder.dir, cacheDir, 0.05);
    expect(rebuilt.cache.reused).toBe(false);
    expect(rebuilt.cache.files.map((f) => f.path)).toEqual(folder.usable);
  });

  it("an empty folder, a folder with nothing usable and a missing folder are one-line errors", async () => {
    const empty = mkdtempSync(join(tmpdir(), "flowmac-empty-"));
    const opts = { cacheDir: join(empty, "..", `${empty.split("/").pop()}-cache`) };
    await expect(openTrainingData(empty, opts)).rejects.toThrow(/no audio files found in/);
    mkdirSync(join(empty, "sub"));
    writeFileSync(join(empty, "sub", "bad.flac"), "not flac");
    const err = await openTrainingData(empty, opts).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/no usable audio \(1 file skipped\)$/);
    await expect(openTrainingData(join(empty, "nope"), opts)).rejects.toThrow(/no such directory/);
  });
});
