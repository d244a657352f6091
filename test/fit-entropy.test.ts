import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeWav } from "../src/audio/wav.js";
import { CODE_TABLES_TENSOR, joinCodeTables, parseCodeModel } from "../src/bitstream/code-model.js";
import { f32ToF16, parseSafeTensors, rewriteSafeTensors, serializeSafeTensors } from "../src/util/safetensors.js";
import { expectCleanFailure, runCli } from "./cli-run.js";
import { testSignal, writeTinyModelDir } from "./tiny-model.js";
import { makeToyCorpus } from "./toy-corpus.js";

let dir: string;
let base: string;
let corpus: string;
const flowmac = (...args: string[]) => runCli(dir, ...args);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "flowmac-fit-entropy-"));
  base = await writeTinyModelDir(join(dir, "base"));
  corpus = makeToyCorpus(join(dir, "corpus"), 6, 2);
  writeFileSync(join(dir, "in.wav"), encodeWav([testSignal(1.5)], 24000, "pcm16"));
});

describe("flowmac fit-entropy", () => {
  it("writes a model directory whose codec carries code tables (a new model id, the same weights), and codes with them", () => {
    const out = join(dir, "fitted");
    const r = flowmac("fit-entropy", "--model", base, "--data", corpus, "-o", out, "--max-frames", "2000", "--validation-frames", "400");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/code tables for \d+ of 4 stages, fitted on \d+ training frames .*model id [0-9a-f]{16}/);
    expect(existsSync(join(out, "vocoder.safetensors"))).toBe(true);
    const file = parseSafeTensors(new Uint8Array(readFileSync(join(out, "codec.safetensors"))));
    const m = parseCodeModel(joinCodeTables(file.metadata.code_model, file.tensors.get(CODE_TABLES_TENSOR)!.data as Uint8Array), "fitted");
    expect(m.symbols).toBe(64);
    // The weights are the base model's: only the metadata differs.
    const a = parseSafeTensors(new Uint8Array(readFileSync(join(base, "codec.safetensors"))));
    const b = parseSafeTensors(new Uint8Array(readFileSync(join(out, "codec.safetensors"))));
    expect([...b.tensors.keys()].filter((k) => k !== CODE_TABLES_TENSOR)).toEqual([...a.tensors.keys()]);
    for (const [k, t] of a.tensors) expect(Array.from(b.tensors.get(k)!.data as Float32Array)).toEqual(Array.from(t.data as Float32Array));
    // A round trip through the fitted model works and is deterministic; a stream of the base model is refused by it.
    const rt = (model: string, keep: string) => flowmac("roundtrip", join(dir, "in.wav"), "-o", join(dir, `${keep}.wav`), "--model", model, "--kbps", "0.6", "--keep", join(dir, keep));
    expect(rt(out, "a.fmac").code).toBe(0);
    expect(rt(out, "b.fmac").code).toBe(0);
    expect(readFileSync(join(dir, "a.fmac")).equals(readFileSync(join(dir, "b.fmac")))).toBe(true);
    expect(readFileSync(join(dir, "a.fmac"))[4]).toBe(m.stages.length > 0 ? 3 : 2);
    expect(rt(base, "c.fmac").code).toBe(0);
    expectCleanFailure(dir, flowmac("decode", join(dir, "c.fmac"), "-o", join(dir, "x.wav"), "--model", out), /made by a different model/, join(dir, "x.wav"));
  });

  it("bad input is a one-line error: no data, an output that is a file, corrupt tables in a model", () => {
    expectCleanFailure(dir, flowmac("fit-entropy", "--model", base, "--data", join(dir, "nope"), "-o", join(dir, "o1")), /nope: no such directory/);
    writeFileSync(join(dir, "file"), "x");
    expectCleanFailure(dir, flowmac("fit-entropy", "--model", base, "--data", corpus, "-o", join(dir, "file")), /exists and is not a directory/);
    expectCleanFailure(dir, flowmac("fit-entropy", "--model", base, "--data", corpus, "-o", join(dir, "o2"), "--betas", "4,-1"), /--betas must be positive numbers/);
    const broken = join(dir, "broken");
    flowmac("fit-entropy", "--model", base, "--data", corpus, "-o", broken, "--max-frames", "1000", "--validation-frames", "0");
    writeFileSync(join(broken, "codec.safetensors"), rewriteSafeTensors(new Uint8Array(readFileSync(join(broken, "codec.safetensors"))), { metadata: { code_model: '{"version":2}' } }));
    expectCleanFailure(dir, flowmac("encode", join(dir, "in.wav"), "-o", join(dir, "y.fmac"), "--model", broken), /codec\.safetensors: corrupt code tables/, join(dir, "y.fmac"));
  });
});

describe("rewriting model files (safetensors)", () => {
  it("stores chosen F32 tensors as F16, rounded to nearest even, and keeps every other tensor's bytes", () => {
    // Exactly representable halves survive; others land within half a unit in the last place of F16.
    for (const x of [0, -0, 1, -2.5, 65504, 2 ** -14, 2 ** -24, 0.1, 1 / 3, -1234.567, 1e-6]) {
      const back = f16Round(x);
      if ([0, 1, -2.5, 65504, 2 ** -14, 2 ** -24].includes(Math.abs(x)) || x === -2.5) expect(back).toBe(x);
      else expect(Math.abs(back - x)).toBeLessThanOrEqual(Math.max(Math.abs(x) * 2 ** -11, 2 ** -25));
    }
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // a tie rounds to even (down)
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // a tie rounds to even (up)
    expect(f32ToF16(1e6)).toBe(0x7c00); // overflow: infinity
    const a = Float32Array.from({ length: 37 }, (_, i) => Math.sin(i) * 3);
    const b = Float64Array.from({ length: 5 }, (_, i) => i / 7);
    const bytes = serializeSafeTensors([["w.cfm.x", { shape: [37], data: a }], ["w.enc", { shape: [5], data: b }]], { note: "n" });
    const out = rewriteSafeTensors(bytes, { toF16: (n) => n.includes("cfm"), extra: { extra: { shape: [3], data: Uint8Array.of(1, 2, 3) } }, metadata: { more: "m" } });
    const f = parseSafeTensors(out);
    expect(f.metadata).toEqual({ note: "n", more: "m" });
    expect(Array.from(f.tensors.get("w.enc")!.data)).toEqual(Array.from(b));
    expect(Array.from(f.tensors.get("w.cfm.x")!.data)).toEqual(Array.from(a, f16Round));
    expect(Array.from(f.tensors.get("extra")!.data)).toEqual([1, 2, 3]);
    // F16 stays F16 through a second rewrite: the file does not grow back.
    const again = rewriteSafeTensors(out, { metadata: { x: "y" } });
    const n = Number(new DataView(again.buffer).getBigUint64(0, true));
    expect(JSON.parse(new TextDecoder().decode(again.subarray(8, 8 + n)))["w.cfm.x"].dtype).toBe("F16");
  });
});

/** x through F16 and back (parseSafeTensors' F16 reader). */
function f16Round(x: number): number {
  const h = Uint16Array.of(f32ToF16(x));
  const header = JSON.stringify({ t: { dtype: "F16", shape: [1], data_offsets: [0, 2] } });
  const hb = new TextEncoder().encode(header);
  const bytes = new Uint8Array(8 + hb.length + 2);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(hb.length), true);
  bytes.set(hb, 8);
  bytes.set(new Uint8Array(h.buffer), 8 + hb.length);
  return parseSafeTensors(bytes).tensors.get("t")!.data[0];
}
