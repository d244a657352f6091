/** Runs codecs over clips, aligns, scores, and writes the report (Markdown table, CSVs, spectrogram plot). */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MelFrontEnd } from "../audio/mel.js";
import { align } from "./align.js";
import type { EvalCodec } from "./codecs.js";
import type { ClipKind } from "../corpus/build.js";
import { logMelL1, melCepstralDistortion, multiResolutionStft, siSdr } from "./metrics.js";
import { pitchMetrics } from "./pitch.js";
import { spectrogramsPng } from "./plots.js";
import { stoi } from "./stoi.js";
import { plural } from "../util/plural.js";

/** What a clip holds; reports get a table per kind. Undefined: unknown (counted in "all" only, scored as speech). */
export type ContentKind = "speech" | "music";

export interface Clip {
  name: string;
  audio: Float32Array;
  kind?: ContentKind;
}

/** A corpus clip's kind ("speech-real", "music-synthetic", ...) reduced to speech or music. */
export function contentKindOfCorpusClip(kind: ClipKind): ContentKind {
  return kind.startsWith("music") ? "music" : "speech";
}

/** A plain file's kind guessed from its name: "music" in it means music, anything else is taken for speech. */
export function contentKindOfFileName(name: string): ContentKind {
  return /music/i.test(name) ? "music" : "speech";
}

export const METRICS = ["melL1", "decodedMelL1", "mrStft", "siSdr", "stoi", "estoi", "mcd", "f0Cents", "vde", "gpe"] as const;
export type MetricName = (typeof METRICS)[number];

/** Intelligibility and pitch measures assume one voice: music clips are not scored on them (NaN) and never enter their means. */
export const SPEECH_ONLY_METRICS: ReadonlySet<MetricName> = new Set<MetricName>(["stoi", "estoi", "f0Cents", "vde", "gpe"]);

