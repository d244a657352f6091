/** The browser demo: decode an input with Web Audio, run FlowMAC with onnxruntime-web, play the result. */
import * as ort from "onnxruntime-web/wasm";
import { decodeAudio, DEFAULT_DECODE, encodeAudio, encodeWav, LC_DECODE, openWebEngine, readFmac, writeFmac, type OnnxEngine } from "../src/web.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (s: string) => ($("status").textContent = s);
const SR = 24000;

ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmPaths = new URL("./", location.href).href;

let engine: OnnxEngine | null = null;
let input: Float32Array | null = null;

/** Any browser-decodable audio -> 24 kHz mono (the browser's own resampler). */
async function toMono24k(bytes: ArrayBuffer): Promise<Float32Array> {
  const ctx = new AudioContext();
  const decoded = await ctx.decodeAudioData(bytes);
  await ctx.close();
  const offline = new OfflineAudioContext(1, Math.ceil((decoded.duration * SR)), SR);
  const src = offline.createBufferSource();
  src.buffer = decoded;
  src.connect(offline.destination);
  src.start();
  return (await offline.startRendering()).getChannelData(0);
}

function wavUrl(audio: Float32Array): string {
  return URL.createObjectURL(new Blob([encodeWav([audio], SR, "pcm16") as BlobPart], { type: "audio/wav" }));
}

async function setInput(bytes: ArrayBuffer, name: string) {
  input = await toMono24k(bytes);
  $<HTMLAudioElement>("original").src = wavUrl(input);
  status(`input: ${name}, ${(input.length / SR).toFixed(2)} s at 24 kHz${engine ? "" : " (model still loading)"}`);
  $<HTMLButtonElement>("run").disabled = !engine;
}

async function loadSample() {
  const url = $<HTMLSelectElement>("sample").value;
  await setInput(await (await fetch(url)).arrayBuffer(), url);
}

/** The rate menu from the loaded model: all its stages, half, a quarter (6 / 3 / 1.5 kbit/s for 16 stages); 3 kbit/s stays the default where served. */
function rateMenu(rvq: { stages: number; codebookSize: number }) {
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

async function run() {
  if (!engine || !input) return;
  const kbps = Number($<HTMLSelectElement>("kbps").value);
  const mode = $<HTMLSelectElement>("mode").value;
  const info = engine.info.codec.rvq;
  const stages = Math.min(info.stages, Math.round((kbps * 1000) / (46.875 * Math.log2(info.codebookSize))));
  $<HTMLButtonElement>("run").disabled = true;
  try {
    const secs = input.length / SR;
    status("encoding…");
    const t0 = performance.now();
    const enc = await encodeAudio(engine, input);
    const codes = new Uint16Array(enc.frames * stages);
    for (let t = 0; t < enc.frames; t++) for (let s = 0; s < stages; s++) codes[t * stages + s] = enc.codes[t * enc.stages + s];
    const fmac = writeFmac({ modelId: engine.info.modelId, sampleRate: SR, stages, bitsPerIndex: Math.log2(info.codebookSize), length: input.length, frames: enc.frames, codes });
    const t1 = performance.now();
    const stream = readFmac(fmac, "bitstream");
    const o = { ...DEFAULT_DECODE, ...(mode === "lc" ? LC_DECODE : { steps: Number(mode) }) };
    const out = await decodeAudio(engine, stream.codes, stream.frames, stream.stages, stream.length, {
      ...o,
      onProgress: (d, t) => status(`decoding… ${Math.round((100 * d) / t)}%`),
    });
    const t2 = performance.now();
    $<HTMLAudioElement>("decoded").src = wavUrl(out);
    const fm = $<HTMLAnchorElement>("dlFmac");
    fm.href = URL.createObjectURL(new Blob([fmac as BlobPart]));
    fm.hidden = false;
    const wv = $<HTMLAnchorElement>("dlWav");
    wv.href = $<HTMLAudioElement>("decoded").src;
    wv.hidden = false;
    status(
      `${fmac.length} bytes = ${((fmac.length * 8) / secs / 1000).toFixed(3)} kbit/s (${stages} stages, header included)\n` +
        `encode ${(secs / ((t1 - t0) / 1000)).toFixed(1)}x real time, decode (${mode === "lc" ? "LC" : mode + " steps"}) ${(secs / ((t2 - t1) / 1000)).toFixed(1)}x real time`,
    );
  } catch (e) {
    status(`error: ${(e as Error).message}`);
  } finally {
    $<HTMLButtonElement>("run").disabled = false;
  }
}

$("sample").addEventListener("change", () => void loadSample());
$<HTMLInputElement>("file").addEventListener("change", async (ev) => {
  const f = (ev.target as HTMLInputElement).files?.[0];
  if (f) await setInput(await f.arrayBuffer(), f.name).catch((e) => status(`cannot decode ${f.name}: ${(e as Error).message}`));
});
$("run").addEventListener("click", () => void run());

await loadSample();
engine = await openWebEngine(ort as any, new URL("model/", location.href).href, (d, t) => status(`loading model… ${d}/${t}`));
rateMenu(engine.info.codec.rvq);
status(`model ${engine.info.modelId} loaded (${engine.info.codec.name} codec, ${engine.info.vocoder.name} vocoder). Press "Encode + decode".`);
$<HTMLButtonElement>("run").disabled = !input;
(window as any).flowmacReady = true;
