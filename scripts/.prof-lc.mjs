// scratch: profile LC decode in-process (not committed)
import { openEngine } from "../dist/src/model/open.js";
import { encodeAudio, decodeAudio, LC_DECODE } from "../dist/src/model/pipeline.js";
import { readAudioFile } from "../dist/src/audio/load.js";
const e = await openEngine("/work/main/models/default", "onnx");
const { loadAudio } = await import("../dist/src/audio/load.js");
