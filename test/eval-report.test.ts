import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EvalCodec } from "../src/eval/codecs.js";
import { MelFrontEnd } from "../src/audio/mel.js";
import {
  contentKindOfCorpusClip, contentKindOfFileName, groupedTables, groupSummaries, markdownTable, METRICS, resultsCsv, runEval, writeReport,
  type ClipRow, type ContentKind, type MetricName,
} from "../src/eval/run.js";

function row(clip: string, kind: ContentKind | undefined, seconds: number, metrics: Partial<Record<MetricName, number>>): ClipRow {
  const all = Object.fromEntries(METRICS.map((m) => [m, metrics[m] ?? 1])) as Record<MetricName, number>;
  return { codec: "c", clip, kind, seconds, kbps: 3, delay: 0, trimmed: 0, encodeRt: 10, decodeRt: 10, metrics: all };
}

/** Cells of the table row for codec `c` (between the outer pipes). */
function cells(table: string): string[] {
  const line = table.split("\n").find((l) => l.startsWith("| c |"))!;
  return line.split("|").slice(1, -1).map((s) => s.trim());
}
const HEADER_CELLS = (table: string) => table.split("\n")[0].split("|").slice(1, -1).map((s) => s.trim());

describe("eval report groups", () => {
  // Two speech clips (one with no frame voiced in both: NaN F0 error) and one music clip
  // that carries (meaningless) speech scores, which must stay out of every speech mean.
  const rows = [
    row("a", "speech", 2, { stoi: 0.8, f0Cents: 10, vde: 0.1, melL1: 1 }),
    row("b", "speech", 1, { stoi: 0.5, f0Cents: NaN, vde: 0.4, melL1: 2 }),
    row("m", "music", 3, { stoi: 0.1, f0Cents: 900, vde: 0.9, melL1: 4 }),
  ];
  const groups = groupSummaries(rows, ["c"]);
  const byGroup = (g: string) => groups.find((x) => x.group === g)!;

  it("summarise all clips, then speech and music apart", () => {
    expect(groups.map((g) => [g.group, g.clips, g.seconds])).toEqual([["all", 3, 6], ["speech", 2, 3], ["music", 1, 3]]);
    const all = byGroup("all").summary[0].metrics;
    expect(all.melL1).toBeCloseTo((2 * 1 + 1 * 2 + 3 * 4) / 6, 12);
    // Speech measures average the speech clips only; a NaN is skipped, not propagated.
    expect(all.stoi).toBeCloseTo((2 * 0.8 + 1 * 0.5) / 3, 12);
    expect(all.vde).toBeCloseTo((2 * 0.1 + 1 * 0.4) / 3, 12);
    expect(all.f0Cents).toBeCloseTo(10, 12);
    const speech = byGroup("speech").summary[0].metrics;
    expect(speech.melL1).toBeCloseTo(4 / 3, 12);
    expect(speech.f0Cents).toBeCloseTo(10, 12);
    const music = byGroup("music").summary[0].metrics;
    expect(music.melL1).toBe(4);
    for (const m of ["stoi", "estoi", "f0Cents", "vde", "gpe"] as const) expect(music[m], m).toBeNaN();
  });

  it("print '-' for speech measures in the music table and numbers elsewhere", () => {
    const musicTable = markdownTable(byGroup("music").summary);
    const header = HEADER_CELLS(musicTable);
    const c = cells(musicTable);
    expect(header.length).toBe(14);
    expect(c.length).toBe(header.length);
    for (const name of ["STOI† (higher)", "ESTOI† (higher)", "F0 error cents† (lower)", "VDE† (lower)", "GPE† (lower)"]) expect(c[header.indexOf(name)], name).toBe("-");
    expect(c[header.indexOf("log-mel L1 (lower better)")]).toBe("4.000");
    const allCells = cells(markdownTable(byGroup("all").summary));
    expect(allCells[header.indexOf("F0 error cents† (lower)")]).toBe("10.0");
    expect(allCells[header.indexOf("VDE† (lower)")]).toBe("0.200");
    expect(musicTable).toMatch(/† speech measures .* speech clips only/);
  });

  it("write a section per group, and no repeat of 'all' when every clip is one kind", () => {
    const md = groupedTables(groups);
    expect(md).toContain("## All clips: 3 clips, 6.0 s");
    expect(md).toContain("## Speech: 2 clips, 3.0 s");
    expect(md).toContain("## Music: 1 clip, 3.0 s");
    expect(md.match(/† speech measures/g)?.length).toBe(1);
    const speechOnly = groupedTables(groupSummaries(rows.slice(0, 2), ["c"]));
    expect(speechOnly).toContain("## All clips (all speech): 2 clips, 3.0 s");
    expect(speechOnly).not.toContain("## Speech");
  });

  it("put a group column first in results.csv, a row per group and codec", () => {
    const lines = resultsCsv(groups).trim().split("\n").map((l) => l.split(",").map((c) => c.replace(/^"|"$/g, "")));
    expect(lines[0].slice(0, 3)).toEqual(["group", "codec", "kbps"]);
    expect(lines[0]).toContain("f0Cents");
    expect(lines.slice(1).map((l) => l[0])).toEqual(["all", "speech", "music"]);
    const stoi = lines[0].indexOf("stoi");
    expect(lines[1][stoi]).toBe("0.700000");
    expect(lines[3][stoi]).toBe(""); // music: no STOI
  });

  it("take a clip's kind from the corpus manifest, or from a file name", () => {
    expect(contentKindOfCorpusClip("music-synthetic")).toBe("music");
    expect(contentKindOfCorpusClip("music-real")).toBe("music");
    expect(contentKindOfCorpusClip("speech-real")).toBe("speech");
    expect(contentKindOfFileName("Music.wav")).toBe("music");
    expect(contentKindOfFileName("speech-nl.wav")).toBe("speech");
  });
});

