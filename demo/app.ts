/**
 * The browser demo's page: picks an input (sample, file, microphone or a
 * dropped .fmac), hands it to the codec worker, and shows what comes back.
 * The page's thread only decodes input audio (Web Audio, itself off-thread)
 * and draws; one run at a time, and any change of input drops the old result.
 */
import { codeModelOf, readFmac, readFmacHeader, streamMismatch } from "../src/web.js";
import type { EngineInfo } from "../src/model/engine.js";
import { looksLikeFmac, SR, toMono24k } from "./audio-input.js";
import { CodecClient } from "./codec-client.js";
import { MicRecorder } from "./mic.js";
import type { Mode, RunResult } from "./protocol.js";
import { clearResults, initResultsView, showResults, stopPlayback } from "./results-view.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const MIC_SECONDS = 30;
const OPUS_BITRATE = 6000;

type Input = { kind: "audio"; name: string; audio: Float32Array } | { kind: "fmac"; name: string; bytes: Uint8Array };

/** What the test (and anyone curious) can read: the last run's state and its timing on the page's clock. */
interface RunState {
  state: "idle" | "running" | "done" | "cancelled" | "error";
  start: number;
  end: number;
  summary?: { bytes: number; seconds: number; encodeMs: number | null; decodeMs: number; mode: Mode; opusBytes: number | null; opusWhy: string | null };
}
const runState: RunState = { state: "idle", start: 0, end: 0 };
(window as unknown as { flowmacRun: RunState }).flowmacRun = runState;

let info: EngineInfo | null = null;
let input: Input | null = null;
let running: { id: number } | null = null;
let preparing = false; // an input is being decoded
/** Bumped whenever the input changes: anything finishing for an older value is dropped. */
let generation = 0;
const mic = new MicRecorder();

const status = (s: string) => ($("status").textContent = s);

function updateControls(): void {
  const busy = running !== null || preparing;
  $<HTMLButtonElement>("run").disabled = busy || !info || !input || mic.recording;
  $<HTMLButtonElement>("run").textContent = input?.kind === "fmac" ? "Decode .fmac" : "Encode + decode";
  $<HTMLButtonElement>("cancel").disabled = running === null;
  for (const id of ["sample", "file", "kbps", "mode"]) $<HTMLInputElement>(id).disabled = busy || mic.recording;
  $<HTMLButtonElement>("mic").disabled = busy;
  $("mic").textContent = mic.recording ? "Stop recording" : `Record from the microphone (up to ${MIC_SECONDS} s)`;
  $("mic").setAttribute("aria-pressed", String(mic.recording));
  $("progressRow").hidden = running === null;
  document.body.dataset.busy = String(busy);
}

/** Any new input (or a failed attempt at one): the old result no longer describes what is selected. */
function beginInputChange(): number {
  stopPlayback();
  clearResults();
  input = null;
  runState.state = "idle";
  updateControls();
  return ++generation;
}

function setInput(gen: number, next: Input, describe: string): void {
  if (gen !== generation) return;
  input = next;
  $<HTMLSelectElement>("sample").value = next.kind === "audio" && next.name.startsWith("samples/") ? next.name : "";
  status(`${describe}${info ? "" : " (the model is still loading)"}`);
  updateControls();
}

/** A rejected input leaves nothing selected: no sample, no file, Encode disabled. */
function rejectInput(gen: number, message: string): void {
  if (gen !== generation) return;
  input = null;
  $<HTMLSelectElement>("sample").value = "";
  $<HTMLInputElement>("file").value = "";
  status(message);
  updateControls();
}

/** `gen` comes from beginInputChange(), called by each input path before it awaits anything. */
async function takeAudio(gen: number, bytes: ArrayBuffer, name: string): Promise<void> {
  preparing = true;
  updateControls();
  try {
    const audio = await toMono24k(bytes);
    if (audio.length < SR / 10) throw new Error("shorter than 0.1 s");
    setInput(gen, { kind: "audio", name, audio }, `input: ${name}, ${(audio.length / SR).toFixed(2)} s at 24 kHz mono. Press "Encode + decode".`);
  } catch (e) {
    rejectInput(gen, `cannot decode ${name}: ${(e as Error).message.split("\n")[0]}`);
  } finally {
    preparing = false;
    updateControls();
  }
}

