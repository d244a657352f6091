import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeWav } from "../src/audio/wav.js";
import { codecFromSpec } from "../src/eval/codecs.js";
import { readFmac } from "../src/bitstream/fmac.js";
import { describeRates, stagesFor } from "../src/cli/bitrate.js";
import { CODEC_CONFIGS, bitrate, extendedConfig } from "../src/model/config.js";
import { JaxEngine } from "../src/model/jax-engine.js";
import { LatentProbe } from "../src/model/latents.js";
import { loadModel, readModelDir, type LoadedModel } from "../src/model/load.js";
import { decodeAudio, encodeAudio, DEFAULT_DECODE } from "../src/model/pipeline.js";
import { initJax, tree } from "../src/nn/runtime.js";
import { loadClips, clipMel } from "../src/train/data.js";
import { parseSafeTensors } from "../src/util/safetensors.js";
import { expectCleanFailure, runCli } from "./cli-run.js";
import { enginePair, testSignal, writeTinyModelDir } from "./tiny-model.js";
import { makeToyCorpus } from "./toy-corpus.js";

let dir: string;
let base: string;
let ext: string;
let corpus: string;
const flowmac = (...args: string[]) => runCli(dir, ...args);

beforeAll(async () => {
  await initJax();
  dir = mkdtempSync(join(tmpdir(), "flowmac-extend-"));
  base = await writeTinyModelDir(join(dir, "base"));
  corpus = makeToyCorpus(join(dir, "corpus"), 6, 2);
  ext = join(dir, "ext");
  // tiny: 4 stages x 64 entries (6 bits, 281.25 bit/s each) -> 8 stages.
  const r = flowmac("extend-stages", "--model", base, "--data", corpus, "--stages", "8", "--iterations", "5", "-o", ext);
  if (r.code !== 0) throw new Error(`extend-stages failed: ${r.err}`);
  writeFileSync(join(dir, "in.wav"), encodeWav([testSignal(1.5)], 24000, "pcm16"));
});

const engine = (m: LoadedModel) => new JaxEngine(m.info, tree.ref(m.codec), tree.ref(m.buffers), tree.ref(m.generator));

describe("stage counts", () => {
  it("an extended config is the base with more stages, named -cq<stages>; small-lin64-cq16 is 6 kbit/s", () => {
    const c = CODEC_CONFIGS["small-lin64-cq16"];
    expect(bitrate(c.rvq.stages, c.rvq.codebookSize)).toBe(6000);
    expect({ ...c, name: "", rvq: { ...c.rvq, stages: 0 } }).toEqual({ ...CODEC_CONFIGS["small-lin64"], name: "", rvq: { ...CODEC_CONFIGS["small-lin64"].rvq, stages: 0 } });
    expect(extendedConfig(c, 24).name).toBe("small-lin64-cq24");
    expect(CODEC_CONFIGS["small-lin64"].rvq.stages).toBe(8); // the base is not changed
  });

  it("--kbps picks the stages a model has, and names the rates it serves otherwise", () => {
    const rvq16 = CODEC_CONFIGS["small-lin64-cq16"].rvq;
    const rvq8 = CODEC_CONFIGS["small-lin64"].rvq;
    expect([6, 3, 1.5].map((kbps) => stagesFor({ kbps }, rvq16))).toEqual([16, 8, 4]);
    // No rate given: 3 kbit/s where the model codes it, else all its stages.
    expect(stagesFor({}, rvq16)).toBe(8);
    expect(stagesFor({}, rvq8)).toBe(8);
    expect(stagesFor({}, { stages: 4, codebookSize: 64 })).toBe(4);
    expect(stagesFor({}, { stages: 4, codebookSize: 256 })).toBe(4);
    expect(describeRates(rvq16)).toBe("0.375 to 6 kbit/s in steps of 0.375 (1 to 16 RVQ stages)");
    expect(() => stagesFor({ kbps: 6 }, rvq8)).toThrow(/--kbps 6: this model codes 0\.375 to 3 kbit\/s/);
  });
});

describe("flowmac eval rows and a model's rates", () => {
  it("flowmac@<rate> beyond the model's stages names the rates it serves; the extended model serves it", async () => {
    const open = (d: string) => async () => engine(await loadModel(readModelDir(d)));
    await expect(codecFromSpec("flowmac@2.25", open(base))).rejects.toThrow(/flowmac@2\.25: the model \(tiny\) codes 0\.28125 to 1\.125 kbit\/s/);
    expect((await codecFromSpec("flowmac@2.25", open(ext))).name).toBe("flowmac@2.25");
  });
});

