import type { Command } from "commander";
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { listAudioFiles } from "../../audio/files.js";
import { loadAudio } from "../../audio/load.js";
import { readManifest } from "../../train/data.js";
import { isCorpusDir } from "../../train/corpus-clips.js";
import type { ManifestEntry, Split } from "../../corpus/build.js";
import { codecFromSpec, type EvalCodec } from "../../eval/codecs.js";
import { installPeers } from "../../eval/peers.js";
import { contentKindOfCorpusClip, contentKindOfFileName, markdownTable, runEval, writeReport, type Clip, type ContentKind } from "../../eval/run.js";
import type { InferenceEngine } from "../../model/engine.js";
import { UserError } from "../../util/errors.js";
import { modelOptions, openModel, type ModelOpts } from "../model-options.js";
import { parseChoice, parseFloatOption, parseIntOption } from "../options.js";
import { progressBar } from "../progress.js";

interface EvalOpts extends ModelOpts {
  codecs: string;
  output: string;
  split: Split;
  maxClips?: number;
  maxSeconds?: number;
  plotClip?: string;
  linear?: string;
  clips?: string;
}

type ClipPath = { name: string; path: string; kind: ContentKind };

/** Clips from audio files (kind guessed from the name), or from a corpus directory's split (kind from its manifest). */
function clipPaths(inputs: string[], split: string): ClipPath[] {
  if (isCorpus(inputs)) return readManifest(inputs[0]).filter((e) => e.split === split).map((e) => corpusClip(inputs[0], e));
  return listAudioFiles(inputs).map((p) => ({ name: basename(p), path: p, kind: contentKindOfFileName(basename(p)) }));
}

const isCorpus = (inputs: string[]) => inputs.length === 1 && isCorpusDir(inputs[0]);
const corpusClip = (dir: string, e: ManifestEntry): ClipPath => ({ name: e.id, path: join(dir, e.path), kind: contentKindOfCorpusClip(e.kind) });

/**
 * The corpus clips a list file names, in its order: a fixed set stays the same clips when the
 * corpus grows (an evenly spread pick of a split shifts with every added clip).
 */
export function listedClips(inputs: string[], listFile: string): ClipPath[] {
  if (!isCorpus(inputs)) throw new UserError("--clips names clips of a corpus: pass one corpus directory (with manifest.jsonl)");
  if (!existsSync(listFile)) throw new UserError(`${listFile}: no such clip list`);
  const ids = readFileSync(listFile, "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  if (ids.length === 0) throw new UserError(`${listFile}: names no clips`);
  const byId = new Map(readManifest(inputs[0]).map((e) => [e.id, e]));
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length) throw new UserError(`${listFile}: ${missing.length} clip(s) not in ${inputs[0]}, e.g. ${missing[0]}`);
  return ids.map((id) => corpusClip(inputs[0], byId.get(id)!));
}

const REPORT_HELP = `
Report (table.md, results.csv, clips.csv, spectrograms.png): a table for all clips, then one for
speech and one for music when both are present. A corpus clip's kind comes from its manifest; a
plain file counts as music when its name contains "music", otherwise as speech.
Columns: kbit/s, log-mel L1, mel L1 before the vocoder (FlowMAC and linear rows: the decoded
log-mel against the original's, the codec's share of the error), MR-STFT, SI-SDR, STOI, ESTOI,
MCD, F0 error (cents), VDE, GPE,
encode and decode speed. STOI, ESTOI and the pitch measures are speech measures: music clips are
not scored on them ("-" in the music table) and the all-clips means cover the speech clips only.
Pitch: YIN F0 at 10 ms frames, 50-800 Hz; F0 error = mean |cents| over frames voiced in both
signals, VDE = share of frames whose voicing differs, GPE = share of both-voiced frames off by
more than 20%. results.csv has a group column (all, speech, music); clips.csv a kind column.`;

/** Evenly spaced picks, so a capped evaluation still spans the whole list. */
function spread<T>(xs: T[], n?: number): T[] {
  if (!n || n >= xs.length) return xs;
  return Array.from({ length: n }, (_, i) => xs[Math.floor((i * xs.length) / n)]);
}

