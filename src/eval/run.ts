/** Runs codecs over clips, aligns, scores, and writes the report (Markdown table, CSVs, spectrogram plot). */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MelFrontEnd } from "../audio/mel.js";
import { align } from "./align.js";
import type { EvalCodec } from "./codecs.js";
import { logMelL1, melCepstralDistortion, multiResolutionStft, siSdr } from "./metrics.js";
import { spectrogramsPng } from "./plots.js";
import { stoi } from "./stoi.js";

export interface Clip {
  name: string;
  audio: Float32Array;
}

export const METRICS = ["melL1", "mrStft", "siSdr", "stoi", "estoi", "mcd"] as const;
export type MetricName = (typeof METRICS)[number];

export interface ClipRow {
  codec: string;
  clip: string;
  seconds: number;
  kbps: number;
  delay: number;
  trimmed: number;
  encodeRt: number;
  decodeRt: number;
  metrics: Record<MetricName, number>;
}

export interface CodecSummary {
  codec: string;
  kbps: number;
  encodeRt: number;
  decodeRt: number;
  metrics: Record<MetricName, number>;
  commands: string[];
}

const SR = 24000;

export async function scoreClip(ref: Float32Array, deg: Float32Array): Promise<{ metrics: Record<MetricName, number>; delay: number; trimmed: number }> {
  // Codecs delay by at most tens of ms; search +-100 ms.
  const a = align(ref, deg, Math.round(0.1 * SR));
  const mr = multiResolutionStft(a.ref, a.deg);
  return {
    delay: a.delay,
    trimmed: a.trimmed,
    metrics: {
      melL1: logMelL1(a.ref, a.deg),
      mrStft: mr.total,
      siSdr: siSdr(a.ref, a.deg),
      stoi: await stoi(a.ref, a.deg, SR),
      estoi: await stoi(a.ref, a.deg, SR, true),
      mcd: melCepstralDistortion(a.ref, a.deg),
    },
  };
}

export async function runEval(clips: Clip[], codecs: EvalCodec[], onProgress?: (done: number, total: number) => void): Promise<{ rows: ClipRow[]; summary: CodecSummary[]; decoded: Map<string, Map<string, Float32Array>> }> {
  const rows: ClipRow[] = [];
  const decoded = new Map<string, Map<string, Float32Array>>();
  const commands = new Map<string, string[]>();
  let done = 0;
  for (const clip of clips) {
    const seconds = clip.audio.length / SR;
    decoded.set(clip.name, new Map());
    for (const codec of codecs) {
      const r = await codec.run(clip.audio);
      commands.set(codec.name, r.commands);
      decoded.get(clip.name)!.set(codec.name, r.audio);
      const s = await scoreClip(clip.audio, r.audio);
      rows.push({
        codec: codec.name, clip: clip.name, seconds, kbps: (r.bytes * 8) / seconds / 1000, delay: s.delay, trimmed: s.trimmed,
        encodeRt: r.encodeSeconds > 0 ? seconds / r.encodeSeconds : Infinity, decodeRt: seconds / r.decodeSeconds, metrics: s.metrics,
      });
      onProgress?.(++done, clips.length * codecs.length);
    }
  }
  const summary = codecs.map((c) => {
    const rs = rows.filter((r) => r.codec === c.name);
    const secs = rs.reduce((s, r) => s + r.seconds, 0);
    // Duration-weighted means; speeds as total audio over total time.
    const wmean = (f: (r: ClipRow) => number) => rs.reduce((s, r) => s + f(r) * r.seconds, 0) / secs;
    return {
      codec: c.name,
      kbps: wmean((r) => r.kbps),
      encodeRt: secs / rs.reduce((s, r) => s + (Number.isFinite(r.encodeRt) ? r.seconds / r.encodeRt : 0), 0),
      decodeRt: secs / rs.reduce((s, r) => s + r.seconds / r.decodeRt, 0),
      metrics: Object.fromEntries(METRICS.map((m) => [m, wmean((r) => r.metrics[m])])) as Record<MetricName, number>,
      commands: commands.get(c.name) ?? [],
    };
  });
  return { rows, summary, decoded };
}

const HEADER = "| codec | kbit/s | log-mel L1 (lower better) | MR-STFT (lower) | SI-SDR dB (higher) | STOI (higher) | ESTOI (higher) | MCD dB (lower) | encode x RT | decode x RT |";

const f = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : "-");

export function markdownTable(summary: CodecSummary[]): string {
  const lines = [HEADER, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"];
  for (const s of summary)
    lines.push(`| ${s.codec} | ${f(s.kbps, 2)} | ${f(s.metrics.melL1)} | ${f(s.metrics.mrStft)} | ${f(s.metrics.siSdr, 1)} | ${f(s.metrics.stoi)} | ${f(s.metrics.estoi)} | ${f(s.metrics.mcd, 2)} | ${f(s.encodeRt, 1)} | ${f(s.decodeRt, 1)} |`);
  return lines.join("\n") + "\n";
}

export function writeReport(dir: string, clips: Clip[], res: Awaited<ReturnType<typeof runEval>>, plotClip?: string): void {
  mkdirSync(dir, { recursive: true });
  const csv = (cells: (string | number)[]) => cells.map((c) => (typeof c === "number" ? (Number.isFinite(c) ? c.toPrecision(6) : "") : `"${c.replace(/"/g, '""')}"`)).join(",");
  writeFileSync(join(dir, "results.csv"), [csv(["codec", "kbps", ...METRICS, "encode_x_rt", "decode_x_rt"]), ...res.summary.map((s) => csv([s.codec, s.kbps, ...METRICS.map((m) => s.metrics[m]), s.encodeRt, s.decodeRt]))].join("\n") + "\n");
  writeFileSync(join(dir, "clips.csv"), [csv(["codec", "clip", "seconds", "kbps", "delay_samples", "trimmed_samples", ...METRICS, "encode_x_rt", "decode_x_rt"]), ...res.rows.map((r) => csv([r.codec, r.clip, r.seconds, r.kbps, r.delay, r.trimmed, ...METRICS.map((m) => r.metrics[m]), r.encodeRt, r.decodeRt]))].join("\n") + "\n");
  const total = clips.reduce((s, c) => s + c.audio.length, 0) / SR;
  const md = [
    `# Evaluation: ${clips.length} clips, ${total.toFixed(1)} s`,
    "",
    "Means weighted by clip duration; bit rates measured from the encoded files (FlowMAC: .fmac size incl. its 40-byte header and CRC); speeds are multiples of real time on this machine, one thread. Signals are delay-aligned by cross-correlation before scoring.",
    "",
    markdownTable(res.summary),
    "## Commands",
    "",
    ...res.summary.map((s) => `- ${s.codec}: ${s.commands.map((c) => "`" + c + "`").join(", ")}`),
    "",
  ].join("\n");
  writeFileSync(join(dir, "table.md"), md);
  const name = plotClip ?? clips[0]?.name;
  const clip = clips.find((c) => c.name === name);
  if (clip) {
    const fe = new MelFrontEnd();
    const panels = [{ title: `original: ${clip.name}`, ...melOf(fe, clip.audio) }];
    for (const [codec, audio] of res.decoded.get(clip.name) ?? []) panels.push({ title: codec, ...melOf(fe, audio) });
    writeFileSync(join(dir, "spectrograms.png"), spectrogramsPng(panels));
  }
}

function melOf(fe: MelFrontEnd, audio: Float32Array) {
  const m = fe.compute(audio.subarray(0, Math.min(audio.length, 10 * SR)));
  return { mel: m.data, frames: m.frames, bands: m.bands };
}
