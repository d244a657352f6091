/**
 * Builds the training corpus from Debian packages (installed with apt-get when
 * missing) and from synthesis: deterministic for a given seed, 24 kHz mono
 * 16-bit WAV clips plus manifest.jsonl (source package, licence, kind,
 * duration, train/validation split). Only the sources named in the corpus
 * issue are used; other audio packages are kept for blind evaluation.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { readWav } from "../audio/wav.js";
import { Rng } from "../nn/rng.js";
import { fnv1a } from "../util/fnv.js";
import { UserError } from "../util/errors.js";
import { writeFileAtomic } from "../util/files.js";
import { partialSibling, settle } from "../util/partial-files.js";
import { randomMidi } from "./midi.js";

export type ClipKind = "speech-real" | "music-real" | "speech-synthetic" | "music-synthetic";
/** "unseen": whole sources no model trains on (new speakers), to measure how the codec generalises. */
export type Split = "train" | "validation" | "unseen";

export interface ManifestEntry {
  id: string;
  path: string; // relative to the corpus directory
  source: string;
  package: string;
  licence: string;
  kind: ClipKind;
  seconds: number;
  split: Split;
}

interface RealSource {
  name: string;
  pkg: string;
  kind: ClipKind;
  match: RegExp;
  /** Longest stretch taken from one file (music tracks: a middle segment). */
  maxSeconds: number;
  /** Budget for the whole source. */
  totalSeconds: number;
  /**
   * Files inside archives: this matches the package's zip archives (0 A.D.'s public.zip, Quake 3
   * .pk3), and `match` the entries inside them, which are extracted one at a time with unzip.
   */
  archive?: RegExp;
  /** The whole source goes to the "unseen" split: speakers that training never draws, kept for evaluation. */
  heldOut?: boolean;
}

export const REAL_SOURCES: RealSource[] = [
  { name: "festvox-ru", pkg: "festvox-ru", kind: "speech-real", match: /\/wav\/.*\.wav$/, maxSeconds: 30, totalSeconds: 5400 },
  { name: "fillets-cs", pkg: "fillets-ng-data-cs", kind: "speech-real", match: /\.ogg$/, maxSeconds: 30, totalSeconds: 3000 },
  { name: "fillets-nl", pkg: "fillets-ng-data-nl", kind: "speech-real", match: /\.ogg$/, maxSeconds: 30, totalSeconds: 3000 },
  { name: "hedgewars-voices", pkg: "hedgewars-data", kind: "speech-real", match: /\/Sounds\/voices\/.*\.ogg$/, maxSeconds: 30, totalSeconds: 1200 },
  { name: "klettres", pkg: "klettres-data", kind: "speech-real", match: /\.ogg$/, maxSeconds: 30, totalSeconds: 1200 },
  { name: "ktuberling", pkg: "ktuberling-data", kind: "speech-real", match: /\/sounds\/.*\.(ogg|wav|opus)$/, maxSeconds: 30, totalSeconds: 1200 },
  { name: "warzone2100-music", pkg: "warzone2100-music", kind: "music-real", match: /\.opus$/, maxSeconds: 75, totalSeconds: 2400 },
  { name: "supertuxkart-music", pkg: "supertuxkart-data", kind: "music-real", match: /\/data\/music\/.*\.ogg$/, maxSeconds: 75, totalSeconds: 2400 },
  { name: "hedgewars-music", pkg: "hedgewars-data", kind: "music-real", match: /\/Data\/Music\/.*\.ogg$/, maxSeconds: 75, totalSeconds: 1500 },
];

/**
 * The sources issue 19 added (real speakers and music). They are taken after the synthesis, from
 * random streams of their own, so adding them changes none of the first corpus's clips, ids or
 * validation split (figures stay comparable); a new file's split is the same hash of its path.
 * Unit effects, ambience and weapon sounds are left out: only voice lines, prompts and music.
 */
