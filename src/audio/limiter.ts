/**
 * A sample-wise soft limiter for integer output: identity up to KNEE, then a
 * tanh curve that approaches full scale without reaching it, continuous in value
 * and slope at the knee. 16-bit PCM cannot hold |x| > 1; hard clipping there
 * adds broadband distortion, the soft curve only compresses the few peaks.
 */
export const KNEE = 0.9;

/** Limits x in place; returns how many samples were beyond full scale (|x| > 1) before. */
export function softLimit(x: Float32Array): number {
  let over = 0;
  const span = 1 - KNEE;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]);
    if (a <= KNEE) continue;
    if (a > 1) over++;
    const y = KNEE + span * Math.tanh((a - KNEE) / span);
    x[i] = x[i] < 0 ? -y : y;
  }
  return over;
}
