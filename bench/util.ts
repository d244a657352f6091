export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  ms: number;
}

/** Best wall time of `n` runs after `warmups` untimed runs (jit compilation), in ms. */
export function bestOf(f: () => void, n: number, warmups = 1): number {
  for (let i = 0; i < warmups; i++) f();
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

export function printRows(title: string, rows: BenchRow[]): void {
  console.log(`\n## ${title}\n`);
  console.log("| benchmark | value | unit | ms |");
  console.log("|---|---:|---|---:|");
  const fixed = (v: number) => v.toFixed(v >= 100 ? 0 : 2);
  for (const r of rows) console.log(`| ${r.name} | ${fixed(r.value)} | ${r.unit} | ${fixed(r.ms)} |`);
}

export const SR = 24000;

/** A speech-like test signal (harmonic source with formant-ish AM); speed does not depend on content. */
export function speech(seconds: number): Float32Array {
  const x = new Float32Array(Math.round(seconds * SR));
  for (let i = 0; i < x.length; i++) {
    const t = i / SR;
    const f0 = 120 + 30 * Math.sin(2 * Math.PI * 0.5 * t);
    let v = 0;
    for (let h = 1; h < 30; h++) v += Math.sin(2 * Math.PI * f0 * h * t) * Math.exp(-((h * f0 - 700) ** 2) / 2e5) + 0.3 * Math.sin(2 * Math.PI * f0 * h * t) / h;
    x[i] = 0.1 * v * (0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t) ** 2);
  }
  return x;
}
