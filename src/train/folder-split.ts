/**
 * The validation split of a plain folder of audio: a file is held out when a
 * hash of its path (relative to the folder, '/'-separated) falls below the
 * validation fraction, so the split never cuts a file, does not depend on the
 * other files, and stays put as files are added. With two or more files at
 * least one is held out and at least one trains; a single file does both.
 */
import { fnv1a } from "../util/fnv.js";

/** FNV-1a of the path's UTF-16 code units, as a number in [0, 1). */
export function pathHash(path: string): number {
  return fnv1a(path) / 2 ** 32;
}

export interface Split {
  train: string[];
  validation: string[];
}

export function splitByPath(paths: string[], valFraction: number): Split {
  if (paths.length === 1) return { train: [...paths], validation: [...paths] };
  const hashes = new Map(paths.map((p) => [p, pathHash(p)]));
  const held = new Set(paths.filter((p) => hashes.get(p)! < valFraction));
  const byHash = [...paths].sort((a, b) => hashes.get(a)! - hashes.get(b)!);
  if (held.size === 0 && paths.length > 1) held.add(byHash[0]);
  if (held.size === paths.length) held.delete(byHash[byHash.length - 1]);
  return { train: paths.filter((p) => !held.has(p)), validation: paths.filter((p) => held.has(p)) };
}
