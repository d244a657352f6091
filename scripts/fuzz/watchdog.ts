/**
 * A hang watchdog on a worker thread: the main thread may be stuck in a
 * synchronous loop, where no timer of its own fires. The worker sees how long
 * the current mutant has been running; past the limit it saves the mutant's
 * bytes, says which one it was, and kills the process (exit by signal, never 0).
 */
import { Worker } from "node:worker_threads";

const MAX_BYTES = 1 << 20;

const WORKER = `
const { workerData: w } = require("node:worker_threads");
const fs = require("node:fs");
const control = new Int32Array(w.control);
const started = new Float64Array(w.started);
setInterval(() => {
  if (Atomics.load(control, 0) === 0) return;
  const seconds = (Date.now() - started[0]) / 1000;
  if (seconds < w.limitSeconds) return;
  const n = Atomics.load(control, 1);
  const file = w.dir + "/hang-" + Atomics.load(control, 2) + ".bin";
  fs.mkdirSync(w.dir, { recursive: true });
  fs.writeFileSync(file, new Uint8Array(w.bytes, 0, n));
  process.stderr.write("fuzz: mutant " + Atomics.load(control, 2) + " still running after " + seconds.toFixed(0) + " s; saved as " + file + "\\n");
  process.kill(process.pid, "SIGKILL");
}, 500);
`;

export class Watchdog {
  private control = new Int32Array(new SharedArrayBuffer(12));
  private started = new Float64Array(new SharedArrayBuffer(8));
  private bytes = new Uint8Array(new SharedArrayBuffer(MAX_BYTES));
  private worker: Worker;

  constructor(failureDir: string, limitSeconds: number) {
    this.worker = new Worker(WORKER, { eval: true, workerData: { control: this.control.buffer, started: this.started.buffer, bytes: this.bytes.buffer, dir: failureDir, limitSeconds } });
  }

  /** Marks mutant `index` as running from now. */
  begin(index: number, bytes: Uint8Array): void {
    const n = Math.min(bytes.length, MAX_BYTES);
    this.bytes.set(bytes.subarray(0, n));
    this.started[0] = Date.now();
    Atomics.store(this.control, 1, n);
    Atomics.store(this.control, 2, index);
    Atomics.store(this.control, 0, 1);
  }

  end(): void {
    Atomics.store(this.control, 0, 0);
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}