/** A .fmac is checked here at once (header, CRC, model id), so a bad one is refused before any run. */
function takeFmac(gen: number, bytes: Uint8Array, name: string): void {
  try {
    const header = readFmacHeader(bytes, name);
    let why = info && streamMismatch(header, info);
    // The payload too (CRC, counts), once the model's code tables are at hand where the stream needs them.
    if (!why && (info || header.version < 3)) {
      const s = readFmac(bytes, name, info ? codeModelOf(info) : undefined);
      why = info && streamMismatch(s, info);
    }
    // The CLI's hint (--model) means nothing here.
    if (why) throw new Error(`${name}: ${why.replace(" (pass the right --model)", "; this page has only its own model")}`);
    setInput(gen, { kind: "fmac", name, bytes }, `input: ${name}, a .fmac of ${(header.length / SR).toFixed(2)} s, ${header.stages} stages, ${bytes.length} bytes.`);
    void run();
  } catch (e) {
    rejectInput(gen, (e as Error).message.split("\n")[0]);
  }
}

async function takeFile(f: File): Promise<void> {
  const gen = beginInputChange();
  $<HTMLSelectElement>("sample").value = "";
  const bytes = await f.arrayBuffer();
  if (gen !== generation) return;
  if (looksLikeFmac(f.name, new Uint8Array(bytes, 0, Math.min(4, bytes.byteLength)))) takeFmac(gen, new Uint8Array(bytes), f.name);
  else await takeAudio(gen, bytes, f.name);
}

async function loadSample(): Promise<void> {
  const url = $<HTMLSelectElement>("sample").value;
  const gen = beginInputChange();
  $<HTMLInputElement>("file").value = "";
  if (!url) return void status("no input selected");
  try {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    await takeAudio(gen, await r.arrayBuffer(), url);
  } catch (e) {
    rejectInput(gen, `cannot load ${url}: ${(e as Error).message}`);
  }
}

async function toggleMic(): Promise<void> {
  if (mic.recording) return mic.stop();
  const gen = beginInputChange();
  $<HTMLSelectElement>("sample").value = "";
  $<HTMLInputElement>("file").value = "";
  // Until the browser has asked for permission and recording starts, the page is busy (no second click, no other input).
  preparing = true;
  updateControls();
  status("asking for the microphone…");
  try {
    const blob = await mic.record(
      MIC_SECONDS,
      (s) => status(`recording… ${s.toFixed(0)} s of ${MIC_SECONDS} s (press "Stop recording" to finish)`),
      () => {
        preparing = false;
        updateControls();
        status(`recording… 0 s of ${MIC_SECONDS} s (press "Stop recording" to finish)`);
      },
    );
    preparing = false;
    updateControls();
    if (gen !== generation) return;
    await takeAudio(gen, await blob.arrayBuffer(), "microphone recording");
  } catch (e) {
    const err = e as DOMException;
    const why = err.name === "NotAllowedError" ? "microphone access was denied; allow it in the browser's site settings to record" : err.name === "NotFoundError" ? "no microphone found" : `microphone: ${err.message}`;
    preparing = false;
    rejectInput(gen, why);
  }
}

let client: CodecClient;

