/**
 * A multi-symbol range coder (Martin 1979; the carry-propagating byte output
 * of LZMA's coder): symbols under static integer frequency tables cost
 * -log2(freq / total) bits each, within a few bytes per stream. Integer
 * arithmetic only (every product stays below 2^53), so any platform decodes
 * exactly what any other encoded: the entropy-coded .fmac version's payload
 * (docs/bitstream.md). Totals are powers of two, 2^1 to 2^16; a uniform
 * symbol of b bits is (cum = value, freq = 1, total 2^b) and costs b bits.
 * A 1-bit uniform symbol costs exactly one bit, so a prefix code written bit by
 * bit (stage-counts.ts) costs what it does in a plain bit stream.
 */

const TOP = 2 ** 24;
const TWO32 = 2 ** 32;

export class RangeEncoder {
  private low = 0; // below 2^32 + 2^32: the carry is bit 32
  private range = 0xffffffff;
  private cache = 0;
  private pending = 1; // bytes held back: the cache and runs of 0xff a carry may still change
  private out = new Uint8Array(256);
  private n = 0;

  /** Codes the symbol spanning [cum, cum + freq) of 2^totalBits. */
  encode(cum: number, freq: number, totalBits: number): void {
    const total = 2 ** totalBits;
    if (!(freq >= 1 && cum >= 0 && cum + freq <= total)) throw new RangeError(`symbol [${cum}, ${cum + freq}) outside a total of ${total}`);
    const r = Math.floor(this.range / total);
    this.low += r * cum;
    this.range = r * freq;
    while (this.range < TOP) {
      this.range *= 256;
      this.shiftLow();
    }
  }

  /** Codes `value` as one uniform symbol of `bits` bits (1 to 16). */
  writeUniform(value: number, bits: number): void {
    this.encode(value, 1, bits);
  }

  /** Codes `value`'s low `bits` bits one at a time, LSB first: BitWriter's order, for codes read bit by bit. */
  write(value: number, bits: number): void {
    for (let i = 0; i < bits; i++) this.encode((value >> i) & 1, 1, 1);
  }

  /** The coded bytes; the encoder is spent afterwards. */
  finish(): Uint8Array {
    for (let i = 0; i < 5; i++) this.shiftLow();
    // The first byte out is always 0 (the cache's start): the decoder assumes it.
    return this.out.slice(1, this.n);
  }

  private shiftLow(): void {
    if (this.low < 0xff000000 || this.low >= TWO32) {
      const carry = this.low >= TWO32 ? 1 : 0;
      let byte = this.cache;
      for (; this.pending > 0; this.pending--) {
        this.push((byte + carry) & 0xff);
        byte = 0xff;
      }
      this.cache = Math.floor(this.low / TOP) & 0xff;
    }
    this.pending++;
    this.low = (this.low % TOP) * 256;
  }

  private push(b: number): void {
    if (this.n === this.out.length) {
      const grown = new Uint8Array(this.out.length * 2);
      grown.set(this.out);
      this.out = grown;
    }
    this.out[this.n++] = b;
  }
}

/**
 * Reads what RangeEncoder wrote. Reading past the data yields zero bytes and is
 * counted (`overrun`), so a truncated stream is reported by its reader rather
 * than invented; `consumed` tells whether the data ended where the code did.
 */
export class RangeDecoder {
  private code = 0;
  private range = 0xffffffff;
  private at = 0;
  private r = 0;
  /** Bytes read past the end of the data. */
  overrun = 0;

  constructor(private readonly bytes: Uint8Array) {
    for (let i = 0; i < 4; i++) this.code = this.code * 256 + this.next();
  }

  /** Bytes of the data the decoder has read (the encoder's flush included, once every symbol is read). */
  get consumed(): number {
    return this.at;
  }

  /**
   * The cumulative frequency the next symbol's interval holds, of 2^totalBits;
   * null if no symbol could hold it (corrupt data). Follow with `take`.
   */
  peek(totalBits: number): number | null {
    this.r = Math.floor(this.range / 2 ** totalBits);
    const v = Math.floor(this.code / this.r);
    return v < 2 ** totalBits ? v : null;
  }

