// audio-type ships no types: its one function used here.
declare module "audio-type" {
  /** The format name ("mp3", "flac", "oga", "opus", ...) of an audio file's first bytes, or undefined. */
  export default function audioType(bytes: Uint8Array): string | undefined;
}
