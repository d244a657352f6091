/**
 * A/B playback: one transport over several versions of the same clip. Switching
 * version while playing restarts the other buffer at the current position, so
 * listeners compare the same passage. Web Audio, not <audio> elements, so the
 * switch lands on the sample.
 */
export interface Track {
  key: string;
  audio: Float32Array;
  sampleRate: number;
}

export class AbPlayer {
  private ctx: AudioContext | null = null;
  private buffers = new Map<string, AudioBuffer>();
  private tracks: Track[] = [];
  private source: AudioBufferSourceNode | null = null;
  private startedAt = 0; // ctx time at which position 0 would have played
  private offset = 0; // position while paused, seconds
  current = "";
  duration = 0;
  onChange: () => void = () => {};

  get playing(): boolean {
    return this.source !== null;
  }

  setTracks(tracks: Track[]): void {
    this.stopSource();
    this.tracks = tracks;
    this.buffers.clear();
    this.offset = 0;
    this.duration = tracks.length ? Math.max(...tracks.map((t) => t.audio.length / t.sampleRate)) : 0;
    if (!tracks.some((t) => t.key === this.current)) this.current = tracks[0]?.key ?? "";
    this.onChange();
  }

  position(): number {
    if (!this.ctx || !this.source) return this.offset;
    return Math.min(this.duration, this.ctx.currentTime - this.startedAt);
  }

  play(): void {
    if (this.playing || !this.current) return;
    if (this.offset >= this.duration) this.offset = 0;
    this.startAt(this.offset);
  }

  pause(): void {
    this.offset = this.position();
    this.stopSource();
    this.onChange();
  }

  select(key: string): void {
    if (key === this.current) return;
    const pos = this.position();
    const was = this.playing;
    this.stopSource();
    this.current = key;
    this.offset = pos;
    if (was) this.startAt(pos);
    else this.onChange();
  }

  seek(seconds: number): void {
    const was = this.playing;
    this.stopSource();
    this.offset = Math.max(0, Math.min(this.duration, seconds));
    if (was) this.startAt(this.offset);
    else this.onChange();
  }

  private buffer(key: string): AudioBuffer {
    let b = this.buffers.get(key);
    if (!b) {
      const t = this.tracks.find((x) => x.key === key)!;
      b = new AudioBuffer({ length: t.audio.length, sampleRate: t.sampleRate, numberOfChannels: 1 });
      b.copyToChannel(t.audio as Float32Array<ArrayBuffer>, 0);
      this.buffers.set(key, b);
    }
    return b;
  }

  private startAt(pos: number): void {
    this.ctx ??= new AudioContext();
    void this.ctx.resume();
    const src = this.ctx.createBufferSource();
    src.buffer = this.buffer(this.current);
    src.connect(this.ctx.destination);
    src.onended = () => {
      if (this.source !== src) return;
      this.source = null;
      this.offset = this.duration;
      this.onChange();
    };
    src.start(0, Math.min(pos, src.buffer.duration));
    this.startedAt = this.ctx.currentTime - pos;
    this.source = src;
    this.onChange();
  }

  private stopSource(): void {
    const s = this.source;
    this.source = null;
    s?.stop();
    s?.disconnect();
  }
}