describe("runEval with pitch and groups", () => {
  const SR = 24000;
  const tone = (hz: number) => Float32Array.from({ length: SR }, (_, i) => 0.3 * Math.sin((2 * Math.PI * hz * i) / SR) + 0.1 * Math.sin((4 * Math.PI * hz * i) / SR));
  // A stand-in codec: delays by 12 samples and transposes nothing, so pitch survives and alignment is exercised.
  const delaying: EvalCodec = {
    name: "delay12",
    packages: [],
    run: async (x) => {
      const y = new Float32Array(x.length);
      y.set(x.subarray(0, x.length - 12), 12);
      return { audio: y, bytes: 100, encodeSeconds: 0.01, decodeSeconds: 0.01, commands: ["(test)"] };
    },
  };

  it("scores speech clips on pitch, leaves music clips out of speech measures, and writes the grouped report", async () => {
    const res = await runEval([{ name: "voice", kind: "speech", audio: tone(140) }, { name: "music", kind: "music", audio: tone(440) }], [delaying]);
    const voice = res.rows.find((r) => r.clip === "voice")!;
    expect(voice.delay).toBe(12);
    expect(voice.metrics.f0Cents).toBeLessThan(1);
    expect(voice.metrics.vde).toBeLessThan(0.05);
    expect(voice.metrics.stoi).toBeGreaterThan(0.9);
    const music = res.rows.find((r) => r.clip === "music")!;
    expect(music.metrics.stoi).toBeNaN();
    expect(music.metrics.f0Cents).toBeNaN();
    expect(voice.metrics.decodedMelL1, "a codec with no mel before its vocoder").toBeNaN();
    expect(res.groups.map((g) => g.group)).toEqual(["all", "speech", "music"]);
    expect(res.summary).toBe(res.groups[0].summary);

    const dir = mkdtempSync(join(tmpdir(), "flowmac-eval-"));
    try {
      writeReport(dir, [], res);
      const md = readFileSync(join(dir, "table.md"), "utf8");
      expect(md).toMatch(/## All clips: 2 clips[\s\S]*## Speech: 1 clip[\s\S]*## Music: 1 clip[\s\S]*## Commands/);
      const clipsCsv = readFileSync(join(dir, "clips.csv"), "utf8").split("\n");
      expect(clipsCsv[0].startsWith('"codec","clip","kind",')).toBe(true);
      expect(clipsCsv[1]).toContain('"speech"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the decoded mel before the vocoder", () => {
  const SR = 24000;
  const voice = Float32Array.from({ length: SR }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 140 * i) / SR));
  // Passes the audio through and reports the input's own mel shifted by 0.25 in every cell: its L1 must read 0.25.
  const shifted: EvalCodec = {
    name: "mel+0.25",
    packages: [],
    run: async (x) => {
      const mel = new MelFrontEnd().compute(x).data.map((v) => v + 0.25);
      return { audio: x.slice(), mel, bytes: 100, encodeSeconds: 0.01, decodeSeconds: 0.01, commands: ["(test)"] };
    },
  };
  it("is scored against the reference's mel and reported in its own column", async () => {
    const res = await runEval([{ name: "voice", kind: "speech", audio: voice }], [shifted]);
    expect(res.rows[0].metrics.decodedMelL1).toBeCloseTo(0.25, 5);
    expect(res.rows[0].metrics.melL1).toBeLessThan(1e-6);
    const table = markdownTable(res.summary).replace("| mel+0.25 |", "| c |");
    expect(cells(table)[HEADER_CELLS(table).indexOf("mel L1 before vocoder‡ (lower)")]).toBe("0.250");
  });
  it("refuses a decoded mel of another length", async () => {
    const bad: EvalCodec = { ...shifted, run: async (x) => ({ ...(await shifted.run(x)), mel: new Float32Array(10) }) };
    await expect(runEval([{ name: "voice", kind: "speech", audio: voice }], [bad])).rejects.toThrow(/decoded mel has 10 values/);
  });
});