export interface ClipRow {
  codec: string;
  clip: string;
  kind?: ContentKind;
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

/** Summaries for all clips and for each kind present. */
export interface GroupSummary {
  group: "all" | ContentKind;
  clips: number;
  seconds: number;
  summary: CodecSummary[];
}

const SR = 24000;

/**
 * Scores a decoded clip against its reference after delay alignment; music clips skip the speech-only measures.
 * `decodedMel`: the codec's log-mel before its vocoder, scored against the reference's mel (same framing, no
 * alignment); without it (peers, the vocoder alone) that measure is NaN.
 */
export async function scoreClip(ref: Float32Array, deg: Float32Array, kind?: ContentKind, decodedMel?: Float32Array): Promise<{ metrics: Record<MetricName, number>; delay: number; trimmed: number }> {
  // Codecs delay by at most tens of ms; search +-100 ms.
  const a = align(ref, deg, Math.round(0.1 * SR));
  const mr = multiResolutionStft(a.ref, a.deg);
  const speech = kind !== "music";
  const pitch = speech ? pitchMetrics(a.ref, a.deg, SR) : { f0Cents: NaN, vde: NaN, gpe: NaN };
  return {
    delay: a.delay,
    trimmed: a.trimmed,
    metrics: {
      melL1: logMelL1(a.ref, a.deg),
      decodedMelL1: decodedMel ? melL1Before(ref, decodedMel) : NaN,
      mrStft: mr.total,
      siSdr: siSdr(a.ref, a.deg),
      stoi: speech ? await stoi(a.ref, a.deg, SR) : NaN,
      estoi: speech ? await stoi(a.ref, a.deg, SR, true) : NaN,
      mcd: melCepstralDistortion(a.ref, a.deg),
      ...pitch,
    },
  };
}

/** Mean |log-mel difference| between the reference's mel and a decoded mel of the same frames. */
function melL1Before(ref: Float32Array, decodedMel: Float32Array): number {
  const orig = new MelFrontEnd().compute(ref).data;
  if (orig.length !== decodedMel.length) throw new Error(`decoded mel has ${decodedMel.length} values, the reference's ${orig.length}`);
  let s = 0;
  for (let i = 0; i < orig.length; i++) s += Math.abs(orig[i] - decodedMel[i]);
  return s / orig.length;
}

/**
 * Per-codec means over `rows`, weighted by clip duration. A NaN (e.g. F0
 * error on a clip with no frame voiced in both signals) is left out of its
 * mean rather than poisoning it; speech-only measures average over the
 * non-music clips. Speeds are total audio over total time.
 */
export function summarise(rows: ClipRow[], codecs: string[], commands: ReadonlyMap<string, string[]> = new Map()): CodecSummary[] {
  return codecs.map((codec) => {
    const rs = rows.filter((r) => r.codec === codec);
    const secs = rs.reduce((s, r) => s + r.seconds, 0);
    const wmean = (f: (r: ClipRow) => number, among = rs) => {
      let sum = 0;
      let weight = 0;
      for (const r of among) {
        const v = f(r);
        if (Number.isNaN(v)) continue;
        sum += v * r.seconds;
        weight += r.seconds;
      }
      return weight > 0 ? sum / weight : NaN;
    };
    const speechRows = rs.filter((r) => r.kind !== "music");
    return {
      codec,
      kbps: wmean((r) => r.kbps),
      encodeRt: secs / rs.reduce((s, r) => s + (Number.isFinite(r.encodeRt) ? r.seconds / r.encodeRt : 0), 0),
      decodeRt: secs / rs.reduce((s, r) => s + r.seconds / r.decodeRt, 0),
      metrics: Object.fromEntries(METRICS.map((m) => [m, wmean((r) => r.metrics[m], SPEECH_ONLY_METRICS.has(m) ? speechRows : rs)])) as Record<MetricName, number>,
      commands: commands.get(codec) ?? [],
    };
  });
}

/** "all", then speech and music where any clip has that kind. */
export function groupSummaries(rows: ClipRow[], codecs: string[], commands: ReadonlyMap<string, string[]> = new Map()): GroupSummary[] {
  const groups: GroupSummary["group"][] = ["all", ...(["speech", "music"] as const).filter((k) => rows.some((r) => r.kind === k))];
  return groups.map((group) => {
    const rs = group === "all" ? rows : rows.filter((r) => r.kind === group);
    const clips = new Map(rs.map((r) => [r.clip, r.seconds]));
    return { group, clips: clips.size, seconds: [...clips.values()].reduce((s, v) => s + v, 0), summary: summarise(rs, codecs, commands) };
  });
}

export interface EvalResult {
  rows: ClipRow[];
  /** The "all" group's summary. */
  summary: CodecSummary[];
  groups: GroupSummary[];
  decoded: Map<string, Map<string, Float32Array>>;
}

export async function runEval(clips: Clip[], codecs: EvalCodec[], onProgress?: (done: number, total: number) => void): Promise<EvalResult> {
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
      const s = await scoreClip(clip.audio, r.audio, clip.kind, r.mel);
      rows.push({
        codec: codec.name, clip: clip.name, kind: clip.kind, seconds, kbps: (r.bytes * 8) / seconds / 1000, delay: s.delay, trimmed: s.trimmed,
        encodeRt: r.encodeSeconds > 0 ? seconds / r.encodeSeconds : Infinity, decodeRt: seconds / r.decodeSeconds, metrics: s.metrics,
      });
      onProgress?.(++done, clips.length * codecs.length);
    }
  }
  const names = codecs.map((c) => c.name);
  const groups = groupSummaries(rows, names, commands);
  return { rows, summary: groups[0].summary, groups, decoded };
}

const HEADER = "| codec | kbit/s | log-mel L1 (lower better) | mel L1 before vocoder‡ (lower) | MR-STFT (lower) | SI-SDR dB (higher) | STOI† (higher) | ESTOI† (higher) | MCD dB (lower) | F0 error cents† (lower) | VDE† (lower) | GPE† (lower) | encode x RT | decode x RT |";
const SPEECH_NOTE = "† speech measures (STOI, ESTOI, pitch): means over speech clips only, \"-\" where there are none. F0 error: mean |cents| over frames voiced in both signals; VDE: share of frames whose voicing differs; GPE: share of both-voiced frames off by more than 20%. ‡ the codec's decoded log-mel before its vocoder against the original's (FlowMAC and linear rows; \"-\" for codecs with no mel).";

