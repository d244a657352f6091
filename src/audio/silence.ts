/** Whether x[from .. from + n) is all zeros: a frame of digital silence, or a block's padding beyond the signal. */
export function isZeroSpan(x: ArrayLike<number>, from: number, n: number): boolean {
  for (let i = from; i < from + n; i++) if (x[i] !== 0) return false;
  return true;
}
