//! Round-trip functions for typed-binding tests. Each applies a small,
//! deterministic transform documented (with its Python model) in README.md.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub fn rt_u8(x: u8) -> u8 {
    x.wrapping_add(1)
}
#[wasm_bindgen]
pub fn rt_i8(x: i8) -> i8 {
    x.wrapping_add(1)
}
#[wasm_bindgen]
pub fn rt_u16(x: u16) -> u16 {
    x.wrapping_add(1)
}
#[wasm_bindgen]
pub fn rt_i16(x: i16) -> i16 {
    x.wrapping_add(1)
}
#[wasm_bindgen]
pub fn rt_u32(x: u32) -> u32 {
    x.wrapping_add(1)
}
#[wasm_bindgen]
pub fn rt_i32(x: i32) -> i32 {
    x.wrapping_add(1)
}
#[wasm_bindgen]
pub fn rt_u64(x: u64) -> u64 {
    x.wrapping_add(1)
}
#[wasm_bindgen]
pub fn rt_i64(x: i64) -> i64 {
    x.wrapping_add(1)
}
#[wasm_bindgen]
pub fn rt_f32(x: f32) -> f32 {
    x * 2.0
}
#[wasm_bindgen]
pub fn rt_f64(x: f64) -> f64 {
    x * 2.0
}
#[wasm_bindgen]
pub fn rt_bool(x: bool) -> bool {
    !x
}
#[wasm_bindgen]
pub fn rt_char(c: char) -> char {
    c.to_ascii_uppercase()
}
#[wasm_bindgen]
pub fn rt_string(s: String) -> String {
    s.chars().rev().collect()
}
#[wasm_bindgen]
pub fn rt_str(s: &str) -> usize {
    s.chars().count()
}
#[wasm_bindgen]
pub fn rt_vec_u8(mut v: Vec<u8>) -> Vec<u8> {
    v.reverse();
    v
}
#[wasm_bindgen]
pub fn rt_slice_u8(v: &[u8]) -> u32 {
    v.iter().fold(0u32, |acc, &b| acc.wrapping_add(b as u32))
}
#[wasm_bindgen]
pub fn rt_vec_f32(v: Vec<f32>) -> Vec<f32> {
    v.into_iter().map(|x| x * 2.0).collect()
}
#[wasm_bindgen]
pub fn rt_boxed_u32(v: Box<[u32]>) -> Box<[u32]> {
    v.iter().map(|x| x.wrapping_add(1)).collect()
}
#[wasm_bindgen]
pub fn rt_opt_u32(x: Option<u32>) -> Option<u32> {
    x.map(|v| v.wrapping_add(1))
}
#[wasm_bindgen]
pub fn rt_opt_string(s: Option<String>) -> Option<String> {
    s.map(|s| s.to_uppercase())
}
#[wasm_bindgen]
pub fn rt_result(x: i32) -> Result<i32, JsError> {
    if x < 0 {
        Err(JsError::new(&format!("negative: {}", x)))
    } else {
        Ok(x.wrapping_mul(2))
    }
}
#[wasm_bindgen]
pub fn rt_jsvalue(v: JsValue) -> JsValue {
    v
}
#[wasm_bindgen]
pub fn rt_jsvalue_is_string(v: &JsValue) -> bool {
    v.is_string()
}
