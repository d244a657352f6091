export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  ms: number;
}

/** Best wall time of `n` runs after one warm-up run (jit compilation), in ms. */
export function bestOf(f: () => void, n: number): number {
  f();
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
  console.log("| benchmark | value | unit |");
  console.log("|---|---:|---|");
  for (const r of rows) console.log(`| ${r.name} | ${r.value.toFixed(r.value >= 100 ? 0 : 2)} | ${r.unit} |`);
}
