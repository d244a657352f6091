import type { Command } from "commander";
import { statSync } from "node:fs";
import type { CodecConfig } from "../../model/config.js";
import { DEFAULT_MODEL_DIR, modelIdOf, readModelDir } from "../../model/load.js";
import { parseSafeTensors } from "../../util/safetensors.js";
import { UserError } from "../../util/errors.js";
import { describeDefault, describeRates } from "../bitrate.js";

/** The metadata of a weights file, read from its header alone. */
function metadataOf(bytes: Uint8Array, source: string): Record<string, string> {
  return parseSafeTensors(bytes, source).metadata;
}

function configOf(meta: Record<string, string>, source: string): { name: string; [k: string]: unknown } {
  try {
    return JSON.parse(meta.config);
  } catch {
    throw new UserError(`${source}: model config in the metadata is not JSON`);
  }
}

export function registerInfo(program: Command): void {
  program
    .command("info")
    .description("what a model directory holds: its model id, configs, the bit rates it serves, sizes")
    .option("--model <dir>", "model directory (default: the bundled model)")
    .action(async (o: { model?: string }) => {
      const dir = o.model ?? DEFAULT_MODEL_DIR;
      const files = readModelDir(dir);
      const codecMeta = metadataOf(files.codec, files.codecSource);
      const codec = configOf(codecMeta, files.codecSource) as unknown as CodecConfig;
      const vocoder = configOf(metadataOf(files.vocoder, files.vocoderSource), files.vocoderSource);
      if (!codec.rvq) throw new UserError(`${files.codecSource}: not codec weights (no RVQ in its config)`);
      const mb = (p: string) => (statSync(p).size / 1e6).toFixed(1);
      const id = await modelIdOf(files.codec);
      const lines = [
        `model ${dir}`,
        `model id ${id} (streams it writes decode only with it)`,
        `codec ${codec.name}: RVQ ${codec.rvq.stages} x ${codec.rvq.codebookSize} entries in ${codec.rvq.dim} dims${codecMeta.step ? `, step ${codecMeta.step}` : ""}`,
        `bit rates ${describeRates(codec.rvq)}; default ${describeDefault(codec.rvq)}`,
        `vocoder ${vocoder.name}`,
        `size codec ${mb(files.codecSource)} MB + vocoder ${mb(files.vocoderSource)} MB`,
      ];
      if (codecMeta.extended) {
        const e = JSON.parse(codecMeta.extended) as { from: string; fromConfig: string; fromStages: number; frames: number };
        lines.push(`extended from model ${e.from} (${e.fromConfig}, ${e.fromStages} stages) by 'flowmac extend-stages' (${e.frames} frames): its streams of up to ${e.fromStages} stages decode to the same audio`);
      }
      console.log(lines.join("\n"));
    });
}
