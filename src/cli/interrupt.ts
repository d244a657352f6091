/**
 * Ctrl-C (SIGINT) and kill (SIGTERM): the outputs still being written are
 * removed and the process exits with the shell's status for the signal
 * (128 + its number). Commands whose work is one long synchronous call
 * (corpus) or that stop gracefully themselves (train: checkpoint first) keep
 * the default: a handler would only run once that work is over.
 */
import type { Command } from "commander";
import type { InferenceEngine } from "../model/engine.js";
import { removePartialFiles } from "../util/partial-files.js";

const EXIT_STATUS = { SIGINT: 130, SIGTERM: 143 } as const;
const ownSignals = new WeakSet<Command>();

/** Marks a command as leaving SIGINT and SIGTERM alone. */
export function keepDefaultSignals(cmd: Command): Command {
  ownSignals.add(cmd);
  return cmd;
}

export function usesDefaultSignals(cmd: Command): boolean {
  for (let c: Command | null = cmd; c; c = c.parent) if (ownSignals.has(c)) return true;
  return false;
}

let installed = false;

export function removePartialOutputsOnSignals(): void {
  if (installed) return;
  installed = true;
  for (const [signal, status] of Object.entries(EXIT_STATUS)) {
    process.on(signal, () => {
      removePartialFiles();
      if (process.stderr.isTTY) process.stderr.write("\x1b[?25h\n"); // a progress bar may have hidden the cursor
      process.exit(status);
    });
  }
}

/** One turn of the event loop: lets a pending signal's handler run. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The engine, with a turn of the event loop before each network call: the jax
 * engine computes synchronously, and a signal handler only runs between turns.
 */
export function interruptible(engine: InferenceEngine): InferenceEngine {
  return {
    name: engine.name,
    info: engine.info,
    encode: async (melNorm, frames, search, valid) => (await nextTurn(), engine.encode(melNorm, frames, search, valid)),
    prior: async (codes, mask, frames, valid) => (await nextTurn(), engine.prior(codes, mask, frames, valid)),
    latent: async (melNorm, frames, valid) => (await nextTurn(), engine.latent(melNorm, frames, valid)),
    searchMetricParts: () => engine.searchMetricParts(),
    priorFromLatent: async (zq, frames, valid) => (await nextTurn(), engine.priorFromLatent(zq, frames, valid)),
    vectorField: async (x, mu, tEmb, batch, frames) => (await nextTurn(), engine.vectorField(x, mu, tEmb, batch, frames)),
    vocode: async (mel, frames, o) => (await nextTurn(), engine.vocode(mel, frames, o)),
    dispose: () => engine.dispose(),
  };
}
