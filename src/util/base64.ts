/**
 * Base64 of byte arrays, in Node and in browsers. The model's code tables (2 MB) travel as
 * base64 inside a JSON string (EngineInfo.codeTables); atob/btoa with per-character
 * conversion took ~0.4 s of every CLI run's start, a table lookup takes milliseconds.
 */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const VALUES = (() => {
  const v = new Int16Array(128).fill(-1);
  CODES.forEach((c, i) => (v[c] = i));
  return v;
})();

/** Standard base64 (RFC 4648, with padding). */
export function bytesToBase64(bytes: Uint8Array): string {
  const out = new Uint8Array(4 * Math.ceil(bytes.length / 3));
  let o = 0;
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out[o++] = CODES[n >> 18];
    out[o++] = CODES[(n >> 12) & 63];
    out[o++] = CODES[(n >> 6) & 63];
    out[o++] = CODES[n & 63];
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const n = (bytes[i] << 16) | (rest === 2 ? bytes[i + 1] << 8 : 0);
    out[o++] = CODES[n >> 18];
    out[o++] = CODES[(n >> 12) & 63];
    out[o++] = rest === 2 ? CODES[(n >> 6) & 63] : 61; // "="
    out[o++] = 61;
  }
  return new TextDecoder("latin1").decode(out);
}

/** Decodes standard base64 (padding optional); throws on any other character or a bad length. */
export function base64ToBytes(s: string): Uint8Array {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 61) end--;
  if (s.length - end > 2 || end % 4 === 1) throw new Error("bad base64 length");
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? VALUES[c] : -1;
    if (v < 0) throw new Error(`bad base64 character at ${i}`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 255;
    }
  }
  return out;
}