const f = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : "-");

/** One Markdown table of codec summaries, by default followed by the note that explains the speech-only (†) columns. */
export function markdownTable(summary: CodecSummary[], withNote = true): string {
  const lines = [HEADER, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"];
  for (const s of summary) {
    const m = s.metrics;
    lines.push(`| ${s.codec} | ${f(s.kbps, 2)} | ${f(m.melL1)} | ${f(m.decodedMelL1)} | ${f(m.mrStft)} | ${f(m.siSdr, 1)} | ${f(m.stoi)} | ${f(m.estoi)} | ${f(m.mcd, 2)} | ${f(m.f0Cents, 1)} | ${f(m.vde)} | ${f(m.gpe)} | ${f(s.encodeRt, 1)} | ${f(s.decodeRt, 1)} |`);
  }
  return lines.join("\n") + "\n" + (withNote ? "\n" + SPEECH_NOTE + "\n" : "");
}

const GROUP_TITLES = { all: "All clips", speech: "Speech", music: "Music" } as const;

/** A section per group, then the † note; a kind's section is left out when that kind is every clip (it would repeat "all"). */
export function groupedTables(groups: GroupSummary[]): string {
  const all = groups.find((g) => g.group === "all");
  const sections: string[] = [];
  for (const g of groups) {
    if (g.group !== "all" && all && g.clips === all.clips) continue;
    const only = g.group === "all" ? groups.find((k) => k.group !== "all" && k.clips === g.clips) : undefined;
    const title = `${GROUP_TITLES[g.group]}${only ? ` (all ${only.group})` : ""}: ${plural(g.clips, "clip")}, ${g.seconds.toFixed(1)} s`;
    sections.push(`## ${title}\n\n${markdownTable(g.summary, false)}`);
  }
  return sections.join("\n") + "\n" + SPEECH_NOTE + "\n";
}

/** results.csv: one row per group and codec ("all" first, then each kind present); an empty cell is a measure with no value. */
export function resultsCsv(groups: GroupSummary[]): string {
  const rows = groups.flatMap((g) => g.summary.map((s) => csvRow([g.group, s.codec, s.kbps, ...METRICS.map((m) => s.metrics[m]), s.encodeRt, s.decodeRt])));
  return [csvRow(["group", "codec", "kbps", ...METRICS, "encode_x_rt", "decode_x_rt"]), ...rows].join("\n") + "\n";
}

const csvRow = (cells: (string | number)[]) => cells.map((c) => (typeof c === "number" ? (Number.isFinite(c) ? c.toPrecision(6) : "") : `"${c.replace(/"/g, '""')}"`)).join(",");

export function writeReport(dir: string, clips: Clip[], res: EvalResult, plotClip?: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "results.csv"), resultsCsv(res.groups));
  writeFileSync(join(dir, "clips.csv"), [csvRow(["codec", "clip", "kind", "seconds", "kbps", "delay_samples", "trimmed_samples", ...METRICS, "encode_x_rt", "decode_x_rt"]), ...res.rows.map((r) => csvRow([r.codec, r.clip, r.kind ?? "", r.seconds, r.kbps, r.delay, r.trimmed, ...METRICS.map((m) => r.metrics[m]), r.encodeRt, r.decodeRt]))].join("\n") + "\n");
  const total = clips.reduce((s, c) => s + c.audio.length, 0) / SR;
  const md = [
    `# Evaluation: ${clips.length} clips, ${total.toFixed(1)} s`,
    "",
    "Means weighted by clip duration; bit rates measured from the encoded files (FlowMAC: .fmac size incl. its 40-byte header and CRC); speeds are multiples of real time on this machine, one thread. Signals are delay-aligned before scoring: the lag of best-matching log-spectral envelopes (2.7 ms steps; robust to codecs that do not keep the phase), refined by waveform cross-correlation within one step. Pitch: YIN F0 (50-800 Hz, 10 ms frames).",
    "",
    groupedTables(res.groups),
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
