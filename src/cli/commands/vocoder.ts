import type { Command } from "commander";
import { loadAudio, SAMPLE_RATE } from "../../audio/load.js";
import { fromBandMajor, MelFrontEnd } from "../../audio/mel.js";
import { encodeWav } from "../../audio/wav.js";
import { vocodeMel } from "../../model/pipeline.js";
import { parseVocoder, VOCODER_HELP, withVocoder, type VocoderChoice } from "../../model/phase-vocoder.js";
import { UserError } from "../../util/errors.js";
import { readInputFile, writeFileAtomic } from "../../util/files.js";
import { decodeNpy } from "../../util/npy.js";
import { modelOptions, openModel, type ModelOpts } from "../model-options.js";
import { requireOutput } from "../options.js";
import { progressBar } from "../progress.js";
import { refuseOutputsOverInputs } from "../same-file.js";
import { checkRefinerFlags, refinerOptions, refinerSettings, type RefinerFlags } from "../refiner-flags.js";
import { TRUE_MEL_PROJECTION } from "../../model/refiner-host.js";
import type { VocodeSettings } from "../../model/engine.js";

interface Opts extends ModelOpts, RefinerFlags {
  output: string;
  vocoder: VocoderChoice;
}

function common(cmd: Command, projectionDefault: string): Command {
  return refinerOptions(modelOptions(cmd.requiredOption("-o, --output <file.wav>", "output WAV (24 kHz, 16-bit)")).option(
    "--vocoder <name>",
    `mel-to-audio stage: ${VOCODER_HELP}`,
    parseVocoder,
    parseVocoder("model"),
  ), projectionDefault);
}

/** `defaults`: the command's refiner settings, under the flags (vocoders other than a refiner ignore them). */
async function vocodeToFile(mel: Float32Array, frames: number, length: number, o: Opts, defaults: VocodeSettings = {}): Promise<void> {
  const engine = await withVocoder(await openModel(o), o.vocoder);
  checkRefinerFlags(o, o.vocoder, engine);
  const bar = progressBar("vocode", 1);
  const audio = await vocodeMel(engine, mel, frames, length, (d, t) => bar.update(d / t), { ...defaults, ...refinerSettings(o) });
  bar.stop();
  writeFileAtomic(o.output, encodeWav([audio], SAMPLE_RATE, "pcm16"));
  console.log(`${o.output}: ${(length / SAMPLE_RATE).toFixed(2)} s`);
  engine.dispose();
}

export function registerVocoder(program: Command): void {
  common(program.command("vocode"), "default 0: a mel from elsewhere, e.g. a TTS model's, may carry errors")
    .description("turn a log-mel .npy [128, frames] (the layout 'flowmac mel' writes) into audio with the vocoder")
    .argument("<mel.npy>", "float32 log-mel, natural log, [128, frames]")
    .action(async (input: string, o: Opts) => {
      requireOutput(o.output, ".wav");
      refuseOutputsOverInputs([input], [o.output]);
      const { data, shape } = decodeNpy(await readInputFile(input), input);
      if (shape.length !== 2 || shape[0] !== 128) throw new UserError(`${input}: expected a [128, frames] log-mel, got [${shape}]`);
      if (!data.every(Number.isFinite)) throw new UserError(`${input}: contains NaN or infinite values`);
      const mel = fromBandMajor(data, 128, shape[1]);
      // Each frame covers one hop from its centre on: frames x 512 samples.
      await vocodeToFile(mel.data, mel.frames, mel.frames * 512, o);
    });

  common(program.command("resynth"), `default ${TRUE_MEL_PROJECTION}: the mel is the input's own`)
    .description("audio -> mel -> vocoder: hear the vocoder alone (the ceiling of the codec's quality)")
    .argument("<audio>", "input audio")
    .action(async (input: string, o: Opts) => {
      requireOutput(o.output, ".wav");
      refuseOutputsOverInputs([input], [o.output]);
      const audio = await loadAudio(input);
      const mel = new MelFrontEnd().compute(audio);
      await vocodeToFile(mel.data, mel.frames, audio.length, o, { melProjection: TRUE_MEL_PROJECTION });
    });
}
