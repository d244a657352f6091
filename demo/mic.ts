/** Records the microphone (getUserMedia + MediaRecorder) for at most `maxSeconds`. */
export class MicRecorder {
  private recorder: MediaRecorder | null = null;

  get recording(): boolean {
    return this.recorder?.state === "recording";
  }

  /** Resolves with the recording when stopped (by stop() or the time limit); rejects when access is denied. */
  async record(maxSeconds: number, onTick: (seconds: number) => void, onStart: () => void = () => {}): Promise<Blob> {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    let rec: MediaRecorder;
    try {
      rec = new MediaRecorder(stream);
    } catch (e) {
      for (const t of stream.getTracks()) t.stop();
      throw e;
    }
    const parts: Blob[] = [];
    rec.ondataavailable = (e) => parts.push(e.data);
    const stopped = new Promise<Blob>((resolve) => {
      rec.onstop = () => resolve(new Blob(parts, { type: rec.mimeType }));
    });
    const t0 = performance.now();
    const timer = setInterval(() => {
      const s = (performance.now() - t0) / 1000;
      onTick(Math.min(s, maxSeconds));
      if (s >= maxSeconds && rec.state === "recording") rec.stop();
    }, 250);
    this.recorder = rec;
    rec.start();
    onStart();
    try {
      return await stopped;
    } finally {
      clearInterval(timer);
      for (const t of stream.getTracks()) t.stop(); // releases the microphone (and its indicator)
      this.recorder = null;
    }
  }

  stop(): void {
    if (this.recording) this.recorder!.stop();
  }
}
