/** 32-bit FNV-1a of a string's UTF-16 code units, unsigned; `basis` other than the standard offset seeds a family of hashes. */
export function fnv1a(s: string, basis = 2166136261): number {
  let h = basis >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}
