/**
 * Truncation and damage checks for compressed files whose format says how long
 * it is. The decoders skip what they cannot read and return the rest, so a FLAC
 * cut in half decoded (and was coded) as a shorter file, with exit 0. Two checks:
 * - FLAC: the STREAMINFO block states the total samples; fewer (or more)
 *   decoded samples mean a cut file or frames the decoder dropped.
 * - Ogg (Vorbis, Opus, FLAC in Ogg): every page carries a CRC, and every
 *   logical stream ends with an end-of-stream page; a cut file loses that page,
 *   so granule positions need not be compared.
 */
import { skipId3 } from "audio-type";
import { crc32Ogg } from "./ogg-crc.js";

/** Reads up to `len` bytes at `pos` (fewer at the end of the file). */
export type ReadAt = (pos: number, len: number) => Uint8Array;

const ascii = (b: Uint8Array, from: number, to: number) => String.fromCharCode(...b.subarray(from, to));

/** The total samples (per channel) a FLAC file's STREAMINFO states, or null if it is no FLAC file or does not say (0). */
export function flacStatedSamples(readAt: ReadAt): number | null {
  const start = skipId3(readAt(0, 10)); // some encoders put an ID3v2 tag before "fLaC"
  const h = readAt(start, 42);
  // "fLaC", then the STREAMINFO block (type 0, 34 bytes); total samples are its bits 108-143.
  if (h.length < 42 || ascii(h, 0, 4) !== "fLaC" || (h[4] & 0x7f) !== 0) return null;
  const total = (h[21] & 0x0f) * 2 ** 32 + h[22] * 2 ** 24 + h[23] * 2 ** 16 + h[24] * 2 ** 8 + h[25];
  return total || null;
}

/** Why an Ogg file is cut short or damaged, or null if it is whole (or no Ogg file). */
export function oggProblem(readAt: ReadAt, size: number): string | null {
  if (size < 4 || ascii(readAt(0, 4), 0, 4) !== "OggS") return null;
  const open = new Set<number>(); // logical streams begun and not yet ended
  let pos = 0;
  while (pos < size) {
    const header = readAt(pos, 27);
    if (header.length < 27 || ascii(header, 0, 4) !== "OggS") {
      if (open.size === 0) return null; // bytes after the last stream ended: not ours to judge
      return header.length < 27 ? "file ended early (cut inside an Ogg page)" : `corrupt Ogg stream (no page at byte ${pos})`;
    }
    const segments = readAt(pos + 27, header[26]);
    const pageBytes = 27 + header[26] + segments.reduce((s, v) => s + v, 0);
    const page = readAt(pos, pageBytes);
    if (segments.length < header[26] || page.length < pageBytes) return "file ended early (its last Ogg page is cut short)";
    const stored = new DataView(page.buffer, page.byteOffset).getUint32(22, true);
    if (crc32Ogg(page) !== stored) return `corrupt Ogg page at byte ${pos} (CRC mismatch)`;
    const serial = new DataView(page.buffer, page.byteOffset).getUint32(14, true);
    if (header[5] & 0x02) open.add(serial); // beginning of stream
    if (header[5] & 0x04) open.delete(serial); // end of stream
    pos += pageBytes;
  }
  return open.size > 0 ? "file ended early (an Ogg stream has no end-of-stream page)" : null;
}

/** Why `decoded` samples per channel do not match what a file states, or null. */
export function statedLengthProblem(readAt: ReadAt, decoded: number): string | null {
  const stated = flacStatedSamples(readAt);
  if (stated === null || stated === decoded) return null;
  return decoded < stated
    ? `file ended early or is damaged (its header states ${stated} samples, ${decoded} could be decoded)`
    : `corrupt FLAC file (its header states ${stated} samples, ${decoded} were decoded)`;
}
