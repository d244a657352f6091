/**
 * An eval report's per-clip scores grouped by voice: source, language and sex
 * as the clip's path names them (0 A.D.'s "voice_greek_..._female_..."), so a
 * gap in the means can be traced to whose speech it is.
 *   npx tsx scripts/clips-by-voice.ts docs/results/<report>/clips.csv [--metric stoi] [--codecs flowmac@1.5,codec2@1600]
 * Prints one row per group: clip count and the metric's mean per codec weighted by
 * clip duration (as the eval's tables are), the codecs in the report's order unless --codecs names them.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { metric: { type: "string", default: "stoi" }, codecs: { type: "string" } },
});
if (positionals.length !== 1) throw new Error("usage: clips-by-voice.ts <clips.csv> [--metric stoi] [--codecs a,b]");

/** Splits one CSV line of quoted strings and bare numbers (the eval writes no embedded quotes). */
const cells = (line: string) => line.split(",").map((c) => c.replace(/^"|"$/g, ""));
const [head, ...lines] = readFileSync(positionals[0], "utf8").trim().split("\n");
const cols = cells(head);
const at = (name: string) => {
  const i = cols.indexOf(name);
  if (i < 0) throw new Error(`${positionals[0]} has no column '${name}' (it has ${cols.join(", ")})`);
  return i;
};
const [codecCol, clipCol, secondsCol, metricCol] = [at("codec"), at("clip"), at("seconds"), at(values.metric!)];

export function voiceOf(clip: string): string {
  const source = clip.split("/")[0];
  const lang = /voice_([a-z]+)_/.exec(clip)?.[1];
  return lang ? `${source} ${lang} ${/female/.test(clip) ? "F" : "M"}` : source;
}

/** group -> codec -> [value, seconds] per clip. */
const sums = new Map<string, Map<string, [number, number][]>>();
const order: string[] = [];
for (const line of lines) {
  const c = cells(line);
  const v = Number(c[metricCol]);
  if (c[metricCol] === "" || !Number.isFinite(v)) continue;
  if (!order.includes(c[codecCol])) order.push(c[codecCol]);
  for (const g of ["all", voiceOf(c[clipCol])]) {
    const byCodec = sums.get(g) ?? sums.set(g, new Map()).get(g)!;
    (byCodec.get(c[codecCol]) ?? byCodec.set(c[codecCol], []).get(c[codecCol])!).push([v, Number(c[secondsCol])]);
  }
}
const codecs = values.codecs ? values.codecs.split(",") : order;
const mean = (xs: [number, number][] | undefined) =>
  xs?.length ? (xs.reduce((a, [v, s]) => a + v * s, 0) / xs.reduce((a, [, s]) => a + s, 0)).toFixed(3) : "-";
console.log(`| voice (${values.metric}) | clips | ${codecs.join(" | ")} |`);
console.log(`|---|---:|${codecs.map(() => "---:").join("|")}|`);
for (const [g, byCodec] of [...sums].sort(([a], [b]) => (a === "all" ? -1 : b === "all" ? 1 : a.localeCompare(b)))) {
  const n = Math.max(...[...byCodec.values()].map((x) => x.length));
  console.log(`| ${g} | ${n} | ${codecs.map((k) => mean(byCodec.get(k))).join(" | ")} |`);
}
