/** Counting outcomes per mutation class, keeping a few examples of what went wrong, and a sample of mutants for the CLI. */
import type { Rng } from "../../src/nn/rng.js";

export class Tally {
  readonly counts = new Map<string, Map<string, number>>();

  add(kind: string, outcome: string): void {
    const row = this.counts.get(kind) ?? new Map<string, number>();
    row.set(outcome, (row.get(outcome) ?? 0) + 1);
    this.counts.set(kind, row);
  }

  total(outcome?: string): number {
    let n = 0;
    for (const row of this.counts.values()) for (const [o, c] of row) if (outcome === undefined || o === outcome) n += c;
    return n;
  }

  /** Rows of kind, then one column per outcome, then the total; a last row sums them. */
  table(outcomes: string[]): string {
    const header = ["class", ...outcomes, "total"];
    const rows = [...this.counts.keys()].sort().map((k) => [k, ...outcomes.map((o) => this.counts.get(k)!.get(o) ?? 0), 0]);
    for (const r of rows) r[r.length - 1] = (r.slice(1, -1) as number[]).reduce((a, b) => a + b, 0);
    rows.push(["all", ...outcomes.map((o) => this.total(o)), this.total()]);
    const cells = [header, ...rows].map((r) => r.map(String));
    const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
    return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")).join("\n");
  }
}

/** Up to `perGroup` items per group, a uniform sample of each (reservoir sampling). */
export class GroupSample<T> {
  private groups = new Map<string, { seen: number; items: T[] }>();

  constructor(
    private rng: Rng,
    private perGroup: number,
  ) {}

  offer(group: string, item: () => T): void {
    const g = this.groups.get(group) ?? { seen: 0, items: [] };
    this.groups.set(group, g);
    g.seen++;
    if (g.items.length < this.perGroup) g.items.push(item());
    else {
      const j = this.rng.int(g.seen);
      if (j < this.perGroup) g.items[j] = item();
    }
  }

  /** Interleaved across groups (so that any prefix covers them all), at most `max` items. */
  take(max: number): T[] {
    const lists = [...this.groups.keys()].sort().map((k) => this.groups.get(k)!.items);
    const out: T[] = [];
    for (let i = 0; out.length < max && lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length && out.length < max) out.push(l[i]);
    return out;
  }
}
