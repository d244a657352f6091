/**
 * Mutants through the real CLI as child processes: the exit code is 0 or 1,
 * a refusal is one line on stderr and leaves neither the output nor a
 * temporary behind, a success leaves the output, and each run ends within
 * the time limit.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/flowmac.js", import.meta.url));

export interface CliCheck {
  code: number | null;
  seconds: number;
  /** What is wrong with the run, or null. */
  problem: string | null;
}

export interface CliRun {
  /** Arguments after `flowmac`; the input and output are inside `dir`. */
  args: string[];
  input: string;
  output: string;
  /** The exit code the in-process run predicts (0 accepted, 1 refused). */
  expected: 0 | 1;
  /** What is wrong with the output of a run that exited 0, or null. */
  checkOutput: (path: string) => string | null;
}

/** Runs `flowmac args` on `bytes` written to `run.input`, in `dir` (emptied first). */
export function runCliMutant(dir: string, bytes: Uint8Array, run: CliRun, env: NodeJS.ProcessEnv, limitSeconds: number): CliCheck {
  for (const f of readdirSync(dir)) rmSync(join(dir, f), { recursive: true, force: true });
  writeFileSync(run.input, bytes);
  const t0 = performance.now();
  // Killed well past the limit, so that a slow run is measured rather than cut.
  const r = spawnSync(process.execPath, [BIN, ...run.args], { encoding: "utf8", env, timeout: 3 * limitSeconds * 1000, killSignal: "SIGKILL" });
  const seconds = (performance.now() - t0) / 1000;
  return { code: r.status, seconds, problem: cliProblem(dir, run, r.status, r.signal, r.stderr, seconds, limitSeconds) };
}

function cliProblem(dir: string, run: CliRun, code: number | null, signal: NodeJS.Signals | null, stderr: string, seconds: number, limit: number): string | null {
  if (code === null) return `killed by ${signal} after ${seconds.toFixed(1)} s`;
  if (seconds > limit) return `took ${seconds.toFixed(1)} s`;
  if (code !== 0 && code !== 1) return `exit ${code}: ${stderr.trim().split("\n")[0]}`;
  const temporaries = readdirSync(dir).filter((f) => f.endsWith(".tmp"));
  if (temporaries.length) return `left ${temporaries.join(", ")}`;
  if (code === 1) {
    const lines = stderr.trim().split("\n");
    if (lines.length !== 1) return `refusal of ${lines.length} lines on stderr: ${lines.slice(0, 3).join(" | ")}`;
    if (existsSync(run.output)) return "refused but left its output";
  } else if (!existsSync(run.output)) return "exit 0 without an output";
  if (code !== run.expected) return `exit ${code}, in-process ${run.expected === 0 ? "accepted" : "refused"} it: ${stderr.trim()}`;
  return code === 0 ? run.checkOutput(run.output) : null;
}
