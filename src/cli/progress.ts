/** Progress bars on stderr for long work; silent when stderr is not a terminal or FLOWMAC_QUIET is set. */
import cliProgress from "cli-progress";

export interface Progress {
  update(done: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

export function progressBar(label: string, total: number, unit = ""): Progress {
  if (!process.stderr.isTTY || process.env.FLOWMAC_QUIET) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {value}/{total}${unit} | ETA {eta_formatted}{info}`,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { info: "" });
  return {
    update(done, payload) {
      const info = payload ? " | " + Object.entries(payload).map(([k, v]) => `${k} ${v}`).join(" ") : "";
      bar.update(done, { info });
    },
    stop() {
      bar.stop();
    },
  };
}