export function registerEval(program: Command): void {
  modelOptions(program.command("eval"), "FlowMAC model directory (default: the bundled model)")
    .description("evaluate FlowMAC against peer codecs (Opus, Codec 2, Speex) on the same clips: table, CSVs, spectrograms")
    .argument("<inputs...>", "audio files, a directory of them, or a corpus directory (uses its --split)")
    .option("--codecs <list>", "comma-separated: flowmac@3, flowmac@1.5, flowmac-lc@3, flowmac@3:8 (8 steps; :0 = the prior mel, no flow), flowmac@3:g0.5:t0.7 (guidance, temperature), flowmac@3:fixed (the same stages every frame, no rate allocation), flowmac@3:plain (allocated, no entropy coding), vocoder-only, linear@3, any flowmac/linear/vocoder-only row with '/<vocoder>' (e.g. flowmac-lc@3/pghi-fgla, vocoder-only/fgla:64), a refiner vocoder's work as :i<phase iterations>:n<NNLS iterations>:p<mel projection> (e.g. vocoder-only:i32, flowmac-lc@3:i4), opus@6, codec2@3200, codec2@1600, speex@0", "flowmac@3,flowmac@1.5,flowmac-lc@3,opus@6,codec2@3200,codec2@1600,speex@0")
    .requiredOption("-o, --output <report-dir>", "report directory")
    .option("--split <name>", "corpus split to evaluate (unseen: the held-out speakers no model trains on)", parseChoice("split", ["validation", "train", "unseen"] as const), "validation")
    .option("--clips <file>", "evaluate the corpus clips this file names, one id per line (instead of --split and --max-clips)")
    .option("--max-clips <n>", "evaluate at most n clips (evenly spread)", parseIntOption("max-clips", 1, 1e6))
    .option("--max-seconds <s>", "cut clips to their first s seconds", parseFloatOption("max-seconds", 0.5, 3600))
    .option("--plot-clip <name>", "clip whose spectrograms are plotted (default: the first)")
    .option("--linear <file>", "linear reference codec for the linear@<kbps> rows (linear@3 = 8 stages, linear@1.5 = 4), decoded by the model's vocoder; fit it first with 'flowmac fit-linear' on the training split")
    .addHelpText("after", REPORT_HELP)
    .action(async (inputs: string[], o: EvalOpts) => {
      if (existsSync(o.output) && !statSync(o.output).isDirectory()) throw new UserError(`${o.output}: exists and is not a directory (the report is a directory of files)`);
      const specs = o.codecs.split(",").map((s) => s.trim()).filter(Boolean);
      if (specs.length === 0) throw new UserError("--codecs is empty");
      let engine: Promise<InferenceEngine> | null = null;
      const getEngine = () => (engine ??= openModel(o));
      const codecs: EvalCodec[] = [];
      for (const s of specs) codecs.push(await codecFromSpec(s, getEngine, o.linear));
      installPeers(codecs.filter((c) => c.packages.length > 0) as any, (m) => console.error(m));
      if (o.clips && o.maxClips) throw new UserError("--clips and --max-clips exclude each other: the list names the clips");
      const paths = o.clips ? listedClips(inputs, o.clips) : spread(clipPaths(inputs, o.split), o.maxClips);
      if (paths.length === 0) throw new UserError(`no clips found in ${inputs.join(", ")}`);
      const clips: Clip[] = [];
      for (const p of paths) {
        const audio = await loadAudio(p.path);
        clips.push({ name: p.name, kind: p.kind, audio: o.maxSeconds ? audio.subarray(0, Math.round(o.maxSeconds * 24000)) : audio });
      }
      const bar = progressBar("eval", clips.length * codecs.length);
      const res = await runEval(clips, codecs, (d) => bar.update(d));
      bar.stop();
      writeReport(o.output, clips, res, o.plotClip);
      console.log(markdownTable(res.summary));
      console.log(`report: ${join(o.output, "table.md")}, results.csv, clips.csv, spectrograms.png`);
      const opened = engine as Promise<InferenceEngine> | null;
      if (opened) (await opened).dispose();
    });
}
