/**
 * Peer codecs run as their reference command-line tools from Debian packages
 * (installed with apt-get when missing): Opus (opus-tools), Codec 2 (codec2),
 * Speex narrowband (speex). Bit rates come from the encoded files' sizes;
 * the exact command lines are reported.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readWav, encodeWav } from "../audio/wav.js";
import { resample } from "../audio/resample.js";
import { ensurePackages } from "../corpus/build.js";
import { UserError } from "../util/errors.js";

export interface CodecRun {
  /** Decoded audio at 24 kHz. */
  audio: Float32Array;
  /** The decoded log-mel [frames, nMels] before the vocoder, for codecs that have one (FlowMAC, the linear codec). */
  mel?: Float32Array;
  /** Size of the encoded representation in bytes (as a file). */
  bytes: number;
  encodeSeconds: number;
  decodeSeconds: number;
  commands: string[];
}

export interface PeerCodec {
  name: string;
  packages: string[];
  run(audio24k: Float32Array): Promise<CodecRun>;
}

function timed(cmd: string, args: string[]): number {
  const t0 = performance.now();
  try {
    execFileSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    throw new UserError(`${cmd} failed: ${String((e as { stderr?: Buffer }).stderr ?? e).split("\n")[0]}`);
  }
  return (performance.now() - t0) / 1000;
}

const quote = (cmd: string, args: string[]) => [cmd, ...args].map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(" ");

function withTmp<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "flowmac-peer-"));
  return f(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

async function wavAt(audio24k: Float32Array, rate: number): Promise<Uint8Array> {
  return encodeWav([await resample(audio24k, 24000, rate)], rate, "pcm16");
}

async function to24k(wavBytes: Uint8Array, source: string): Promise<Float32Array> {
  const w = readWav(wavBytes, source);
  return resample(w.channels[0], w.sampleRate, 24000);
}

export function opus(kbps: number): PeerCodec {
  return {
    name: `opus@${kbps}`,
    packages: ["opus-tools"],
    run: (audio) =>
      withTmp(async (dir) => {
        const inp = join(dir, "in.wav");
        writeFileSync(inp, await wavAt(audio, 24000));
        const enc = ["--quiet", "--bitrate", String(kbps), "--hard-cbr", inp, join(dir, "x.opus")];
        const dec = ["--quiet", "--rate", "24000", join(dir, "x.opus"), join(dir, "out.wav")];
        const encodeSeconds = timed("opusenc", enc);
        const decodeSeconds = timed("opusdec", dec);
        return { audio: await to24k(new Uint8Array(readFileSync(join(dir, "out.wav"))), "opusdec output"), bytes: statSync(join(dir, "x.opus")).size, encodeSeconds, decodeSeconds, commands: [quote("opusenc", enc), quote("opusdec", dec)] };
      }),
  };
}

export function codec2(mode: number): PeerCodec {
  return {
    name: `codec2@${mode}`,
    packages: ["codec2"],
    run: (audio) =>
      withTmp(async (dir) => {
        const pcm = await resample(audio, 24000, 8000);
        const raw = new Int16Array(pcm.length);
        for (let i = 0; i < pcm.length; i++) raw[i] = Math.round(Math.max(-1, Math.min(1, pcm[i])) * 32767);
        writeFileSync(join(dir, "in.raw"), new Uint8Array(raw.buffer));
        const enc = [String(mode), join(dir, "in.raw"), join(dir, "x.bit")];
        const dec = [String(mode), join(dir, "x.bit"), join(dir, "out.raw")];
        const encodeSeconds = timed("c2enc", enc);
        const decodeSeconds = timed("c2dec", dec);
        const out = new Uint8Array(readFileSync(join(dir, "out.raw")));
        const s16 = new Int16Array(out.buffer, out.byteOffset, out.byteLength >> 1);
        const f = Float32Array.from(s16, (v) => v / 32768);
        return { audio: await resample(f, 8000, 24000), bytes: statSync(join(dir, "x.bit")).size, encodeSeconds, decodeSeconds, commands: [quote("c2enc", enc), quote("c2dec", dec)] };
      }),
  };
}

/** Speex narrowband at a quality setting (0 is its lowest mode). */
export function speexNb(quality: number): PeerCodec {
  return {
    name: `speex-nb@q${quality}`,
    packages: ["speex"],
    run: (audio) =>
      withTmp(async (dir) => {
        writeFileSync(join(dir, "in.wav"), await wavAt(audio, 8000));
        const enc = ["-n", "--quality", String(quality), join(dir, "in.wav"), join(dir, "x.spx")];
        const dec = [join(dir, "x.spx"), join(dir, "out.wav")];
        const encodeSeconds = timed("speexenc", enc);
        const decodeSeconds = timed("speexdec", dec);
        return { audio: await to24k(new Uint8Array(readFileSync(join(dir, "out.wav"))), "speexdec output"), bytes: statSync(join(dir, "x.spx")).size, encodeSeconds, decodeSeconds, commands: [quote("speexenc", enc), quote("speexdec", dec)] };
      }),
  };
}

/** Parses a peer spec like "opus@6", "codec2@3200", "speex@0". */
export function peerFromSpec(spec: string): PeerCodec | null {
  const m = /^(opus|codec2|speex)@(\d+(?:\.\d+)?)$/.exec(spec);
  if (!m) return null;
  const v = Number(m[2]);
  if (m[1] === "opus") return opus(v);
  if (m[1] === "codec2") {
    if (![3200, 2400, 1600, 1400, 1300, 1200].includes(v)) throw new UserError(`codec2 modes are 3200, 2400, 1600, 1400, 1300, 1200; got ${v}`);
    return codec2(v);
  }
  if (!(Number.isInteger(v) && v >= 0 && v <= 10)) throw new UserError(`speex@Q takes a quality 0-10, got ${v}`);
  return speexNb(v);
}

export function installPeers(peers: PeerCodec[], log: (m: string) => void): void {
  ensurePackages(peers.flatMap((p) => p.packages), log);
}
