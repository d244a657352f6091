/** What code printed through console while it ran: the CLI would show it around its one-line message. */
const METHODS = ["log", "warn", "error", "info"] as const;

export async function capturingConsole<T>(fn: () => Promise<T>): Promise<{ value: T; printed: string[] }> {
  const printed: string[] = [];
  const saved = METHODS.map((m) => console[m]);
  for (const m of METHODS) console[m] = (...args: unknown[]) => void printed.push(args.map(String).join(" "));
  try {
    return { value: await fn(), printed };
  } finally {
    METHODS.forEach((m, i) => (console[m] = saved[i]));
  }
}
