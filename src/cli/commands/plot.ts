import type { Command } from "commander";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { linePanelsPng, type Series } from "../../eval/plots.js";
import { UserError } from "../../util/errors.js";
import { writeFileAtomic } from "../../util/files.js";
import { refuseOutputsOverInputs } from "../same-file.js";

/** Panels of a training log: each groups keys whose curves belong together. */
const GROUPS: { title: string; keys: RegExp; logY?: boolean }[] = [
  { title: "total loss", keys: /^loss$/, logY: true },
  { title: "prior (mse+mae)", keys: /^(val_)?prior(_\d+stages)?$/ },
  { title: "cfm (flow matching)", keys: /^(val_)?cfm$/ },
  { title: "vq commitment", keys: /^(val_)?commit$/, logY: true },
  { title: "codebook perplexity", keys: /^ppl\d+$/ },
  { title: "mel L1", keys: /^(val_)?mel$/ },
  { title: "gan", keys: /^(adv|fm|disc)$/ },
  { title: "gradient norm", keys: /GradNorm$|^gradNorm$/, logY: true },
];

function smooth(y: number[], k: number): number[] {
  if (k <= 1) return y;
  return y.map((_, i) => {
    const a = y.slice(Math.max(0, i - k + 1), i + 1);
    return a.reduce((s, v) => s + v, 0) / a.length;
  });
}

export function plotRun(dir: string): Uint8Array {
  const path = join(dir, "log.jsonl");
  if (!existsSync(path)) throw new UserError(`${dir}: no log.jsonl (not a training run directory)`);
  const rows = readFileSync(path, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, number>);
  const series = new Map<string, Series>();
  for (const r of rows) {
    if (typeof r.step !== "number") continue;
    for (const [k, v] of Object.entries(r)) {
      if (k === "step" || typeof v !== "number") continue;
      if (!series.has(k)) series.set(k, { name: k, x: [], y: [] });
      series.get(k)!.x.push(r.step);
      series.get(k)!.y.push(v);
    }
  }
  const panels = GROUPS.map((g) => ({
    title: g.title,
    logY: g.logY,
    series: [...series.values()].filter((s) => g.keys.test(s.name)).map((s) => (s.name.startsWith("val_") ? s : { ...s, y: smooth(s.y, 10) })),
  })).filter((p) => p.series.length > 0);
  if (panels.length === 0) throw new UserError(`${path}: no training metrics logged yet`);
  return linePanelsPng(panels);
}

export function registerPlot(program: Command): void {
  program
    .command("plot")
    .description("plot a training run's loss curves and codebook usage to a PNG")
    .argument("<run-dir>", "training run directory")
    .option("-o, --output <file.png>", "output PNG (default: <run-dir>/curves.png)")
    .action((dir: string, o: { output?: string }) => {
      const out = o.output ?? join(dir, "curves.png");
      refuseOutputsOverInputs([join(dir, "log.jsonl")], [out]);
      writeFileAtomic(out, plotRun(dir));
      console.log(out);
    });
}
