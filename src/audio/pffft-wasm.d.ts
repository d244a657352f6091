// The PFFFT wasm package ships no type declarations; it exports an Emscripten module factory.
declare module "@echogarden/pffft-wasm/simd" {
  const createModule: () => Promise<unknown>;
  export default createModule;
}
