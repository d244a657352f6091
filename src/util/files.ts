import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { UserError } from "./errors.js";
import { partialSibling, settle } from "./partial-files.js";

/** Throws a one-line user error unless `path` is an existing file. */
export function checkInputPath(path: string): void {
  if (!existsSync(path)) throw new UserError(`${path}: no such file`);
  if (statSync(path).isDirectory()) throw new UserError(`${path}: is a directory, expected a file`);
}

/** Reads a whole file, turning "not found" and friends into one-line user errors. */
export async function readInputFile(path: string): Promise<Uint8Array> {
  checkInputPath(path);
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new UserError(`${path}: cannot read (${(e as Error).message})`);
  }
}

/**
 * Writes `data` so that `path` either holds the complete new contents or is left
 * untouched: bytes go to a temporary sibling first (see partial-files.ts), which
 * is renamed at the end.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) throw new UserError(`${path}: directory ${dir} does not exist`);
  const tmp = partialSibling(path);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let fd = -1;
  try {
    fd = openSync(tmp, "w");
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
    settle(tmp);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    settle(tmp);
    throw new UserError(`${path}: cannot write (${(e as Error).message})`);
  }
}
