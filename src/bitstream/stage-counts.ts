/**
 * The per-frame stage counts of a rate-allocated stream (docs/bitstream.md),
 * coded as the change from the previous frame's count (the first frame's from
 * the header's base count). Counts change rarely (a run of speech, a run of
 * silence), so the code favours no change:
 *   0        no change          1 bit
 *   1 s      +1 (s=0) / -1      3 bits (prefix "10")
 *   11 s m   +-(2 + m), m in w bits, w = bits to write (max stages - 3)   3 + w bits
 * Bits are written LSB-first, as the indices are (fmac.ts).
 */

/** Width of the magnitude field of a change of 2 or more, for streams of up to `maxStages` stages. */
export function bigChangeBits(maxStages: number): number {
  return Math.max(1, Math.ceil(Math.log2(Math.max(2, maxStages - 2))));
}

/** Bits the code spends on a change of `d` stages. */
export function changeBits(d: number, w: number): number {
  const a = Math.abs(d);
  return a === 0 ? 1 : a === 1 ? 3 : 3 + w;
}

/** LSB-first bit writer into a growing buffer. */
export class BitWriter {
  private bytes = new Uint8Array(256);
  private bit = 0;

  get length(): number {
    return this.bit;
  }

  write(value: number, bits: number): void {
    for (let i = 0; i < bits; i++) {
      const byte = this.bit >> 3;
      if (byte >= this.bytes.length) {
        const grown = new Uint8Array(this.bytes.length * 2);
        grown.set(this.bytes);
        this.bytes = grown;
      }
      if ((value >> i) & 1) this.bytes[byte] |= 1 << (this.bit & 7);
      this.bit++;
    }
  }

  /** The bytes written, pad bits 0. */
  finish(): Uint8Array {
    return this.bytes.slice(0, Math.ceil(this.bit / 8));
  }
}

/** LSB-first bit reader; reading past the end is reported, never invented. */
export class BitReader {
  private bit = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get position(): number {
    return this.bit;
  }

  /** `bits` bits as a number, or null past the end. */
  read(bits: number): number | null {
    if (this.bit + bits > this.bytes.length * 8) return null;
    let v = 0;
    for (let i = 0; i < bits; i++, this.bit++) v |= ((this.bytes[this.bit >> 3] >> (this.bit & 7)) & 1) << i;
    return v;
  }
}

/** Where a change is written: a BitWriter, or the range coder of version 3 (bit by bit, LSB first). */
export interface BitSink {
  write(value: number, bits: number): void;
}

/** Where a change is read from; null past the end of the data. */
export interface BitSource {
  read(bits: number): number | null;
}

export function writeChange(w: BitSink, d: number, width: number): void {
  if (d === 0) return w.write(0, 1);
  const sign = d < 0 ? 1 : 0;
  const a = Math.abs(d);
  if (a === 1) return w.write(0b01 | (sign << 2), 3); // bits 1, 0, sign
  if (a - 2 >= 2 ** width) throw new RangeError(`a change of ${d} stages does not fit the code's ${width}-bit field`);
  w.write(0b11 | (sign << 2), 3);
  w.write(a - 2, width);
}

/** The next change, or null past the end of the data. */
export function readChange(r: BitSource, width: number): number | null {
  const first = r.read(1);
  if (first === null) return null;
  if (first === 0) return 0;
  const big = r.read(1);
  const sign = r.read(1);
  if (big === null || sign === null) return null;
  let a = 1;
  if (big === 1) {
    const m = r.read(width);
    if (m === null) return null;
    a = 2 + m;
  }
  return sign ? -a : a;
}
