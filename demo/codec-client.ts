/** The page's side of the codec worker: one promise per run, progress callbacks, cancel. */
import type { EngineInfo } from "../src/model/engine.js";
import type { FromWorker, RunResult, ToWorker } from "./protocol.js";

type RunRequest = Omit<Extract<ToWorker, { type: "code" }>, "id"> | Omit<Extract<ToWorker, { type: "decode" }>, "id">;
export type Progress = (phase: string, done: number, total: number) => void;

interface Pending {
  resolve: (r: RunResult | null) => void;
  reject: (e: Error) => void;
  onProgress: Progress;
}

export class CodecClient {
  readonly ready: Promise<{ info: EngineInfo; webCodecs: boolean }>;
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(workerUrl: URL, base: string, onLoading: (done: number, total: number) => void) {
    this.worker = new Worker(workerUrl, { type: "module" });
    this.ready = new Promise((resolve, reject) => {
      this.worker.onmessage = (ev: MessageEvent<FromWorker>) => {
        const m = ev.data;
        if (m.type === "loading") onLoading(m.done, m.total);
        else if (m.type === "ready") resolve(m);
        else if (m.type === "error" && m.id === null) reject(new Error(m.message));
        else this.settle(m);
      };
      this.worker.onerror = (e) => {
        // A dead worker answers nothing more: fail whatever waits on it.
        const err = new Error(`codec worker failed: ${e.message}`);
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      };
    });
    this.post({ type: "load", base });
  }

  /** Starts a run; resolves to its result, or null when cancelled. */
  run(req: RunRequest, onProgress: Progress): { id: number; done: Promise<RunResult | null> } {
    const id = this.nextId++;
    const done = new Promise<RunResult | null>((resolve, reject) => this.pending.set(id, { resolve, reject, onProgress }));
    // The input is copied, not transferred: the page keeps it for playback.
    this.post({ ...req, id } as ToWorker);
    return { id, done };
  }

  cancel(id: number): void {
    this.post({ type: "cancel", id });
  }

  private post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  private settle(m: FromWorker): void {
    if (!("id" in m) || m.id === null) return;
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === "progress") return p.onProgress(m.phase, m.done, m.total);
    this.pending.delete(m.id);
    if (m.type === "result") p.resolve(m.result);
    else if (m.type === "cancelled") p.resolve(null);
    else if (m.type === "error") p.reject(new Error(m.message));
  }
}
