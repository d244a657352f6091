/** Turns whatever the user gives the page into what the codec takes: 24 kHz mono float samples. */
export const SR = 24000;

/** Any audio the browser can decode -> 24 kHz mono (decodeAudioData resamples to its context's rate). */
export async function toMono24k(bytes: ArrayBuffer): Promise<Float32Array> {
  const decoded = await new OfflineAudioContext(1, 1, SR).decodeAudioData(bytes);
  if (decoded.numberOfChannels === 1) return decoded.getChannelData(0).slice();
  const out = new Float32Array(decoded.length);
  for (let c = 0; c < decoded.numberOfChannels; c++) {
    const ch = decoded.getChannelData(c);
    for (let i = 0; i < out.length; i++) out[i] += ch[i] / decoded.numberOfChannels;
  }
  return out;
}

/** A .fmac is recognised by its name or its magic, so that a foreign file named *.fmac gets the codec's own message. */
export function looksLikeFmac(name: string, head: Uint8Array): boolean {
  return /\.fmac$/i.test(name) || String.fromCharCode(...head.subarray(0, 4)) === "FMAC";
}
