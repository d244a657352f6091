/** Numbers as the page shows them. */
import type { Mode } from "./protocol.js";

export const kbit = (bytes: number, seconds: number) => `${((bytes * 8) / seconds / 1000).toFixed(2)} kbit/s`;
export const bytesText = (n: number) => (n < 10_000 ? `${n} bytes` : `${(n / 1000).toFixed(1)} kB`);
/** Real-time factor: seconds of audio per second of compute. */
export const speed = (seconds: number, ms: number) => `${(seconds / (ms / 1000)).toFixed(seconds / (ms / 1000) < 10 ? 1 : 0)}× real time`;
export const clock = (s: number) => `${Math.floor(s / 60)}:${(s % 60).toFixed(1).padStart(4, "0")}`;
export const modeName = (m: Mode) => (m === "prior" ? "prior mel, 0 steps" : m === "lc" ? "LC: prior mel, PGHI phase" : `${m} Euler steps`);
