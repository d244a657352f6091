/**
 * What `flowmac mel` (loadAudio, whole file) and `flowmac encode`
 * (openAudioStream, chunk by chunk) do with an audio file, in-process. Each
 * must accept it (finite samples, the length it announced) or refuse it with
 * a UserError, printing nothing itself; anything else is a failure.
 */
import { writeFileSync } from "node:fs";
import { loadAudio } from "../../src/audio/load.js";
import { openAudioStream } from "../../src/audio/stream.js";
import { UserError } from "../../src/util/errors.js";
import { capturingConsole } from "./console-capture.js";

export type AudioOutcome = "refused" | "accepted" | "failure";

export interface ReaderVerdict {
  outcome: AudioOutcome;
  detail: string;
  /** Samples at 24 kHz (accepted only). */
  length?: number;
}

export interface AudioVerdict {
  whole: ReaderVerdict;
  stream: ReaderVerdict;
}

function finiteProblem(x: Float32Array, from: number): string | null {
  const bad = x.findIndex((v) => !Number.isFinite(v));
  return bad < 0 ? null : `sample ${from + bad} is ${x[bad]}`;
}

async function judged(run: () => Promise<ReaderVerdict>, what: string): Promise<ReaderVerdict> {
  const { value: v, printed } = await capturingConsole(async (): Promise<ReaderVerdict> => {
    try {
      return await run();
    } catch (e) {
      if (e instanceof UserError) return { outcome: "refused", detail: e.message };
      return { outcome: "failure", detail: `${what} threw ${(e as Error)?.stack?.split("\n").slice(0, 3).join(" | ") ?? String(e)}` };
    }
  });
  return printed.length ? { outcome: "failure", detail: `${what} printed ${JSON.stringify(printed.slice(0, 3))} (${v.outcome}: ${v.detail})` } : v;
}

async function wholeFile(path: string): Promise<ReaderVerdict> {
  const x = await loadAudio(path);
  const bad = finiteProblem(x, 0);
  return bad ? { outcome: "failure", detail: `loadAudio accepted it with ${bad}` } : { outcome: "accepted", detail: "", length: x.length };
}

async function streamed(path: string): Promise<ReaderVerdict> {
  const s = await openAudioStream(path);
  let n = 0;
  for await (const chunk of s.chunks()) {
    const bad = finiteProblem(chunk, n);
    if (bad) return { outcome: "failure", detail: `openAudioStream accepted it with ${bad}` };
    n += chunk.length;
  }
  if (n !== s.length) return { outcome: "failure", detail: `openAudioStream announced ${s.length} samples and yielded ${n}` };
  return { outcome: "accepted", detail: "", length: n };
}

/** Writes the mutant to `path` and runs both readers on it. */
export async function classifyAudio(bytes: Uint8Array, path: string): Promise<AudioVerdict> {
  writeFileSync(path, bytes);
  return { whole: await judged(() => wholeFile(path), "loadAudio"), stream: await judged(() => streamed(path), "openAudioStream") };
}
