import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeWav } from "../src/audio/wav.js";
import { PREDICTIVE_TENSOR } from "../src/model/predictive-store.js";
import { parseSafeTensors, rewriteSafeTensors } from "../src/util/safetensors.js";
import { expectCleanFailure, runCli } from "./cli-run.js";
import { testSignal, writeTinyModelDir } from "./tiny-model.js";
import { makeToyCorpus } from "./toy-corpus.js";

let dir: string;
let base: string;
let corpus: string;
const flowmac = (...args: string[]) => runCli(dir, ...args);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "flowmac-fit-predictive-"));
  base = await writeTinyModelDir(join(dir, "base"));
  corpus = makeToyCorpus(join(dir, "corpus"), 6, 2);
  writeFileSync(join(dir, "in.wav"), encodeWav([testSignal(1.5)], 24000, "pcm16"));
});

describe("flowmac fit-predictive, encode --predictive", () => {
  it("writes a model whose codec carries a predictive RVQ (a new id, the same weights), and codes and decodes with it deterministically", () => {
    const out = join(dir, "fitted");
    const r = flowmac("fit-predictive", "--model", base, "--data", corpus, "-o", out, "--max-frames", "2000", "--iterations", "4", "--refits", "1");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/predictive RVQ of 4 stages fitted on \d+ training frames .*model id [0-9a-f]{16}/);
    const a = parseSafeTensors(new Uint8Array(readFileSync(join(base, "codec.safetensors"))));
    const b = parseSafeTensors(new Uint8Array(readFileSync(join(out, "codec.safetensors"))));
    expect([...b.tensors.keys()].filter((k) => k !== PREDICTIVE_TENSOR)).toEqual([...a.tensors.keys()]);
    // mean [8], predictor [8 x 8], codebooks [4 x 64 x 8]
    expect(b.tensors.get(PREDICTIVE_TENSOR)!.shape).toEqual([8 + 64 + 4 * 64 * 8]);
    const rt = (keep: string, ...flags: string[]) => flowmac("roundtrip", join(dir, "in.wav"), "-o", join(dir, `${keep}.wav`), "--model", out, "--keep", join(dir, keep), ...flags);
    expect(rt("a.fmac", "--predictive", "--stages", "2").code).toBe(0);
    expect(rt("b.fmac", "--predictive", "--stages", "2").code).toBe(0);
    const bytes = readFileSync(join(dir, "a.fmac"));
    expect(bytes.equals(readFileSync(join(dir, "b.fmac")))).toBe(true);
    expect([bytes[4], bytes[5]]).toEqual([1, 1]); // version 1, the predictive flag
    expect(readFileSync(join(dir, "a.fmac.wav")).equals(readFileSync(join(dir, "b.fmac.wav")))).toBe(true);
    // The base model has no predictive RVQ: it cannot code one, and the fitted model's stream is another model's.
    expectCleanFailure(dir, flowmac("encode", join(dir, "in.wav"), "-o", join(dir, "c.fmac"), "--model", base, "--predictive", "--stages", "2"), /has no predictive RVQ \(fit one with 'flowmac fit-predictive'\)/, join(dir, "c.fmac"));
    expectCleanFailure(dir, flowmac("decode", join(dir, "a.fmac"), "-o", join(dir, "x.wav"), "--model", base), /made by a different model/, join(dir, "x.wav"));
    expectCleanFailure(dir, flowmac("encode", join(dir, "in.wav"), "-o", join(dir, "d.fmac"), "--model", out, "--predictive", "--no-allocate", "--kbps", "0.9"), /--kbps 0\.9/, join(dir, "d.fmac"));
    // Allocated by default (version 2 with the flag), deterministic too.
    expect(rt("e.fmac", "--predictive", "--kbps", "0.9").code).toBe(0);
    expect(rt("f.fmac", "--predictive", "--kbps", "0.9").code).toBe(0);
    const allocated = readFileSync(join(dir, "e.fmac"));
    expect([allocated[4], allocated[5]]).toEqual([2, 1]);
    expect(allocated.equals(readFileSync(join(dir, "f.fmac")))).toBe(true);
  });

  it("--stages fits fewer stages, which serve the rates up to them; a higher rate is refused in one line", () => {
    const out = join(dir, "two");
    expect(flowmac("fit-predictive", "--model", base, "--data", corpus, "-o", out, "--stages", "2", "--max-frames", "1000", "--iterations", "3", "--refits", "1").code).toBe(0);
    expect(parseSafeTensors(new Uint8Array(readFileSync(join(out, "codec.safetensors")))).tensors.get(PREDICTIVE_TENSOR)!.shape).toEqual([8 + 64 + 2 * 64 * 8]);
    expect(flowmac("encode", join(dir, "in.wav"), "-o", join(dir, "two.fmac"), "--model", out, "--predictive", "--stages", "2").code).toBe(0);
    expect(flowmac("decode", join(dir, "two.fmac"), "-o", join(dir, "two.wav"), "--model", out).code).toBe(0);
    expectCleanFailure(dir, flowmac("encode", join(dir, "in.wav"), "-o", join(dir, "three.fmac"), "--model", out, "--predictive", "--stages", "3"), /3 stages a frame asked of a predictive RVQ of 2/, join(dir, "three.fmac"));
    expectCleanFailure(dir, flowmac("fit-predictive", "--model", base, "--data", corpus, "-o", join(dir, "o3"), "--stages", "5"), /--stages 5: the model has 4 RVQ stages/);
  });

  it("bad input is a one-line error: no data, a silly rho, a corrupt predictive RVQ in a model", () => {
    expectCleanFailure(dir, flowmac("fit-predictive", "--model", base, "--data", join(dir, "nope"), "-o", join(dir, "o1")), /nope: no such directory/);
    expectCleanFailure(dir, flowmac("fit-predictive", "--model", base, "--data", corpus, "-o", join(dir, "o2"), "--rho", "2"), /--rho/);
    const broken = join(dir, "broken");
    expect(flowmac("fit-predictive", "--model", base, "--data", corpus, "-o", broken, "--max-frames", "1000", "--iterations", "2", "--refits", "0").code).toBe(0);
    writeFileSync(join(broken, "codec.safetensors"), rewriteSafeTensors(new Uint8Array(readFileSync(join(broken, "codec.safetensors"))), { metadata: { [PREDICTIVE_TENSOR]: '{"dim":8,"codebookSize":64,"stages":9}' } }));
    expectCleanFailure(dir, flowmac("encode", join(dir, "in.wav"), "-o", join(dir, "y.fmac"), "--model", broken), /codec\.safetensors: corrupt predictive RVQ/, join(dir, "y.fmac"));
  });
});
