/** A tiny Standard MIDI File writer and a seeded random-music generator, for synthetic music rendered by fluidsynth. */
import type { Rng } from "../nn/rng.js";

interface NoteEvent {
  tick: number;
  data: number[];
}

function varLen(n: number): number[] {
  const bytes = [n & 0x7f];
  while ((n >>= 7) > 0) bytes.unshift((n & 0x7f) | 0x80);
  return bytes;
}

function track(events: NoteEvent[]): number[] {
  events.sort((a, b) => a.tick - b.tick || (a.data[0] & 0xf0) - (b.data[0] & 0xf0));
  const out: number[] = [];
  let last = 0;
  for (const e of events) {
    out.push(...varLen(e.tick - last), ...e.data);
    last = e.tick;
  }
  out.push(0, 0xff, 0x2f, 0);
  return [0x4d, 0x54, 0x72, 0x6b, ...u32(out.length), ...out];
}

const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const u16 = (n: number) => [(n >>> 8) & 255, n & 255];

const SCALES = [
  [0, 2, 4, 5, 7, 9, 11], // major
  [0, 2, 3, 5, 7, 8, 10], // minor
  [0, 2, 4, 7, 9], // pentatonic
  [0, 3, 5, 6, 7, 10], // blues
];

/** A random piece: melody, bass and chords on random General MIDI programs, optional drums. */
export function randomMidi(rng: Rng, seconds: number): Uint8Array {
  const ppq = 480;
  const bpm = 70 + rng.int(90);
  const beats = Math.floor((seconds * bpm) / 60);
  const root = 48 + rng.int(12);
  const scale = SCALES[rng.int(SCALES.length)];
  const pitch = (degree: number, octave: number) => root + 12 * octave + scale[((degree % scale.length) + scale.length) % scale.length] + 12 * Math.floor(degree / scale.length);
  const tempo: NoteEvent = { tick: 0, data: [0xff, 0x51, 3, ...u32(Math.round(60e6 / bpm)).slice(1)] };
  const tracks: NoteEvent[][] = [];
  const parts = [
    { ch: 0, program: rng.int(96), octave: 1, density: 2 },
    { ch: 1, program: 32 + rng.int(8), octave: -1, density: 1 },
    { ch: 2, program: rng.int(24), octave: 0, density: 0.5 },
  ];
  for (const part of parts) {
    const ev: NoteEvent[] = [{ tick: 0, data: [0xc0 | part.ch, part.program] }];
    let degree = rng.int(7);
    for (let b = 0; b < beats; ) {
      const len = part.density >= 2 ? [0.5, 0.5, 1, 1, 2][rng.int(5)] : part.density >= 1 ? [1, 2][rng.int(2)] : 2;
      const vel = 50 + rng.int(60);
      degree += rng.int(5) - 2;
      const notes = part.density < 1 ? [degree, degree + 2, degree + 4] : [degree];
      for (const d of notes) {
        const p = Math.max(21, Math.min(108, pitch(d, part.octave)));
        ev.push({ tick: Math.round(b * ppq), data: [0x90 | part.ch, p, vel] });
        ev.push({ tick: Math.round((b + len * 0.95) * ppq), data: [0x80 | part.ch, p, 0] });
      }
      b += len;
    }
    tracks.push(ev);
  }
  if (rng.uniform() < 0.6) {
    const ev: NoteEvent[] = [];
    for (let b = 0; b < beats; b += 0.5) {
      const hits = [42];
      if (b % 2 === 0) hits.push(36);
      if (b % 2 === 1) hits.push(38);
      for (const h of hits) {
        ev.push({ tick: Math.round(b * ppq), data: [0x99, h, 60 + rng.int(50)] });
        ev.push({ tick: Math.round((b + 0.25) * ppq), data: [0x89, h, 0] });
      }
    }
    tracks.push(ev);
  }
  tracks[0].push(tempo);
  const header = [0x4d, 0x54, 0x68, 0x64, ...u32(6), ...u16(1), ...u16(tracks.length), ...u16(ppq)];
  return Uint8Array.from([...header, ...tracks.flatMap(track)]);
}