export const WIDER_SOURCES: RealSource[] = [
  // Unit voice lines ("*_ack3.wav", "*_select2.wav"), not the attack/die/effect sounds; ~9 min.
  { name: "megaglest-voices", pkg: "megaglest-data", kind: "speech-real", match: /\/megaglest\/techs\/.*\/(?!armor_|dragon_|ele)[a-z0-9_]*_(ack|select|sel)[0-9]*\.wav$/, maxSeconds: 30, totalSeconds: 1200 },
  // The factions' and menu music, 9 tracks, ~31 min.
  { name: "megaglest-music", pkg: "megaglest-data", kind: "music-real", match: /\/megaglest\/.*\/music\/[^/]*\.ogg$/, maxSeconds: 150, totalSeconds: 2400 },
  // Telephone prompts: GSM 6.10 at 8 kHz (band-limited to 4 kHz), ~15 and ~10 min.
  { name: "asterisk-fr-armelle", pkg: "asterisk-prompt-fr-armelle", kind: "speech-real", match: /\/sounds\/fr\/.*\.gsm$/, maxSeconds: 30, totalSeconds: 1200 },
  { name: "asterisk-es-co", pkg: "asterisk-prompt-es-co", kind: "speech-real", match: /\/sounds\/es\/.*\.gsm$/, maxSeconds: 30, totalSeconds: 1200 },
  // Its three music tracks (~9 min); its sounds are building ambience, no voices.
  { name: "lincity-ng-music", pkg: "lincity-ng-data", kind: "music-real", match: /\/lincity-ng\/music\/.*\.ogg$/, maxSeconds: 150, totalSeconds: 900 },
  // Announcer and voice lines (~2 min) and the 12 music tracks.
  { name: "redeclipse-voices", pkg: "redeclipse-data", kind: "speech-real", match: /\/data\/sounds\/(voice|announcer)\/[^/]*\.ogg$/, maxSeconds: 30, totalSeconds: 600 },
  { name: "redeclipse-music", pkg: "redeclipse-data", kind: "music-real", match: /\/data\/sounds\/music\/[^/]*\.ogg$/, maxSeconds: 150, totalSeconds: 1800 },
  // Read from zip archives. Both voice sources are held out whole (the "unseen" split): real speakers
  // that no model trains on, our only check of unseen voices; 4 min would add ~1.5 % to real speech.
  // OpenArena's 41 "rott" team orders (English, 16 kHz, ~42 s; the package's other voices are
  // Festival TTS, its announcer lines are in openarena-081-misc, which the issue does not name).
  { name: "openarena-voices", pkg: "openarena-data", kind: "speech-real", archive: /\/mp-pak0\.pk3$/, match: /^sound\/voices\/rott\/[^/]*\.ogg$/, maxSeconds: 30, totalSeconds: 600, heldOut: true },
  // 0 A.D.'s unit voices (Greek, Latin, Napatan, Persian; ~3.6 min; not audio/voice/global/, a dog's bark
  // and move sounds) and its 61 music tracks (2.9 h,
  // ~2.5 h after the 150 s cap): 228 MB of the 3.26 GB public.zip, the rest is art and effects.
  { name: "0ad-voices", pkg: "0ad-data", kind: "speech-real", archive: /\/public\/public\.zip$/, match: /^audio\/voice\/(?!global\/).*\.ogg$/, maxSeconds: 30, totalSeconds: 600, heldOut: true },
  { name: "0ad-music", pkg: "0ad-data", kind: "music-real", archive: /\/public\/public\.zip$/, match: /^audio\/music\/[^/]*\.ogg$/, maxSeconds: 150, totalSeconds: 9600 },
];

const TOOL_PACKAGES = ["unzip", "sox", "libsox-fmt-all", "opus-tools", "espeak-ng", "festival", "festvox-kallpc16k", "festvox-us-slt-hts", "festvox-ru", "flite", "fluidsynth", "fluid-soundfont-gm", "timgm6mb-soundfont", "musescore-general-soundfont"];

