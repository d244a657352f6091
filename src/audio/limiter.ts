/**
 * A sample-wise soft limiter for integer output: identity up to KNEE, then a
 * tanh curve that approaches full scale without reaching it, continuous in value
 * and slope at the knee. 16-bit PCM cannot hold |x| > 1; hard clipping there
 * adds broadband distortion, the soft curve only compresses the few peaks.
 */
export const KNEE = 0.9;

const SPAN = 1 - KNEE;

export function softLimitSample(x: number): number {
  const a = Math.abs(x);
  if (a <= KNEE) return x;
  const y = KNEE + SPAN * Math.tanh((a - KNEE) / SPAN);
  return x < 0 ? -y : y;
}

/** How many samples are beyond full scale. */
export function countOverFullScale(x: Float32Array): number {
  let over = 0;
  for (let i = 0; i < x.length; i++) if (Math.abs(x[i]) > 1) over++;
  return over;
}
