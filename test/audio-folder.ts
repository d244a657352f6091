import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** Runs sox to synthesise a file (`sox -n <out options> <out> synth ...`). */
function sox(out: string, rate: number, channels: number, synth: string[]): void {
  mkdirSync(dirname(out), { recursive: true });
  const r = spawnSync("sox", ["-n", "-r", String(rate), "-c", String(channels), out, "synth", ...synth], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`sox failed for ${out}: ${r.stderr}`);
}

/**
 * A nested folder of own audio in mixed formats, rates and channel layouts
 * (WAV 16 kHz stereo, FLAC 44.1 kHz, MP3 48 kHz, Ogg 22.05 kHz), plus a file
 * that does not decode, one that is too short and one that is not audio.
 */
export function makeAudioFolder(dir: string): { dir: string; usable: string[]; unusable: string[] } {
  sox(join(dir, "talks/day1/one.wav"), 16000, 2, ["1.6", "sine", "300", "sine", "500", "vol", "0.3"]);
  sox(join(dir, "talks/two.flac"), 44100, 1, ["2", "pluck", "220", "vol", "0.5"]);
  sox(join(dir, "music/three.mp3"), 48000, 1, ["1.8", "sine", "440-880", "vol", "0.4"]);
  sox(join(dir, "music/deeper/four.ogg"), 22050, 1, ["1.2", "pinknoise", "vol", "0.2"]);
  sox(join(dir, "short.wav"), 24000, 1, ["0.2", "sine", "500"]);
  writeFileSync(join(dir, "music/broken.mp3"), "this is not an mp3 file at all");
  writeFileSync(join(dir, "notes.txt"), "not audio, not listed");
  return {
    dir,
    usable: ["music/deeper/four.ogg", "music/three.mp3", "talks/day1/one.wav", "talks/two.flac"],
    unusable: ["music/broken.mp3", "short.wav"],
  };
}
