import { readdirSync, statSync, existsSync } from "node:fs";
import { extname, join } from "node:path";
import { UserError } from "../util/errors.js";

export const AUDIO_EXTENSIONS = new Set([".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aiff", ".aif"]);

/** Expands directories (recursively, sorted) into audio files; explicit files are kept as given. */
export function listAudioFiles(inputs: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (AUDIO_EXTENSIONS.has(extname(name).toLowerCase())) out.push(p);
    }
  };
  for (const input of inputs) {
    if (!existsSync(input)) throw new UserError(`${input}: no such file or directory`);
    if (statSync(input).isDirectory()) walk(input);
    else out.push(input);
  }
  if (out.length === 0) throw new UserError(`no audio files found in ${inputs.join(", ")}`);
  return out;
}
