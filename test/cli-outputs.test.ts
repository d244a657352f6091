/**
 * What the CLI does to files: it never writes over one of its inputs, and an
 * interrupted (or killed) run leaves no partial output behind.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeWav } from "../src/audio/wav.js";
import { framesFor, writeFmac } from "../src/bitstream/fmac.js";
import { modelIdOf } from "../src/model/load.js";
import { initJax } from "../src/nn/runtime.js";
import { encodeNpy } from "../src/util/npy.js";
import { expectCleanFailure as expectCleanFailureIn, runCli, startCli, type CliResult } from "./cli-run.js";
import { testSignal, writeTinyModelDir } from "./tiny-model.js";

let dir: string;
let model: string;
let modelId: string;

const flowmac = (...args: string[]) => runCli(dir, ...args);
const expectCleanFailure = (r: CliResult, pattern: RegExp, output?: string) => expectCleanFailureIn(dir, r, pattern, output);
const put = (name: string, bytes: Uint8Array | string) => {
  writeFileSync(join(dir, name), bytes);
  return join(dir, name);
};

/** A .fmac of the tiny model (4 stages of 64 entries) holding `seconds` of arbitrary codes. */
function tinyStream(seconds: number): Uint8Array {
  const length = Math.round(seconds * 24000);
  const frames = framesFor(length);
  const codes = Uint16Array.from({ length: frames * 4 }, (_, i) => (i * 37) % 64);
  return writeFmac({ modelId, sampleRate: 24000, stages: 4, bitsPerIndex: 6, length, frames, codes });
}

beforeAll(async () => {
  await initJax();
  dir = mkdtempSync(join(tmpdir(), "flowmac-cli-out-"));
  model = await writeTinyModelDir(join(dir, "model"));
  modelId = await modelIdOf(new Uint8Array(readFileSync(join(model, "codec.safetensors"))));
});

describe("an output that is one of the inputs is refused, the input untouched", () => {
  const refused = /is the input|same file as the input/;

  it("roundtrip -o its input: same path, a symlink to it, a hard link to it, the input a symlink to the output", () => {
    const input = put("in.wav", encodeWav([testSignal(0.5)], 24000, "pcm16"));
    const before = readFileSync(input);
    symlinkSync(input, join(dir, "soft.wav"));
    linkSync(input, join(dir, "hard.wav"));
    for (const [inp, out] of [
      [input, input],
      [input, join(dir, "soft.wav")],
      [input, join(dir, "hard.wav")],
      [join(dir, "soft.wav"), input],
      [join(dir, "sub", "..", "in.wav"), input],
    ]) {
      mkdirSync(join(dir, "sub"), { recursive: true });
      const r = flowmac("roundtrip", inp, "-o", out, "--model", model, "--lc");
      expectCleanFailure(r, refused);
      expect(r.code).toBe(1);
      expect(readFileSync(input).equals(before)).toBe(true);
    }
  });

  it("every command with input and output files", () => {
    const cases: [string, string[]][] = [
      ["a.fmac", ["encode", "a.fmac", "-o", "a.fmac", "--model", "MODEL"]],
      ["b.wav", ["decode", "b.wav", "-o", "b.wav", "--model", "MODEL"]],
      ["c.wav", ["roundtrip", "c.wav", "-o", "c-out.wav", "--keep", "c.fmac", "--model", "MODEL"]], // c.fmac: a symlink to c.wav
      ["d.npy", ["mel", "d.npy", "-o", "d.npy"]],
      ["e.wav", ["vocode", "e.wav", "-o", "e.wav", "--model", "MODEL"]],
      ["f.wav", ["resynth", "f.wav", "-o", "f.wav", "--model", "MODEL"]],
      ["g.json", ["stats", "g.json", "-o", "g.json"]],
    ];
    symlinkSync(join(dir, "c.wav"), join(dir, "c.fmac"));
    for (const [name, args] of cases) {
      const path = put(name, encodeWav([testSignal(0.3)], 24000, "pcm16"));
      const before = readFileSync(path);
      const r = flowmac(...args.map((a) => (a === "MODEL" ? model : a.includes(".") ? join(dir, a) : a)));
      expectCleanFailure(r, refused);
      expect(readFileSync(path).equals(before), args.join(" ")).toBe(true);
    }
  });

  it("plot over its run's log, eval over an input file", () => {
    const run = join(dir, "run");
    mkdirSync(run, { recursive: true });
    const log = put("run/log.jsonl", '{"step":1,"loss":1}\n');
    expectCleanFailure(flowmac("plot", run, "-o", log), refused);
    expect(readFileSync(log, "utf8")).toBe('{"step":1,"loss":1}\n');
    const wav = put("h.wav", encodeWav([testSignal(0.3)], 24000, "pcm16"));
    expectCleanFailure(flowmac("eval", wav, "-o", wav, "--codecs", "vocoder-only", "--model", model), /h\.wav: .*not a directory/);
  });
});

/** Starts `flowmac ...args` and sends `signal` once `name`'s temporary sibling appears in `dir` (the output is being written). */
async function interruptWhileWriting(name: string, signal: NodeJS.Signals, ...args: string[]) {
  const child = startCli(dir, ...args);
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, sig) => resolve({ code, signal: sig })));
  const tmp = `.${name}.${child.pid}.tmp`;
  let seen = false;
  for (let i = 0; i < 3000 && child.exitCode === null && !seen; i++) {
    seen = existsSync(join(dir, tmp));
    if (!seen) await new Promise((r) => setTimeout(r, 10));
  }
  expect(seen, `${tmp} never appeared: ${err}`).toBe(true);
  child.kill(signal);
  return { ...(await exited), err };
}

describe("interrupted and killed runs leave no partial output", () => {
  it("SIGINT mid-decode: exit 130, no output, no temporary", async () => {
    const fmac = put("long.fmac", tinyStream(60));
    const r = await interruptWhileWriting("int.wav", "SIGINT", "decode", fmac, "-o", join(dir, "int.wav"), "--model", model);
    expect(r).toMatchObject({ code: 130, signal: null });
    expect(existsSync(join(dir, "int.wav"))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("SIGTERM mid-decode with the jax engine: exit 143, no output, no temporary", async () => {
    const fmac = put("long2.fmac", tinyStream(30));
    const r = await interruptWhileWriting("term.wav", "SIGTERM", "decode", fmac, "-o", join(dir, "term.wav"), "--model", model, "--engine", "jax", "--lc");
    expect(r).toMatchObject({ code: 143, signal: null });
    expect(existsSync(join(dir, "term.wav"))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("a later run to the same output removes what a killed run left (its pid dead), not a live run's temporary", () => {
    const dead = spawnSync(process.execPath, ["-e", ""]).pid!; // exited: its pid names no live process
    const stale = put(`.k.wav.${dead}.tmp`, "partial");
    const live = put(`.k.wav.${process.pid}.tmp`, "another run, still writing");
    const other = put(`.kk.wav.${dead}.tmp`, "another output's");
    expect(flowmac("decode", put("short.fmac", tinyStream(0.5)), "-o", join(dir, "k.wav"), "--model", model, "--lc").code).toBe(0);
    expect(existsSync(join(dir, "k.wav"))).toBe(true);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(other)).toBe(true);
    const staleNpy = put(`.k.npy.${dead}.tmp`, "partial");
    expect(flowmac("mel", join(dir, "k.wav"), "-o", join(dir, "k.npy")).code).toBe(0);
    expect(existsSync(staleNpy)).toBe(false);
    for (const f of [live, other]) spawnSync("rm", [f]);
  });
});
