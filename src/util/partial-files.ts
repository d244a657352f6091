/**
 * Outputs are written to a temporary sibling `.NAME.PID.tmp` and renamed into
 * place when complete. The temporaries still being written are tracked so that
 * an interrupt can remove them (removePartialFiles). A killed process (SIGKILL)
 * cannot clean up: the pid in the name lets the next writer of the same output
 * recognise and remove what it left.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";

const pending = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // alive, another user's
  }
}

/** Removes `.NAME.PID.tmp` siblings of `path` (files or directories) whose process is gone. */
export function removeStaleSiblings(path: string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) return;
  const prefix = `.${basename(path)}.`;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix) || !name.endsWith(".tmp")) continue;
    const pid = name.slice(prefix.length, -".tmp".length);
    if (!/^\d+$/.test(pid)) continue; // another output's temporary (NAME.x)
    const p = join(dir, name);
    if (pending.has(p) || (Number(pid) !== process.pid && isAlive(Number(pid)))) continue;
    rmSync(p, { recursive: true, force: true });
  }
}

/** A fresh temporary sibling for writing `path`, tracked until `settle` is called with it. */
export function partialSibling(path: string): string {
  removeStaleSiblings(path);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  pending.add(tmp);
  return tmp;
}

/** Marks a temporary as renamed into place or removed: an interrupt no longer concerns it. */
export function settle(tmp: string): void {
  pending.delete(tmp);
}

/** Removes every temporary still being written (synchronously: called on the way out of an interrupted process). */
export function removePartialFiles(): void {
  for (const p of pending) rmSync(p, { recursive: true, force: true });
  pending.clear();
}