export interface BuildOptions {
  out: string;
  seed: number;
  /** Scales every duration budget (e.g. 0.05 for a quick smoke corpus). */
  scale: number;
  log: (msg: string) => void;
}

function run(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], input, maxBuffer: 64 << 20 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.slice(0, 4).join(" ")} failed: ${(err.stderr || err.message).split("\n")[0]}`);
  }
}

function installed(pkg: string): boolean {
  try {
    return run("dpkg-query", ["-W", "-f=${Status}", pkg]).includes("install ok installed");
  } catch {
    return false;
  }
}

export function ensurePackages(pkgs: string[], log: (m: string) => void): void {
  const missing = [...new Set(pkgs)].filter((p) => !installed(p));
  if (missing.length === 0) return;
  log(`installing ${missing.join(" ")} with apt-get`);
  if (process.getuid?.() !== 0) throw new UserError(`missing Debian packages ${missing.join(" ")}; run as root or install them first`);
  execFileSync("apt-get", ["install", "-y", "-q", ...missing], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}

function licenceOf(pkg: string): string {
  const path = `/usr/share/doc/${pkg}/copyright`;
  if (!existsSync(path)) return `see Debian package ${pkg}`;
  const ls = [...new Set([...readFileSync(path, "utf8").matchAll(/^License:\s*(\S.*)$/gm)].map((m) => m[1].trim()))];
  return ls.length ? `${ls.slice(0, 4).join(", ")} (${path})` : `see ${path}`;
}

function soxDuration(path: string): number {
  return Number(run("soxi", ["-D", path]).trim());
}

/** A path sox can read: Ogg Opus (which Debian's sox lacks) is decoded with opusdec first. */
function soxReadable(src: string, tmpDir: string): string {
  if (extname(src) !== ".opus") return src;
  const out = join(tmpDir, "decoded.wav");
  run("opusdec", ["--quiet", "--rate", "48000", src, out]);
  return out;
}

/** Converts any sox-readable input to 24 kHz mono 16-bit WAV with sox's very-high-quality resampler. */
function convert(input: string, dst: string, start = 0, seconds?: number): void {
  if (existsSync(dst)) return; // deterministic output: a rerun keeps what an earlier run converted
  const trim = seconds !== undefined ? ["trim", String(start), String(seconds)] : [];
  // Through a temporary: a clip cut short by a kill must not pass for a converted one on the rerun.
  const tmp = partialSibling(dst);
  try {
    run("sox", ["-D", input, "-b", "16", "-c", "1", "-t", "wav", tmp, ...trim, "rate", "-v", "24000"]);
    renameSync(tmp, dst);
  } finally {
    rmSync(tmp, { force: true });
    settle(tmp);
  }
}

/** Duration and level check of a produced clip: too short or near-silent clips are dropped. */
function usable(path: string): number | null {
  const a = readWav(new Uint8Array(readFileSync(path)), path);
  const x = a.channels[0];
  let e = 0;
  for (let i = 0; i < x.length; i++) e += x[i] * x[i];
  const rmsDb = 10 * Math.log10(e / Math.max(1, x.length) + 1e-20);
  const seconds = x.length / a.sampleRate;
  return seconds >= 0.4 && rmsDb > -55 ? seconds : null;
}

/** Validation membership by a hash of the group (source file), about 1 in 20. */
function splitOf(group: string): "train" | "validation" {
  return fnv1a(group) % 20 === 0 ? "validation" : "train";
}

const safeId = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "_").slice(-80);

export function buildCorpus(o: BuildOptions): ManifestEntry[] {
  ensurePackages([...TOOL_PACKAGES, ...[...REAL_SOURCES, ...WIDER_SOURCES].map((s) => s.pkg)], o.log);
  const tmp = join(o.out, ".tmp");
  mkdirSync(tmp, { recursive: true });
  const rng = new Rng(o.seed);
  const entries: ManifestEntry[] = [];
  const add = (e: Omit<ManifestEntry, "seconds" | "split">, group: string, heldOut = false) => {
    const secs = usable(join(o.out, e.path));
    if (secs === null) {
      rmSync(join(o.out, e.path), { force: true });
      return 0;
    }
    entries.push({ ...e, seconds: Math.round(secs * 1000) / 1000, split: heldOut ? "unseen" : splitOf(group) });
    return secs;
  };

  for (const src of REAL_SOURCES) takeSource(o, src, rng.fork(), tmp, add);
  synthesiseSpeech(o, rng.fork(), tmp, add);
  synthesiseMusic(o, rng.fork(), tmp, add);
  for (const src of WIDER_SOURCES) takeSource(o, src, new Rng(sourceSeed(o.seed, src.name)), tmp, add);
  rmSync(tmp, { recursive: true, force: true });
  entries.sort((a, b) => (a.id < b.id ? -1 : 1));
  writeFileAtomic(join(o.out, "manifest.jsonl"), entries.map((e) => JSON.stringify(e)).join("\n") + "\n");
  return entries;
}

type Adder = (e: Omit<ManifestEntry, "seconds" | "split">, group: string, heldOut?: boolean) => number;

/** Seed of a wider source's own stream: the build seed and the source's name (FNV-1a). */
export function sourceSeed(seed: number, name: string): number {
  return fnv1a(name, 2166136261 ^ seed);
}

/** A source file: a path in the package, or "<archive>!<entry>" for an entry of a zip archive. */
function sourceFiles(src: RealSource): string[] {
  const paths = run("dpkg", ["-L", src.pkg]).split("\n");
  if (!src.archive) return paths.filter((f) => src.match.test(f)).sort();
  const files: string[] = [];
  for (const zip of paths.filter((f) => src.archive!.test(f)).sort())
    for (const entry of run("unzip", ["-Z1", zip]).split("\n")) if (src.match.test(entry)) files.push(`${zip}!${entry}`);
  return files.sort();
}

/** unzip reads its entry arguments as wildcard patterns: escape those characters to name one entry. */
export const unzipLiteral = (entry: string) => entry.replace(/[[\]*?\\]/g, "\\$&");

/** The archive and entry of a source file named "<archive>!<entry>", or null for a plain path. */
function archiveEntry(file: string): { zip: string; entry: string } | null {
  const bang = file.indexOf("!");
  return bang < 0 ? null : { zip: file.slice(0, bang), entry: file.slice(bang + 1) };
}

/** A path sox can read for a source file; an archive entry is extracted to tmpDir first. */
export function extracted(file: string, tmpDir: string): string {
  const inArchive = archiveEntry(file);
  if (!inArchive) return file;
  const { zip, entry } = inArchive;
  const out = join(tmpDir, `entry${extname(entry).toLowerCase()}`);
  writeFileSync(out, execFileSync("unzip", ["-p", zip, unzipLiteral(entry)], { maxBuffer: 1 << 30 }));
  return out;
}

/** The clip id of a source file: its path under /usr/share, or its archive's name and entry path. */
export function clipId(src: RealSource, file: string): string {
  const inArchive = archiveEntry(file);
  const name = inArchive ? `${basename(inArchive.zip).replace(/\.[^.]*$/, "")}/${inArchive.entry}` : file.replace(/^\/usr\/share\//, "");
  return `${src.name}/${safeId(name)}`.replace(/\.(ogg|wav|opus|gsm)$/, "");
}

/** Converts a source's files in a seeded random order until its budget is spent (music: a middle segment). */
function takeSource(o: BuildOptions, src: RealSource, rng: Rng, tmp: string, add: Adder): void {
  const files = sourceFiles(src);
  rng.shuffle(files);
  const dir = join(o.out, "clips", src.name);
  mkdirSync(dir, { recursive: true });
  const licence = licenceOf(src.pkg);
  let total = 0;
  let n = 0;
  for (const f of files) {
    if (total >= src.totalSeconds * o.scale) break;
    const id = clipId(src, f);
    const rel = `clips/${id}.wav`;
    if (!existsSync(join(o.out, rel))) {
      const input = soxReadable(extracted(f, tmp), tmp);
      const dur = soxDuration(input);
      const take = Math.min(dur, src.maxSeconds);
      convert(input, join(o.out, rel), dur > take ? (dur - take) / 2 : 0, dur > take ? take : undefined);
    }
    total += add({ id, path: rel, source: src.name, package: src.pkg, licence, kind: src.kind }, f, src.heldOut);
    n++;
  }
  o.log(`${src.name}: ${n} files, ${(total / 60).toFixed(1)} min`);
}

/** Sentences from the GPL texts shipped with every Debian system, plus numbers and dates. */
function textPool(): string[] {
  const dir = "/usr/share/common-licenses";
  const txt = ["GPL-3", "LGPL-3", "Apache-2.0", "MPL-2.0"].filter((f) => existsSync(join(dir, f))).map((f) => readFileSync(join(dir, f), "utf8")).join(" ");
  return txt
    .replace(/\s+/g, " ")
    .split(/(?<=[.;:?!])\s+/)
    .map((s) => s.trim())
    .filter((s) => s.split(" ").length >= 5 && s.split(" ").length <= 30 && /^[A-Za-z]/.test(s));
}

function sentence(rng: Rng, pool: string[], english: boolean): string {
  if (english && rng.uniform() < 0.8) return pool[rng.int(pool.length)];
  // Numbers, dates and times are read in the voice's own language.
  const parts: string[] = [];
  for (let i = 0, n = 2 + rng.int(4); i < n; i++) {
    const r = rng.uniform();
    parts.push(r < 0.4 ? String(rng.int(100000)) : r < 0.7 ? `${1 + rng.int(28)}.${1 + rng.int(12)}.${1900 + rng.int(130)}` : `${rng.int(24)}:${String(rng.int(60)).padStart(2, "0")}`);
  }
  return parts.join(", ") + ".";
}

/** Runs a synthesis step; false if it failed (the same inputs always fail, so the corpus stays deterministic). */
function tryRun(f: () => void): boolean {
  try {
    f();
    return true;
  } catch {
    return false;
  }
}

function espeak(args: string[]): boolean {
  return tryRun(() => run("espeak-ng", args));
}

function synthesiseSpeech(o: BuildOptions, rng: Rng, tmp: string, add: Adder): void {
  const pool = textPool();
  const dir = join(o.out, "clips", "tts");
  mkdirSync(dir, { recursive: true });
  // Voices espeak-ng lists but cannot load (e.g. Cherokee) are probed once and left out.
  const espeakVoices = run("espeak-ng", ["--voices"]).split("\n").slice(1).map((l) => l.trim().split(/\s+/)[1]).filter((v) => {
    if (!v) return false;
    try {
      run("espeak-ng", ["-q", "-v", v, "a"]);
      return true;
    } catch {
      return false;
    }
  });
  const variants = run("espeak-ng", ["--voices=variant"]).split("\n").slice(1).map((l) => l.trim().split(/\s+/)[4]?.replace("!v/", "")).filter(Boolean);
  const counts = { espeak: Math.round(500 * o.scale), festival: Math.round(80 * o.scale), flite: Math.round(50 * o.scale) };
  let total = 0;
  for (let i = 0; i < counts.espeak; i++) {
    const voice = espeakVoices[rng.int(espeakVoices.length)];
    const variant = variants[rng.int(variants.length)];
    const english = voice.startsWith("en");
    const text = sentence(rng, pool, english);
    const raw = join(tmp, "espeak.wav");
    const rate = String(120 + rng.int(80));
    const pitch = String(20 + rng.int(60));
    if (!espeak(["-v", `${voice}+${variant}`, "-s", rate, "-p", pitch, "-w", raw, text]) && !espeak(["-v", voice, "-s", rate, "-p", pitch, "-w", raw, text])) continue; // a few voices fail on some texts
    const id = `tts/espeak-${String(i).padStart(4, "0")}-${safeId(voice)}-${safeId(variant)}`;
    convert(raw, join(o.out, `clips/${id}.wav`));
    total += add({ id, path: `clips/${id}.wav`, source: "espeak-ng", package: "espeak-ng-data", licence: licenceOf("espeak-ng-data"), kind: "speech-synthetic" }, id);
  }
  const festivalVoices = [
    ["kal_diphone", "festvox-kallpc16k", true],
    ["cmu_us_slt_arctic_hts", "festvox-us-slt-hts", true],
    ["msu_ru_nsh_clunits", "festvox-ru", false],
  ] as const;
  for (let i = 0; i < counts.festival; i++) {
    const [voice, pkg, english] = festivalVoices[i % festivalVoices.length];
    const text = english ? sentence(rng, pool, true) : sentence(rng, pool, false);
    const raw = join(tmp, "festival.wav");
    const id = `tts/festival-${String(i).padStart(4, "0")}-${voice}`;
    if (!tryRun(() => {
      rmSync(raw, { force: true });
      run("text2wave", ["-eval", `(voice_${voice})`, "-o", raw], text);
      convert(raw, join(o.out, `clips/${id}.wav`));
    })) continue; // a voice that cannot say a text produces no audio
    total += add({ id, path: `clips/${id}.wav`, source: "festival", package: pkg, licence: licenceOf(pkg), kind: "speech-synthetic" }, id);
  }
  const fliteVoices = ["kal", "kal16", "awb", "rms", "slt"];
  for (let i = 0; i < counts.flite; i++) {
    const voice = fliteVoices[i % fliteVoices.length];
    const raw = join(tmp, "flite.wav");
    const text = sentence(rng, pool, true);
    const id = `tts/flite-${String(i).padStart(4, "0")}-${voice}`;
    if (!tryRun(() => {
      run("flite", ["-voice", voice, "-t", text, "-o", raw]);
      convert(raw, join(o.out, `clips/${id}.wav`));
    })) continue;
    total += add({ id, path: `clips/${id}.wav`, source: "flite", package: "flite", licence: licenceOf("flite"), kind: "speech-synthetic" }, id);
  }
  o.log(`synthetic speech: ${(total / 60).toFixed(1)} min`);
}

function synthesiseMusic(o: BuildOptions, rng: Rng, tmp: string, add: Adder): void {
  const fonts = [
    ["/usr/share/sounds/sf2/FluidR3_GM.sf2", "fluid-soundfont-gm"],
    ["/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont"],
    ["/usr/share/sounds/sf3/MuseScore_General.sf3", "musescore-general-soundfont"],
  ];
  mkdirSync(join(o.out, "clips", "midi"), { recursive: true });
  let total = 0;
  const n = Math.round(90 * o.scale);
  for (let i = 0; i < n; i++) {
    const [font, pkg] = fonts[i % fonts.length];
    const mid = join(tmp, "piece.mid");
    writeFileSync(mid, randomMidi(rng, 15 + rng.int(15)));
    const raw = join(tmp, "fluid.wav");
    const gain = String(0.4 + rng.uniform() * 0.6);
    const id = `midi/piece-${String(i).padStart(4, "0")}-${basename(font).replace(/\..*$/, "")}`;
    if (!tryRun(() => {
      run("fluidsynth", ["-ni", "-q", "-g", gain, "-r", "24000", "-F", raw, font, mid]);
      convert(raw, join(o.out, `clips/${id}.wav`));
    })) continue;
    total += add({ id, path: `clips/${id}.wav`, source: "fluidsynth", package: pkg, licence: licenceOf(pkg), kind: "music-synthetic" }, id);
  }
  o.log(`synthetic music: ${(total / 60).toFixed(1)} min`);
}
