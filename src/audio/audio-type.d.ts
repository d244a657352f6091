// audio-type ships no types: the functions used here.
declare module "audio-type" {
  /** The format name ("mp3", "flac", "oga", "opus", ...) of an audio file's first bytes, or undefined. */
  export default function audioType(bytes: Uint8Array): string | undefined;
  /** Bytes of an ID3v2 tag (header, body and footer) at the start of a file, or 0. */
  export function skipId3(bytes: Uint8Array): number;
}