async function run(): Promise<void> {
  if (!info || !input || running) return;
  const gen = generation;
  const runInput = input;
  const mode = $<HTMLSelectElement>("mode").value as Mode;
  const req =
    runInput.kind === "audio"
      ? { type: "code" as const, audio: runInput.audio, kbps: Number($<HTMLSelectElement>("kbps").value), mode, opusBitrate: OPUS_BITRATE }
      : { type: "decode" as const, fmac: runInput.bytes.slice(), name: runInput.name, mode };
  stopPlayback();
  clearResults();
  const bar = $<HTMLProgressElement>("progress");
  bar.value = 0;
  const job = client.run(req, (phase, done, total) => {
    bar.max = total;
    bar.value = done;
    status(`${phase}… ${done}/${total} network calls (${Math.round((100 * done) / total)}%)`);
  });
  running = { id: job.id };
  Object.assign(runState, { state: "running", start: performance.now(), end: 0, summary: undefined });
  status(runInput.kind === "audio" ? "encoding…" : "decoding…");
  updateControls();
  let result: RunResult | null = null;
  try {
    result = await job.done;
    if (gen !== generation) return; // the input changed meanwhile: this result is stale
    if (!result) {
      runState.state = "cancelled";
      status("cancelled: nothing was kept. Press the button to run again.");
      return;
    }
    await showResults(result, runInput.kind === "audio" ? runInput.audio : null, runInput.name);
    const o = result.opus;
    runState.summary = { bytes: result.fmac.length, seconds: result.seconds, encodeMs: result.encodeMs, decodeMs: result.decodeMs, mode, opusBytes: o?.ok ? o.bytes : null, opusWhy: o && !o.ok ? o.why : null };
    runState.state = "done";
    status(`done: ${result.fmac.length} bytes for ${result.seconds.toFixed(2)} s. Listen below (keys 1, 2, 3 switch versions).`);
  } catch (e) {
    runState.state = "error";
    status(`error: ${(e as Error).message.split("\n")[0]}`);
  } finally {
    runState.end = performance.now();
    running = null;
    updateControls();
  }
}

function cancel(): void {
  if (!running) return;
  client.cancel(running.id);
  status("cancelling after the current network call…");
}

function wireDrop(): void {
  const zone = $("drop");
  document.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  document.addEventListener("dragleave", () => zone.classList.remove("over"));
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const f = e.dataTransfer?.files[0];
    if (!f) return;
    if (running || preparing || mic.recording) return void status("busy: cancel the current run before dropping a file");
    $<HTMLInputElement>("file").value = "";
    void takeFile(f);
  });
}

initResultsView();
wireDrop();
$("sample").addEventListener("change", () => void loadSample());
$<HTMLInputElement>("file").addEventListener("change", (ev) => {
  const f = (ev.target as HTMLInputElement).files?.[0];
  if (f) void takeFile(f);
});
$("mic").addEventListener("click", () => void toggleMic());
$("run").addEventListener("click", () => void run());
$("cancel").addEventListener("click", cancel);
window.addEventListener("pagehide", clearResults); // releases the blob URLs

/** The rate menu from the loaded model: all its stages, half, a quarter (6 / 3 / 1.5 kbit/s for 16 stages); 3 kbit/s stays the default where served. */
function rateMenu(rvq: { stages: number; codebookSize: number }): void {
  const per = 46.875 * Math.log2(rvq.codebookSize);
  const sel = $<HTMLSelectElement>("kbps");
  const stages = [rvq.stages, rvq.stages / 2, rvq.stages / 4].filter((s) => Number.isInteger(s) && s >= 1);
  sel.replaceChildren(
    ...stages.map((s) => {
      const o = document.createElement("option");
      o.value = String((s * per) / 1000);
      o.textContent = `${(s * per) / 1000} kbit/s (${s} stages)`;
      return o;
    }),
  );
  if (stages.some((s) => (s * per) / 1000 === 3)) sel.value = "3";
}

const base = new URL("./", location.href).href;
client = new CodecClient(new URL("worker.js", base), base, (d, t) => status(`loading model… ${d}/${t} graphs`));
void loadSample();
client.ready.then(
  (r) => {
    info = r.info;
    rateMenu(info.codec.rvq);
    $("webcodecs").textContent = r.webCodecs
      ? `Your browser has WebCodecs: each run also codes the clip with its own Opus encoder at ${OPUS_BITRATE / 1000} kbit/s for comparison.`
      : "Your browser has no WebCodecs AudioEncoder, so there is no Opus comparison here (Chromium-based browsers have it).";
    if (!running && !preparing) status(`model ${info.modelId} loaded (${info.codec.name} codec, ${info.vocoder.name} vocoder). ${input ? 'Press "Encode + decode".' : "Pick an input."}`);
    updateControls();
    (window as unknown as { flowmacReady: boolean }).flowmacReady = true;
  },
  (e: Error) => status(e.message),
);
