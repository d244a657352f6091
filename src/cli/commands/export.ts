import type { Command } from "commander";
import { existsSync, readdirSync, renameSync, rmdirSync, rmSync } from "node:fs";
import { exportModelOnnx, ONNX_GRAPHS } from "../../model/export-onnx.js";
import { DEFAULT_MODEL_DIR, loadModel, readModelDir } from "../../model/load.js";
import { writeBundle } from "../../model/open.js";
import { initJax } from "../../nn/runtime.js";
import { UserError } from "../../util/errors.js";
import { partialSibling, settle } from "../../util/partial-files.js";

export function registerExport(program: Command): void {
  program
    .command("export")
    .description("export a model's networks to ONNX (encoder, prior, CFM step, vocoder) plus model.json, for onnxruntime")
    .option("--model <dir>", "model directory (default: the bundled model)", DEFAULT_MODEL_DIR)
    .requiredOption("-o, --output <onnx-dir>", "output directory")
    .action(async (o: { model: string; output: string }) => {
      if (existsSync(o.output) && readdirSync(o.output).length > 0) throw new UserError(`${o.output}: directory exists and is not empty`);
      await initJax();
      const bundle = exportModelOnnx(await loadModel(readModelDir(o.model)));
      // Written next to the output and renamed into place, so that no half export is left behind.
      const tmp = partialSibling(o.output);
      try {
        writeBundle(bundle, tmp);
        if (existsSync(o.output)) rmdirSync(o.output); // empty (checked above)
        renameSync(tmp, o.output);
      } catch (e) {
        rmSync(tmp, { recursive: true, force: true });
        throw new UserError(`${o.output}: cannot write (${(e as Error).message})`);
      } finally {
        settle(tmp);
      }
      const mb = ONNX_GRAPHS.reduce((s, g) => s + bundle.graphs[g].length, 0) / 1e6;
      console.log(`${o.output}: ${ONNX_GRAPHS.map((g) => `${g}.onnx`).join(", ")}, model.json (${mb.toFixed(1)} MB; model id ${bundle.info.modelId})`);
    });
}
