/**
 * The output half of the page: spectrograms, numbers, A/B player and
 * downloads for one finished run, and clearing all of it when the input changes.
 */
import { AbPlayer, type Track } from "./ab-player.js";
import { SR } from "./audio-input.js";
import { blobUrl, revokeAll } from "./blob-urls.js";
import { bytesText, clock, kbit, modeName, speed } from "./format.js";
import type { RunResult, Spectrogram } from "./protocol.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const player = new AbPlayer();
let raf = 0;

export function initResultsView(): void {
  player.onChange = renderTransport;
  $("play").addEventListener("click", () => (player.playing ? player.pause() : player.play()));
  $<HTMLInputElement>("seek").addEventListener("input", (e) => player.seek(Number((e.target as HTMLInputElement).value)));
  for (const r of document.querySelectorAll<HTMLInputElement>('input[name="ab"]')) r.addEventListener("change", () => r.checked && player.select(r.value));
  // Keys 1/2/3 switch versions without moving the mouse (the usual A/B habit).
  document.addEventListener("keydown", (e) => {
    if ($("results").hidden || (e.target as HTMLElement).matches("input[type=text],select")) return;
    const r = document.querySelectorAll<HTMLInputElement>('input[name="ab"]:not(:disabled)')[Number(e.key) - 1];
    if (r) {
      r.checked = true;
      player.select(r.value);
    }
  });
}

function renderTransport(): void {
  $("play").textContent = player.playing ? "Pause" : "Play";
  $("play").setAttribute("aria-pressed", String(player.playing));
  const seek = $<HTMLInputElement>("seek");
  seek.max = String(player.duration);
  const pos = player.position();
  seek.value = String(pos);
  $("time").textContent = `${clock(pos)} / ${clock(player.duration)}`;
  for (const r of document.querySelectorAll<HTMLInputElement>('input[name="ab"]')) r.checked = r.value === player.current;
  cancelAnimationFrame(raf);
  if (player.playing) raf = requestAnimationFrame(renderTransport);
}

/** Removes every trace of the previous result: numbers, pictures, audio, download URLs. */
export function clearResults(): void {
  player.setTracks([]);
  revokeAll();
  $("results").hidden = true;
  for (const id of ["statsIn", "statsOut", "statsOpus"]) $(id).textContent = "";
  for (const id of ["specIn", "specOut", "specOpus"]) clearCanvas($<HTMLCanvasElement>(id));
  for (const id of ["dlFmac", "dlWav"]) {
    const a = $<HTMLAnchorElement>(id);
    a.removeAttribute("href");
    a.hidden = true;
  }
}

/** One task's turn to the event loop, so that drawing a result is several short tasks, not one long one. */
const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export async function showResults(r: RunResult, input: Float32Array | null, name: string): Promise<void> {
  // Each step is timed on the page's clock, so a long task on the main thread can be traced to it.
  const step = async (what: string, f: () => void) => {
    const t0 = performance.now();
    f();
    performance.measure(`flowmac:${what}`, { start: t0 });
    await nextTask();
  };
  await step("numbers", () => render(r, input, name));
  if (r.melIn) await step("spectrogram-in", () => drawSpectrogram($<HTMLCanvasElement>("specIn"), r.melIn!));
  await step("spectrogram-out", () => drawSpectrogram($<HTMLCanvasElement>("specOut"), r.melOut));
  if (r.melOpus) await step("spectrogram-opus", () => drawSpectrogram($<HTMLCanvasElement>("specOpus"), r.melOpus!));
  await step("downloads", () => setDownloads(r));
}

function render(r: RunResult, input: Float32Array | null, name: string): void {
  clearResults();
  const pcmBytes = Math.round(r.seconds * SR) * 2;
  const tracks: Track[] = [];
  if (input) tracks.push({ key: "original", audio: input, sampleRate: SR });
  tracks.push({ key: "flowmac", audio: r.decoded, sampleRate: SR });

  $("colIn").hidden = !input;
  $("statsIn").textContent = input ? `${name}: ${r.seconds.toFixed(2)} s, 24 kHz mono. As 16-bit PCM: ${bytesText(pcmBytes)}, 384 kbit/s.` : "";
  const lines = [
    `${bytesText(r.fmac.length)} (.fmac, header and CRC included)`,
    `${kbit(r.fmac.length, r.seconds)} measured from the bytes, ${r.stages} RVQ stages`,
    `${(pcmBytes / r.fmac.length).toFixed(0)}× smaller than 16-bit PCM`,
  ];
  if (r.encodeMs !== null) lines.push(`encode ${speed(r.seconds, r.encodeMs)}`);
  lines.push(`decode (${modeName(r.mode)}) ${speed(r.seconds, r.decodeMs)}`);
  $("statsOut").textContent = lines.join("\n");

  $("colOpus").hidden = !r.opus;
  const abOpus = $<HTMLInputElement>("abOpus");
  abOpus.disabled = !r.opus?.ok;
  $("specOpus").hidden = !r.melOpus;
  if (r.opus?.ok) {
    const o = r.opus;
    tracks.push({ key: "opus", audio: o.audio, sampleRate: o.sampleRate });
    $("statsOpus").textContent = [
      `${bytesText(o.bytes)} (${o.packets} raw Opus packets, no container)`,
      `${kbit(o.bytes, r.seconds)} measured (asked for ${o.bitrate / 1000} kbit/s)`,
      `${(pcmBytes / o.bytes).toFixed(0)}× smaller than 16-bit PCM`,
      `encode ${speed(r.seconds, o.encodeMs)}, decode ${speed(r.seconds, o.decodeMs)}`,
    ].join("\n");
  } else if (r.opus) {
    $("statsOpus").textContent = `Not available here: ${r.opus.why}. FlowMAC works without it.`;
  }
  $<HTMLInputElement>("abOriginal").disabled = !input;

  $("results").hidden = false;
  player.setTracks(tracks);
}

function setDownloads(r: RunResult): void {
  const fm = $<HTMLAnchorElement>("dlFmac");
  fm.href = blobUrl(r.fmac as BlobPart, "application/octet-stream");
  fm.hidden = false;
  const wv = $<HTMLAnchorElement>("dlWav");
  wv.href = blobUrl(r.wav as BlobPart, "audio/wav");
  wv.hidden = false;
}

/** The worker painted the pixels: this is a copy onto the canvas. */
function drawSpectrogram(canvas: HTMLCanvasElement, s: Spectrogram): void {
  canvas.width = s.frames;
  canvas.height = s.bands;
  canvas.getContext("2d")!.putImageData(new ImageData(s.rgba as Uint8ClampedArray<ArrayBuffer>, s.frames, s.bands), 0, 0);
}

function clearCanvas(canvas: HTMLCanvasElement): void {
  canvas.width = 0; // also frees the backing store
}

export function stopPlayback(): void {
  if (player.playing) player.pause();
}
