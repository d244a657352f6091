/**
 * Wraps an inference engine so that a run in the worker can be cancelled and
 * report progress. Each network call is one onnxruntime run that cannot be
 * interrupted, so before each call the wrapper yields one task to the worker's
 * event loop (where a "cancel" message gets handled) and stops if the run was
 * cancelled; after each call it reports how many calls are done.
 */
import type { InferenceEngine } from "../src/model/engine.js";

export class Cancelled extends Error {
  constructor() {
    super("cancelled");
  }
}

/** One task's turn to the event loop; a MessageChannel, since nested timers are clamped to 4 ms. */
const channel = new MessageChannel();
const waiting: (() => void)[] = [];
channel.port1.onmessage = () => waiting.shift()?.();
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    channel.port2.postMessage(null);
  });
}

export interface Job {
  cancelled: boolean;
  /** Called after every network call with the count so far. */
  onCall(): void;
}

export function gated(engine: InferenceEngine, job: Job): InferenceEngine {
  const wrap =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      await nextTask();
      if (job.cancelled) throw new Cancelled();
      const r = await f(...a);
      job.onCall();
      return r;
    };
  return {
    name: engine.name,
    info: engine.info,
    encode: wrap(engine.encode.bind(engine)),
    prior: wrap(engine.prior.bind(engine)),
    latent: wrap(engine.latent.bind(engine)),
    priorFromLatent: wrap(engine.priorFromLatent.bind(engine)),
    searchMetricParts: () => engine.searchMetricParts(),
    vectorField: wrap(engine.vectorField.bind(engine)),
    vocode: wrap(engine.vocode.bind(engine)),
    dispose: () => {}, // the worker owns the engine
  };
}