  /** Consumes the symbol [cum, cum + freq) that `peek` pointed into. */
  take(cum: number, freq: number): void {
    this.code -= this.r * cum;
    this.range = this.r * freq;
    while (this.range < TOP) {
      this.range *= 256;
      this.code = (this.code % TOP) * 256 + this.next();
    }
  }

  /** A uniform `bits`-bit value (RangeEncoder.writeUniform), or null if the data is corrupt. */
  readUniform(bits: number): number | null {
    const v = this.peek(bits);
    if (v === null) return null;
    this.take(v, 1);
    return v;
  }

  /** `bits` bits written by RangeEncoder.write (LSB first), or null if the data is corrupt. */
  read(bits: number): number | null {
    let v = 0;
    for (let i = 0; i < bits; i++) {
      const b = this.readUniform(1);
      if (b === null) return null;
      v |= b << i;
    }
    return v;
  }

  private next(): number {
    if (this.at < this.bytes.length) return this.bytes[this.at++];
    this.at++;
    this.overrun++;
    return 0;
  }
}

/** A static frequency table over a power-of-two total: cumulative starts and a symbol lookup. */
export class FrequencyTable {
  readonly cum: Uint32Array;
  readonly total: number;

  constructor(readonly freq: ArrayLike<number>, readonly totalBits: number) {
    this.total = 2 ** totalBits;
    this.cum = new Uint32Array(freq.length + 1);
    for (let i = 0; i < freq.length; i++) {
      if (!(Number.isInteger(freq[i]) && freq[i] >= 1)) throw new RangeError(`frequency ${freq[i]} of symbol ${i}: every symbol needs at least 1`);
      this.cum[i + 1] = this.cum[i] + freq[i];
    }
    if (this.cum[freq.length] !== this.total) throw new RangeError(`frequencies sum to ${this.cum[freq.length]}, not ${this.total}`);
  }

  /** Bits symbol `s` costs. */
  bits(s: number): number {
    return this.totalBits - Math.log2(this.freq[s]);
  }

  encode(enc: RangeEncoder, s: number): void {
    enc.encode(this.cum[s], this.freq[s], this.totalBits);
  }

  /** The next symbol, or null if the data is corrupt. */
  decode(dec: RangeDecoder): number | null {
    const v = dec.peek(this.totalBits);
    if (v === null) return null;
    // Binary search: the last symbol whose start is at or below v.
    let lo = 0;
    let hi = this.freq.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.cum[mid] <= v) lo = mid;
      else hi = mid - 1;
    }
    dec.take(this.cum[lo], this.freq[lo]);
    return lo;
  }
}

/**
 * Integer frequencies summing to 2^totalBits from probabilities (or counts):
 * each symbol gets 1, the rest is shared in proportion, the remainder by the
 * largest fractional parts (ties to the lower symbol). Deterministic; run at
 * fitting time only, the decoder reads the integers.
 */
export function quantizeFrequencies(p: ArrayLike<number>, totalBits: number): Uint16Array | Uint32Array {
  const n = p.length;
  const total = 2 ** totalBits;
  if (n > total) throw new RangeError(`${n} symbols do not fit a total of ${total}`);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (!(p[i] >= 0 && Number.isFinite(p[i]))) throw new RangeError(`probability ${p[i]} of symbol ${i}`);
    sum += p[i];
  }
  const spare = total - n;
  const out = totalBits <= 16 && total - n + 1 < 65536 ? new Uint16Array(n) : new Uint32Array(n);
  const frac = new Float64Array(n);
  let given = 0;
  for (let i = 0; i < n; i++) {
    const share = sum > 0 ? (p[i] / sum) * spare : spare / n;
    const whole = Math.floor(share);
    out[i] = 1 + whole;
    frac[i] = share - whole;
    given += 1 + whole;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => frac[b] - frac[a] || a - b);
  for (let k = 0; given < total; k++, given++) out[order[k % n]]++;
  return out;
}
