/**
 * The CRC of an Ogg page (RFC 3533): CRC-32 with polynomial 0x04c11db7 but
 * unreflected, initial value 0, no final inversion, computed over the page
 * with its own CRC field (bytes 22-25) taken as zero.
 */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32Ogg(page: Uint8Array): number {
  let c = 0;
  for (let i = 0; i < page.length; i++) {
    const b = i >= 22 && i < 26 ? 0 : page[i];
    c = (TABLE[((c >>> 24) ^ b) & 0xff] ^ (c << 8)) >>> 0;
  }
  return c;
}
