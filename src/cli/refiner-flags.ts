/**
 * The flags that set a refiner vocoder's work, shared by every command that vocodes
 * (decode, roundtrip, resynth, vocode): one definition, one check, one meaning.
 */
import type { Command } from "commander";
import type { InferenceEngine, VocodeSettings } from "../model/engine.js";
import type { VocoderChoice } from "../model/phase-vocoder.js";
import { UserError } from "../util/errors.js";
import { parseIntOption } from "./options.js";

/** The flags' values: the vocoder settings they set, under the same names. */
export type RefinerFlags = VocodeSettings;

/** Each setting's flag, and its letter in `flowmac eval` specs (":i4:n10:p30"). */
export const REFINER_FLAGS = [
  { flag: "--phase-iterations", key: "phaseIterations", letter: "i", what: "phase", otherVocoder: "takes them in its name (e.g. pghi-fgla:4)" },
  { flag: "--nnls-iterations", key: "nnlsIterations", letter: "n", what: "magnitude prior", otherVocoder: "has none" },
  { flag: "--mel-projection", key: "melProjection", letter: "p", what: "mel projection", otherVocoder: "has none" },
] as const;

/** Adds the three flags; `projectionDefault` names the command's default mel projection in its help. */
export function refinerOptions(cmd: Command, projectionDefault: string): Command {
  return cmd
    .option("--phase-iterations <n>", "the model's refiner vocoder: fast Griffin-Lim iterations after PGHI (default 16; 0 = PGHI alone, faster, a little less clean)", parseIntOption("phase-iterations", 0, 1000))
    .option("--nnls-iterations <n>", "the model's refiner vocoder: iterations of its magnitude prior from the mel (default 40, as trained; fewer are faster)", parseIntOption("nnls-iterations", 1, 1000))
    .option("--mel-projection <n>", `the model's refiner vocoder: iterations that pull its magnitude toward re-analysing to the mel exactly (${projectionDefault}; pays where the mel is the true one, not for a codec's decoded mel)`, parseIntOption("mel-projection", 0, 1000));
}

/** The flags as vocoder settings (unset ones absent, so that defaults apply). */
export function refinerSettings(o: RefinerFlags): VocodeSettings {
  const out: VocodeSettings = {};
  for (const { key } of REFINER_FLAGS) if (o[key] !== undefined) out[key] = o[key];
  return out;
}

/** The settings as command-line flags (" --phase-iterations 2 --nnls-iterations 10"). */
export function refinerFlagText(o: VocodeSettings): string {
  return REFINER_FLAGS.map(({ key, flag }) => (o[key] !== undefined ? ` ${flag} ${o[key]}` : "")).join("");
}

/** A one-line error when a flag is set but the vocoder in use is not the model's refiner. */
export function checkRefinerFlags(o: RefinerFlags, choice: VocoderChoice, engine: InferenceEngine): void {
  const kind = engine.info.vocoder.generator.kind;
  for (const f of REFINER_FLAGS)
    if (o[f.key] !== undefined && (choice.method !== "model" || kind !== "refiner"))
      throw new UserError(`${f.flag} sets the iterations of a refiner vocoder's ${f.what}; ${choice.method !== "model" ? `--vocoder ${choice.name} ${f.otherVocoder}` : `this model's vocoder is ${kind}`}`);
}
