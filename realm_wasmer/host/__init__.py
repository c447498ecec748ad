"""The host side of an instance: guest memory, the JS-value store, the ABI
helpers, the import resolver chain, wasm-bindgen's intrinsics and the tables."""
