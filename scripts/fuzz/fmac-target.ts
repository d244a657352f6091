/**
 * What `flowmac decode --lc` does with a .fmac file, in-process: parse, check
 * against the model, decode through every engine given. A mutant must be
 * decoded (by every engine, to exactly the stated length, finite samples) or
 * refused with a UserError (the CLI's exit 1), printing nothing itself;
 * anything else is a failure.
 */
import { codeModelOf } from "../../src/bitstream/code-model.js";
import { readFmac, writeFmac, type FmacStream } from "../../src/bitstream/fmac.js";
import type { InferenceEngine } from "../../src/model/engine.js";
import { decodeAudioChunks, DEFAULT_DECODE, LC_DECODE } from "../../src/model/pipeline.js";
import { streamMismatch } from "../../src/model/stream-fit.js";
import { UserError } from "../../src/util/errors.js";
import { capturingConsole } from "./console-capture.js";

export type FmacOutcome = "crc" | "header" | "model-check" | "decode-refused" | "decoded" | "failure";

export interface FmacVerdict {
  outcome: FmacOutcome;
  /** The refusal message or what went wrong. */
  detail: string;
  /** Largest difference between the engines' outputs (decoded streams only). */
  engineGap?: number;
}

const LC = { ...DEFAULT_DECODE, ...LC_DECODE };

/** Decodes like the CLI's decoder (chunk by chunk) and checks what comes out. */
async function decodeChecked(engine: InferenceEngine, s: FmacStream): Promise<Float32Array> {
  const out = new Float32Array(s.length);
  let n = 0;
  for await (const chunk of decodeAudioChunks(engine, s.codes, s.frames, s.stages, s.length, LC)) {
    if (n + chunk.length > s.length) throw new Error(`${engine.name}: more than the stated ${s.length} samples`);
    out.set(chunk, n);
    n += chunk.length;
  }
  if (n !== s.length) throw new Error(`${engine.name}: ${n} samples decoded, ${s.length} stated`);
  const bad = out.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`${engine.name}: sample ${bad} is ${out[bad]}`);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export async function classifyFmac(bytes: Uint8Array, engines: InferenceEngine[], source = "mutant.fmac"): Promise<FmacVerdict> {
  const { value: v, printed } = await capturingConsole(() => verdict(bytes, engines, source));
  return printed.length ? { outcome: "failure", detail: `printed ${JSON.stringify(printed.slice(0, 3))} (${v.outcome}: ${v.detail})` } : v;
}

async function verdict(bytes: Uint8Array, engines: InferenceEngine[], source: string): Promise<FmacVerdict> {
  let s: FmacStream;
  try {
    s = readFmac(bytes, source, codeModelOf(engines[0].info));
  } catch (e) {
    if (!(e instanceof UserError)) return { outcome: "failure", detail: `readFmac threw ${String(e)}` };
    return { outcome: /CRC mismatch/.test(e.message) ? "crc" : "header", detail: e.message };
  }
  // A strict reader accepts only what the writer would write: anything else (flags, pad bits) went unread.
  let rewritten: Uint8Array | null = null;
  try {
    rewritten = writeFmac(s);
  } catch (e) {
    return { outcome: "failure", detail: `accepted, but the writer refuses what was read: ${(e as Error).message}` };
  }
  if (!sameBytes(rewritten, bytes)) return { outcome: "failure", detail: "accepted, but re-writing what was read gives other bytes (a field or bits the reader ignored)" };
  const why = streamMismatch(s, engines[0].info);
  if (why) return { outcome: "model-check", detail: why };
  const outs: Float32Array[] = [];
  for (const engine of engines) {
    try {
      outs.push(await decodeChecked(engine, s));
    } catch (e) {
      if (e instanceof UserError) return { outcome: "decode-refused", detail: e.message };
      return { outcome: "failure", detail: `${engine.name} decode: ${(e as Error)?.message ?? String(e)}` };
    }
  }
  let gap = 0;
  for (const o of outs.slice(1)) for (let i = 0; i < o.length; i++) gap = Math.max(gap, Math.abs(o[i] - outs[0][i]));
  return { outcome: "decoded", detail: `${s.length} samples`, engineGap: gap };
}
