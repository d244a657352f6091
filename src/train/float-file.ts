/**
 * Float32 files read and written at element offsets: the on-disk caches that
 * training crops are read from. A read opens the file, reads and closes it, so
 * thousands of clips need no open file handles (a crop read costs microseconds
 * against a training step's seconds).
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { UserError } from "../util/errors.js";

/** Reads exactly bytes.length bytes at `position`, or fails naming the file. */
export function readExactly(fd: number, bytes: Uint8Array, position: number, path: string): void {
  let got = 0;
  while (got < bytes.length) {
    const n = readSync(fd, bytes, got, bytes.length - got, position + got);
    if (n === 0) throw new UserError(`${path}: ends early (changed or truncated while training? delete it to rebuild)`);
    got += n;
  }
}

/** `count` floats from element `start` of a float32 file. */
export function readFloats(path: string, start: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (count === 0) return out;
  const fd = openSync(path, "r");
  try {
    readExactly(fd, new Uint8Array(out.buffer), start * 4, path);
  } finally {
    closeSync(fd);
  }
  return out;
}

/** Writes floats at element `start` of an open file. */
export function writeFloats(fd: number, x: Float32Array, start: number): void {
  const bytes = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, start * 4 + done);
}
