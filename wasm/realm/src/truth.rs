//! Ground-truth layout exports, computed from real values by address
//! arithmetic (offset_of! is not stable in rustc 1.63).
//!
//! "cell" = the object wasm-bindgen 0.2.83 allocates for a class instance:
//! `IntoWasmAbi for Realm` does `Box::into_raw(Box::new(WasmRefCell::new(self)))`,
//! and the JS-side pointer is the address of that `WasmRefCell<Realm>`.

use crate::{Realm, WasmGenerationConfig};
use core::mem::{align_of, size_of};
use core::ptr::addr_of;
use wasm_bindgen::__rt::WasmRefCell;

fn base<T>(v: &T) -> usize {
    v as *const T as usize
}

macro_rules! realm_offset {
    ($name:ident, $field:ident) => {
        #[no_mangle]
        pub extern "C" fn $name() -> i32 {
            let r = Realm::empty();
            (addr_of!(r.$field) as usize - base(&r)) as i32
        }
    };
}

macro_rules! config_offset {
    ($name:ident, $field:ident) => {
        #[no_mangle]
        pub extern "C" fn $name() -> i32 {
            let c = WasmGenerationConfig::default();
            (addr_of!(c.$field) as usize - base(&c)) as i32
        }
    };
}

#[no_mangle]
pub extern "C" fn __realm_truth_realm_size() -> i32 {
    size_of::<Realm>() as i32
}

#[no_mangle]
pub extern "C" fn __realm_truth_realm_align() -> i32 {
    align_of::<Realm>() as i32
}

#[no_mangle]
pub extern "C" fn __realm_truth_cell_size() -> i32 {
    size_of::<WasmRefCell<Realm>>() as i32
}

#[no_mangle]
pub extern "C" fn __realm_truth_cell_align() -> i32 {
    align_of::<WasmRefCell<Realm>>() as i32
}

/// Byte offset of the `Realm` inside the boxed `WasmRefCell<Realm>`, measured
/// on a real heap allocation made exactly like wasm-bindgen's `into_abi`.
#[no_mangle]
pub extern "C" fn __realm_truth_cell_value_offset() -> i32 {
    let mut cell = Box::new(WasmRefCell::new(Realm::empty()));
    let cell_addr = &*cell as *const WasmRefCell<Realm> as usize;
    let value_addr = cell.get_mut() as *mut Realm as usize;
    (value_addr - cell_addr) as i32
}

realm_offset!(__realm_truth_offset_model, model);
realm_offset!(__realm_truth_offset_tokenizer, tokenizer);
realm_offset!(__realm_truth_offset_model_id, model_id);
realm_offset!(__realm_truth_offset_transformer_config, transformer_config);
realm_offset!(__realm_truth_offset_config, config);
realm_offset!(__realm_truth_offset_kv_caches, kv_caches);

#[no_mangle]
pub extern "C" fn __realm_truth_config_size() -> i32 {
    size_of::<WasmGenerationConfig>() as i32
}

#[no_mangle]
pub extern "C" fn __realm_truth_config_align() -> i32 {
    align_of::<WasmGenerationConfig>() as i32
}

config_offset!(__realm_truth_config_offset_max_tokens, max_tokens);
config_offset!(__realm_truth_config_offset_temperature, temperature);
config_offset!(__realm_truth_config_offset_top_p, top_p);
config_offset!(__realm_truth_config_offset_top_k, top_k);
config_offset!(__realm_truth_config_offset_repetition_penalty, repetition_penalty);
