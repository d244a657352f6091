/** flowmac: the public API (Node.js). The browser build uses src/web.ts. */
import "core-js/actual/iterator/index.js";

export { loadAudio, decodeToMono, SAMPLE_RATE } from "./audio/load.js";
export { readWav, encodeWav, type DecodedAudio, type WavSampleFormat } from "./audio/wav.js";
export { resample, StreamResampler } from "./audio/resample.js";
export { openAudioStream, type AudioStream } from "./audio/stream.js";
export { MelFrontEnd, FLOWMAC_MEL, toBandMajor, fromBandMajor, type LogMel, type MelConfig } from "./audio/mel.js";
export { MelStatsAccumulator, normalizeMel, denormalizeMel, type MelStats } from "./audio/stats.js";
export { readFmac, readFmacHeader, writeFmac, framesFor, type FmacStream, type FmacHeader } from "./bitstream/fmac.js";
/** A model's code tables, which entropy-coded (version 3) streams are read with: readFmac(bytes, name, codeModelOf(engine.info)). */
export { codeModelOf, type CodeModel } from "./bitstream/code-model.js";
export { encodeStream, allocates, type RateChoice } from "./model/encode-stream.js";
export { openEngine, ENGINES, type EngineName } from "./model/open.js";
export type { InferenceEngine, EngineInfo } from "./model/engine.js";
export { encodeAudio, encodeChunks, decodeAudio, decodeAudioChunks, decodeMel, vocodeMel, DEFAULT_DECODE, FLOW_DECODE, LC_DECODE, PAPER_LC_DECODE, type DecodeOptions } from "./model/pipeline.js";
export { CODEC_CONFIGS, bitrate, FRAME_RATE, type CodecConfig } from "./model/config.js";
export { VOCODER_CONFIGS, type VocoderConfig } from "./model/vocoder.js";
export { DEFAULT_MODEL_DIR, loadModel, readModelDir } from "./model/load.js";
export { UserError } from "./util/errors.js";
