/**
 * Real FFTs behind one interface: fft.js (pure JS, float64, synchronous) and
 * PFFFT compiled to WebAssembly with SIMD (float32, 2-4x faster here, loaded
 * asynchronously). The codec's inference path uses PFFFT where it loads, so
 * Node and the browser run the same wasm code and compute the same mels.
 */
import FFT from "fft.js";

export interface RealFft {
  readonly size: number;
  readonly name: string;
  /** Spectrum of `input` (length size) as interleaved [re, im] for bins 0..size/2. */
  forward(input: Float32Array | Float64Array, spectrum: Float64Array): void;
  /**
   * Real signal (length size) of a half spectrum given as separate re and im
   * (bins 0..size/2, read from index `offset`), normalised as numpy's irfft:
   * the inverse of `forward`. The imaginary parts of bins 0 and size/2 are ignored.
   */
  inverse(re: Float32Array, im: Float32Array, offset: number, output: Float32Array): void;
  /** Magnitudes |X_k| of bins 0..size/2 of `input`: the mel front end's hot path. */
  magnitude(input: Float32Array | Float64Array, mag: Float64Array): void;
  /**
   * A buffer of `size` samples that `forward` and `magnitude` read without a
   * copy (PFFFT's own input in wasm memory); valid until the next call.
   */
  inputBuffer(): Float32Array | Float64Array;
}

export function fftJs(size: number): RealFft {
  const fft = new FFT(size);
  const full = new Float64Array(2 * size);
  const time = new Float64Array(2 * size);
  const input = new Float64Array(size);
  const bins = size / 2 + 1;
  return {
    size,
    name: "fft.js",
    inputBuffer: () => input,
    forward(input, spectrum) {
      // realTransform fills only the first half of the spectrum, which is all we read.
      fft.realTransform(full as unknown as number[], input as unknown as number[]);
      spectrum.set(full.subarray(0, 2 * bins));
    },
    magnitude(input, mag) {
      fft.realTransform(full as unknown as number[], input as unknown as number[]);
      for (let k = 0; k < bins; k++) mag[k] = Math.sqrt(full[2 * k] * full[2 * k] + full[2 * k + 1] * full[2 * k + 1]); // Math.hypot is ~5x slower
    },
    inverse(re, im, offset, output) {
      // Rebuild the Hermitian-symmetric full spectrum; fft.js's inverse divides by size.
      for (let k = 0; k < bins; k++) {
        full[2 * k] = re[offset + k];
        full[2 * k + 1] = k === 0 || k === bins - 1 ? 0 : im[offset + k];
      }
      for (let k = bins; k < size; k++) {
        full[2 * k] = full[2 * (size - k)];
        full[2 * k + 1] = -full[2 * (size - k) + 1];
      }
      fft.inverseTransform(time as unknown as number[], full as unknown as number[]);
      for (let i = 0; i < size; i++) output[i] = time[2 * i];
    },
  };
}

interface PffftModule {
  HEAPF32: Float32Array;
  _pffft_new_setup(n: number, kind: number): number;
  _pffft_aligned_malloc(bytes: number): number;
  _pffft_transform_ordered(setup: number, input: number, output: number, work: number, direction: number): void;
}

let pffftModule: Promise<PffftModule | null> | null = null;

/** The PFFFT wasm module, or null where it cannot load (then callers fall back to fft.js). */
function loadPffftModule(): Promise<PffftModule | null> {
  pffftModule ??= import("@echogarden/pffft-wasm/simd")
    .then(async (m) => (await m.default()) as PffftModule)
    .catch(() => null);
  return pffftModule;
}

const PFFFT_REAL = 0;
const PFFFT_FORWARD = 0;
const PFFFT_BACKWARD = 1;

function pffft(m: PffftModule, size: number): RealFft {
  const setup = m._pffft_new_setup(size, PFFFT_REAL);
  if (!setup) throw new Error(`PFFFT cannot transform ${size} points`);
  const inPtr = m._pffft_aligned_malloc(4 * size) / 4;
  const outPtr = m._pffft_aligned_malloc(4 * size) / 4;
  const workPtr = m._pffft_aligned_malloc(4 * size);
  const half = size / 2;
  // The heap view is re-read on every call: wasm memory growth replaces it.
  const toHeap = (input: Float32Array | Float64Array, heap: Float32Array) => {
    if (input.buffer !== heap.buffer || input.byteOffset !== inPtr * 4) for (let i = 0; i < size; i++) heap[inPtr + i] = input[i];
  };
  return {
    size,
    name: "pffft-wasm-simd",
    inputBuffer: () => m.HEAPF32.subarray(inPtr, inPtr + size),
    forward(input, spectrum) {
      const heap = m.HEAPF32; // re-read: the heap view is replaced if wasm memory grows
      toHeap(input, heap);
      m._pffft_transform_ordered(setup, inPtr * 4, outPtr * 4, workPtr, PFFFT_FORWARD);
      // PFFFT's ordered real layout: [re0, re(size/2), re1, im1, re2, im2, ...].
      spectrum[0] = heap[outPtr];
      spectrum[1] = 0;
      for (let i = 2; i < size; i++) spectrum[i] = heap[outPtr + i];
      spectrum[2 * half] = heap[outPtr + 1];
      spectrum[2 * half + 1] = 0;
    },
    magnitude(input, mag) {
      const heap = m.HEAPF32;
      toHeap(input, heap);
      m._pffft_transform_ordered(setup, inPtr * 4, outPtr * 4, workPtr, PFFFT_FORWARD);
      mag[0] = Math.abs(heap[outPtr]);
      mag[half] = Math.abs(heap[outPtr + 1]);
      for (let k = 1, j = outPtr + 2; k < half; k++, j += 2) mag[k] = Math.sqrt(heap[j] * heap[j] + heap[j + 1] * heap[j + 1]);
    },
    inverse(re, im, offset, output) {
      const heap = m.HEAPF32;
      heap[inPtr] = re[offset];
      heap[inPtr + 1] = re[offset + half];
      for (let k = 1, j = inPtr + 2; k < half; k++, j += 2) {
        heap[j] = re[offset + k];
        heap[j + 1] = im[offset + k];
      }
      m._pffft_transform_ordered(setup, inPtr * 4, outPtr * 4, workPtr, PFFFT_BACKWARD);
      // PFFFT's backward transform is unnormalised.
      const scale = 1 / size;
      for (let i = 0; i < size; i++) output[i] = heap[outPtr + i] * scale;
    },
  };
}

/** The fastest real FFT available here: PFFFT (wasm SIMD) if it loads, else fft.js. */
export async function loadFastFft(size: number): Promise<RealFft> {
  const m = await loadPffftModule();
  return m ? pffft(m, size) : fftJs(size);
}
