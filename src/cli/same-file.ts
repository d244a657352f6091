/**
 * Refuses outputs that would land on a command's inputs. A file is identified
 * by its real path and by (device, inode), so "x.wav -o x.wav", "-o ./d/../x.wav",
 * a symlink and a hard link to the input are all caught.
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import { UserError } from "../util/errors.js";

interface Identity {
  real: string;
  dev: number;
  ino: number;
}

/** The file `path` names (following symlinks), or null if there is none yet. */
function identityOf(path: string): Identity | null {
  if (!existsSync(path)) return null;
  const st = statSync(path);
  return { real: realpathSync(path), dev: st.dev, ino: st.ino };
}

const same = (a: Identity, b: Identity) => a.real === b.real || (a.dev === b.dev && a.ino === b.ino);

/** Throws a one-line UserError if any output is, or links to, one of the inputs. */
export function refuseOutputsOverInputs(inputs: string[], outputs: (string | undefined)[]): void {
  const ins = inputs.map((p) => ({ path: p, id: identityOf(p) }));
  for (const out of outputs) {
    if (!out) continue;
    const o = identityOf(out);
    if (!o) continue; // a file that does not exist yet is no input
    const hit = ins.find((i) => i.id && same(i.id, o));
    if (hit) throw new UserError(hit.path === out ? `${out}: the output is the input; choose another output file` : `${out}: the output is the same file as the input ${hit.path}; choose another output file`);
  }
}
