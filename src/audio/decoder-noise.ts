/**
 * The wasm decoders behind audio-decode (mpg123-decoder, @wasm-audio-decoders/flac)
 * print what they find wrong with console.error as well as returning it: on a
 * damaged file that is an extra stderr line before the CLI's one-line error
 * (or around its output). While a decode is in flight their lines are dropped;
 * any other console.error passes through.
 */
const DECODER_PREFIXES = ["mpg123-decoder:", "@wasm-audio-decoders/"];

let inFlight = 0;
let original: typeof console.error = console.error;

/** Drops the decoders' console.error lines until the returned function is called (nested calls allowed). */
export function muteDecoderNoise(): () => void {
  if (inFlight++ === 0) {
    original = console.error;
    console.error = (...args: unknown[]) => {
      if (typeof args[0] === "string" && DECODER_PREFIXES.some((p) => (args[0] as string).startsWith(p))) return;
      original.apply(console, args);
    };
  }
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--inFlight === 0) console.error = original;
  };
}
