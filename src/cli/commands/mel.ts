import type { Command } from "commander";
import { loadAudio } from "../../audio/load.js";
import { MelFrontEnd, toBandMajor } from "../../audio/mel.js";
import { writeFileAtomic } from "../../util/files.js";
import { encodeNpy } from "../../util/npy.js";
import { requireOutput } from "../options.js";
import { refuseOutputsOverInputs } from "../same-file.js";

export function registerMel(program: Command): void {
  program
    .command("mel")
    .description("compute the 128-band log-mel of an audio file (24 kHz) and save it as float32 .npy [128, frames]")
    .argument("<audio>", "input audio (WAV, FLAC, MP3, Ogg)")
    .requiredOption("-o, --output <file.npy>", "output .npy file")
    .action(async (audioPath: string, opts: { output: string }) => {
      const out = requireOutput(opts.output, ".npy");
      refuseOutputsOverInputs([audioPath], [out]);
      const audio = await loadAudio(audioPath);
      const mel = new MelFrontEnd().compute(audio);
      writeFileAtomic(out, encodeNpy(toBandMajor(mel), [mel.bands, mel.frames]));
      console.log(`${out}: [${mel.bands}, ${mel.frames}] log-mel of ${(audio.length / 24000).toFixed(2)} s`);
    });
}
