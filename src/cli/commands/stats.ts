import type { Command } from "commander";
import { listAudioFiles } from "../../audio/files.js";
import { MelFrontEnd } from "../../audio/mel.js";
import { MelStream } from "../../audio/mel-stream.js";
import { MelStatsAccumulator } from "../../audio/stats.js";
import { openAudioStream } from "../../audio/stream.js";
import { UserError } from "../../util/errors.js";
import { writeFileAtomic } from "../../util/files.js";
import { plural } from "../../util/plural.js";
import { progressBar } from "../progress.js";
import { requireOutput } from "../options.js";
import { refuseOutputsOverInputs } from "../same-file.js";

/** Adds one file's log-mel to the statistics, streamed (bounded memory however long the file); nothing if it fails part-way. */
async function addFile(path: string, fe: MelFrontEnd, acc: MelStatsAccumulator): Promise<void> {
  const stream = await openAudioStream(path);
  const mel = new MelStream(fe, stream.length);
  const file = new MelStatsAccumulator(fe.config.nMels);
  const add = (data: Float32Array) => file.add({ frames: data.length / fe.config.nMels, bands: fe.config.nMels, data });
  for await (const chunk of stream.chunks()) add(mel.push(chunk));
  add(mel.finish());
  acc.merge(file);
}

export function registerStats(program: Command): void {
  program
    .command("stats")
    .description("compute per-band log-mel mean and std over audio files or folders (the codec's fixed normalisation)")
    .argument("<inputs...>", "audio files or directories (searched recursively; any format encode reads, files that do not decode are skipped with a note)")
    .requiredOption("-o, --output <stats.json>", "output JSON file")
    .action(async (inputs: string[], opts: { output: string }) => {
      const out = requireOutput(opts.output, ".json");
      const files = listAudioFiles(inputs);
      refuseOutputsOverInputs(files, [out]);
      const fe = new MelFrontEnd();
      const acc = new MelStatsAccumulator(fe.config.nMels);
      const bar = progressBar("stats", files.length, " files");
      let skipped = 0;
      for (const [i, f] of files.entries()) {
        try {
          await addFile(f, fe, acc);
        } catch (e) {
          if (!(e instanceof UserError)) throw e;
          console.error(`skipped ${e.message}`);
          skipped++;
        }
        bar.update(i + 1);
      }
      bar.stop();
      const used = files.length - skipped;
      if (used === 0) throw new UserError(`no usable audio in ${inputs.join(", ")} (${plural(skipped, "file")} skipped)`);
      const stats = acc.result();
      writeFileAtomic(out, JSON.stringify({ ...stats, files: used, mel: fe.config }, null, 1) + "\n");
      console.log(`${out}: ${stats.bands} bands over ${stats.frames} frames from ${used} files${skipped ? ` (${skipped} skipped)` : ""}`);
    });
}
