import type { Command } from "commander";
import { listAudioFiles } from "../../audio/files.js";
import { loadAudio } from "../../audio/load.js";
import { MelFrontEnd } from "../../audio/mel.js";
import { MelStatsAccumulator } from "../../audio/stats.js";
import { writeFileAtomic } from "../../util/files.js";
import { progressBar } from "../progress.js";
import { requireOutput } from "../options.js";
import { refuseOutputsOverInputs } from "../same-file.js";

export function registerStats(program: Command): void {
  program
    .command("stats")
    .description("compute per-band log-mel mean and std over a corpus (the codec's fixed normalisation)")
    .argument("<inputs...>", "audio files or directories (searched recursively)")
    .requiredOption("-o, --output <stats.json>", "output JSON file")
    .action(async (inputs: string[], opts: { output: string }) => {
      const out = requireOutput(opts.output, ".json");
      const files = listAudioFiles(inputs);
      refuseOutputsOverInputs(files, [out]);
      const fe = new MelFrontEnd();
      const acc = new MelStatsAccumulator(fe.config.nMels);
      const bar = progressBar("stats", files.length, " files");
      for (const [i, f] of files.entries()) {
        acc.add(fe.compute(await loadAudio(f)));
        bar.update(i + 1);
      }
      bar.stop();
      const stats = acc.result();
      writeFileAtomic(out, JSON.stringify({ ...stats, files: files.length, mel: fe.config }, null, 1) + "\n");
      console.log(`${out}: ${stats.bands} bands over ${stats.frames} frames from ${files.length} files`);
    });
}
