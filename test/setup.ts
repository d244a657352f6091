// jax-js needs iterator helpers that Node 20 lacks; the package entry point loads the same polyfill.
import "core-js/actual/iterator/index.js";