describe("flowmac extend-stages", () => {
  it("writes a complete model directory: more stages, the vocoder copied, a card with its rates; deterministic", () => {
    const cfg = JSON.parse(parseSafeTensors(new Uint8Array(readFileSync(join(ext, "codec.safetensors")))).metadata.config);
    expect(cfg.name).toBe("tiny-cq8");
    expect(cfg.rvq.stages).toBe(8);
    expect(readFileSync(join(ext, "vocoder.safetensors")).equals(readFileSync(join(base, "vocoder.safetensors")))).toBe(true);
    expect(readFileSync(join(ext, "README.md"), "utf8")).toMatch(/Rates served\*\*: 0\.28125 to 2\.25 kbit\/s/);
    const info = flowmac("info", "--model", ext);
    expect(info.out).toMatch(/codec tiny-cq8: RVQ 8 x 64 entries/);
    expect(info.out).toMatch(/bit rates 0\.28125 to 2\.25 kbit\/s in steps of 0\.28125 \(1 to 8 RVQ stages\)/);
    expect(info.out).toMatch(/extended from model [0-9a-f]{16} \(tiny, 4 stages\)/);
    const again = join(dir, "ext-again");
    expect(flowmac("extend-stages", "--model", base, "--data", corpus, "--stages", "8", "--iterations", "5", "-o", again).code).toBe(0);
    expect(readFileSync(join(again, "codec.safetensors")).equals(readFileSync(join(ext, "codec.safetensors")))).toBe(true);
  });

  it("keeps every tensor of the base byte for byte and adds the new stages' buffers", () => {
    const a = parseSafeTensors(new Uint8Array(readFileSync(join(base, "codec.safetensors"))));
    const b = parseSafeTensors(new Uint8Array(readFileSync(join(ext, "codec.safetensors"))));
    for (const [name, t] of a.tensors) expect(Buffer.from(b.tensors.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true);
    const added = [...b.tensors.keys()].filter((k) => !a.tensors.has(k));
    expect(added.sort()).toEqual([4, 5, 6, 7].flatMap((s) => [`buffers.codebooks.${s}`, `buffers.emaCount.${s}`, `buffers.emaSum.${s}`]).sort());
  });

  it("the new stages code the residual the old ones leave: less latent error on training clips", async () => {
    const clips = loadClips(corpus, "train");
    const err = async (d: string) => {
      const m = await loadModel(readModelDir(d));
      const probe = new LatentProbe(m.codec, m.buffers, m.info.codec, m.info.stats);
      let sum = 0;
      for (const c of clips) sum += probe.latents(clipMel(c).data, c.frames).residual.reduce((s, v) => s + v * v, 0);
      tree.dispose([m.codec, m.buffers, m.generator] as never);
      return sum;
    };
    const [e4, e8] = [await err(base), await err(ext)];
    expect(e8).toBeLessThan(0.5 * e4);
  });

  it("at the base's rate, codes and decoded audio are the base's (greedy: a prefix of all 8 stages); all 8 stages round-trip", async () => {
    const [mb, me] = [await loadModel(readModelDir(base)), await loadModel(readModelDir(ext))];
    const [eb, ee] = [engine(mb), engine(me)];
    const x = testSignal(1.5);
    const [cb, c4, ce] = [await encodeAudio(eb, x), await encodeAudio(ee, x, undefined, { stages: 4 }), await encodeAudio(ee, x)];
    expect(ce.stages).toBe(8);
    expect(c4.codes).toEqual(cb.codes); // the beam search at 4 stages sees the base's codebooks only
    const [gb, ge] = [await encodeAudio(eb, x, undefined, { beam: 1 }), await encodeAudio(ee, x, undefined, { beam: 1 })];
    for (let t = 0; t < gb.frames; t++) for (let s = 0; s < 4; s++) expect(ge.codes[t * 8 + s]).toBe(gb.codes[t * 4 + s]);
    const [ab, ae] = [await decodeAudio(eb, cb.codes, cb.frames, 4, x.length, DEFAULT_DECODE), await decodeAudio(ee, c4.codes, c4.frames, 4, x.length, DEFAULT_DECODE)];
    expect(ae).toEqual(ab);
    const all = await decodeAudio(ee, ce.codes, ce.frames, 8, x.length, DEFAULT_DECODE);
    expect(all.length).toBe(x.length);
    expect(all.every(Number.isFinite)).toBe(true);
    expect(all).not.toEqual(ab); // the new stages change the decode
    eb.dispose();
    ee.dispose();
  });

  it("the onnx engine codes all 8 stages as the jax-js engine does, and decodes within 1e-4", async () => {
    const m = await loadModel(readModelDir(ext));
    const { jax, onnx } = await enginePair(m);
    const x = testSignal(1.5);
    const [a, b] = [await encodeAudio(jax, x), await encodeAudio(onnx, x)];
    expect(b.stages).toBe(8);
    expect(b.codes).toEqual(a.codes);
    const [ya, yb] = [await decodeAudio(jax, a.codes, a.frames, 8, x.length, DEFAULT_DECODE), await decodeAudio(onnx, a.codes, a.frames, 8, x.length, DEFAULT_DECODE)];
    const peak = ya.reduce((p, v) => Math.max(p, Math.abs(v)), 0);
    expect(yb.reduce((p, v, i) => Math.max(p, Math.abs(v - ya[i])), 0)).toBeLessThan(1e-4 * peak);
    jax.dispose();
    onnx.dispose();
  });

  it("CLI: at the base's rate the bitstream differs only in model id and CRC, and decodes to the same WAV; the top rate round-trips", () => {
    const wav = join(dir, "in.wav");
    const [fb, fe] = [join(dir, "b.fmac"), join(dir, "e.fmac")];
    // The same stages every frame (--no-allocate): allocation would spread the extended model's 8 stages.
    expect(flowmac("encode", wav, "-o", fb, "--model", base, "--kbps", "1.125", "--no-allocate").code).toBe(0);
    expect(flowmac("encode", wav, "-o", fe, "--model", ext, "--kbps", "1.125", "--no-allocate").code).toBe(0);
    const [bb, be] = [readFileSync(fb), readFileSync(fe)];
    expect(be.length).toBe(bb.length);
    const diff = [...bb.keys()].filter((i) => bb[i] !== be[i]);
    expect(diff.every((i) => (i >= 8 && i < 16) || i >= bb.length - 4)).toBe(true);
    expect(flowmac("decode", fb, "-o", join(dir, "b.wav"), "--model", base).code).toBe(0);
    expect(flowmac("decode", fe, "-o", join(dir, "e.wav"), "--model", ext).code).toBe(0);
    expect(readFileSync(join(dir, "e.wav")).equals(readFileSync(join(dir, "b.wav")))).toBe(true);
    const rt = flowmac("roundtrip", wav, "-o", join(dir, "rt.wav"), "--model", ext, "--kbps", "2.25", "--keep", join(dir, "top.fmac"));
    expect(rt.code).toBe(0);
    expect(readFmac(new Uint8Array(readFileSync(join(dir, "top.fmac")))).stages).toBe(8);
  });

  it("a model refuses a stream at a rate it lacks, naming the rate and the model the stream needs", () => {
    const top = join(dir, "top8.fmac");
    expect(flowmac("encode", join(dir, "in.wav"), "-o", top, "--model", ext, "--stages", "8").code).toBe(0);
    const out = join(dir, "refused.wav");
    expectCleanFailure(dir, flowmac("decode", top, "-o", out, "--model", base), /top8\.fmac: made by a different model \(id [0-9a-f]{16}\) at 2\.25 kbit\/s \(8 RVQ stages\); this model \([0-9a-f]{16}, tiny\) codes at most 1\.125 kbit\/s \(4 stages\): it decodes with --model .*ext$/m, out);
  });

  it("bad input is one line: no new stages, the model's own directory as output, no data", () => {
    const out = join(dir, "bad-out");
    expectCleanFailure(dir, flowmac("extend-stages", "--model", base, "--data", corpus, "--stages", "4", "-o", out), /--stages 4: the model already has 4 RVQ stages/);
    expectCleanFailure(dir, flowmac("extend-stages", "--model", base, "--data", corpus, "--stages", "8", "-o", base), /is the input model's directory/);
    expectCleanFailure(dir, flowmac("extend-stages", "--model", base, "--data", join(dir, "nope"), "--stages", "8", "-o", out), /nope: no such directory/);
    expectCleanFailure(dir, flowmac("extend-stages", "--model", base, "--data", corpus, "--stages", "65", "-o", out), /--stages must be an integer from 2 to 64/);
    expect(existsSync(out)).toBe(false);
  });
});
