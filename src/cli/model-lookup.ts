/**
 * Which local model directory has a given model id, so that refusing a stream
 * can name the model it needs. Looks in the package's models/ folder and beside
 * the model in use (a model id is a hash of the codec weights: hashing a
 * handful of files costs well under a second).
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { DEFAULT_MODEL_DIR } from "../model/load.js";

function idOfFile(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 16);
}

/** Directories to search: the bundled models' folder, and the folder holding `modelDir`. */
function candidates(modelDir?: string): string[] {
  const roots = [dirname(resolve(DEFAULT_MODEL_DIR)), ...(modelDir ? [dirname(resolve(modelDir))] : [])];
  const dirs = new Set<string>();
  for (const root of roots) {
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root)) {
      const d = join(root, name);
      if (existsSync(join(d, "codec.safetensors")) && statSync(d).isDirectory()) dirs.add(d);
    }
  }
  return [...dirs];
}

/** How to decode with the model whose codec has `modelId` ("it decodes with --model <dir>"), or null if none is found. */
export function modelHint(modelId: string, modelDir?: string): string | null {
  for (const d of candidates(modelDir)) {
    try {
      if (idOfFile(join(d, "codec.safetensors")) !== modelId) continue;
    } catch {
      continue; // unreadable: not the one
    }
    if (resolve(d) === resolve(DEFAULT_MODEL_DIR)) return "it decodes with the bundled model (leave out --model)";
    const rel = relative(process.cwd(), d);
    return `it decodes with --model ${rel && !rel.startsWith("..") ? rel : d}`;
  }
  return null;
}
