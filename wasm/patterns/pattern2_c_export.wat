;; pattern2_c_export.wat -- plain C-ABI exports, no wasm-bindgen at all.
;;
;; Shape ("Pattern 2" in the Realm project): a Rust cdylib with
;;     #[no_mangle] pub extern "C" fn thing_c_new() -> *mut Thing
;;     #[no_mangle] pub extern "C" fn thing_c_value(p: *const Thing) -> i32
;;     #[no_mangle] pub extern "C" fn thing_c_free(p: *mut Thing)  // Box::from_raw, null = no-op
;; The module has no imports and no wasm-bindgen runtime exports: no
;; __wbindgen_malloc/free, no add_to_stack_pointer, no __wbg_*_free.  The
;; host must treat the returned i32 as an opaque handle and free it through
;; the module's own `thing_c_free`.
;;
;; (a) Era imitated: none of wasm-bindgen's; raw `cargo build --target
;;     wasm32-unknown-unknown` cdylib output with hand-written extern "C" fns.
;; (b) How checked: docs/wasm-bindgen-abi.md s.1.7 ("Raw modules do not have
;;     this export [add_to_stack_pointer]") and s.1.12 (raw modules export
;;     memory, their functions, `__data_end`, `__heap_base`; `__stack_pointer`
;;     is not exported).  `__data_end`/`__heap_base` are deliberately left
;;     out here so the export list is just memory + the three functions
;;     (+ the `live_bytes` test counter).
;;
;; Thing layout: one i32 `value` (4 bytes, align 4), initialised to 42.
;; The allocator is internal (not exported).  `live_bytes` (exported mutable
;; i32 global, test instrumentation only) = bytes allocated minus freed.
(module
  (memory $mem 2)

  (global $heap_top (mut i32) (i32.const 65536))
  (global $live_bytes (mut i32) (i32.const 0))

  (func $alloc (param $size i32) (result i32)
    (local $ptr i32) (local $end i32) (local $have i32)
    (local.set $ptr (i32.and (i32.add (global.get $heap_top) (i32.const 3)) (i32.const -4)))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))))
    (global.set $heap_top (local.get $end))
    (global.set $live_bytes (i32.add (global.get $live_bytes) (local.get $size)))
    (local.get $ptr))

  (func $dealloc (param $ptr i32) (param $size i32)
    (global.set $live_bytes (i32.sub (global.get $live_bytes) (local.get $size)))
    (if (i32.eq (i32.add (local.get $ptr) (local.get $size)) (global.get $heap_top))
      (then (global.set $heap_top (local.get $ptr)))))

  (func $thing_c_new (result i32)
    (local $p i32)
    (local.set $p (call $alloc (i32.const 4)))
    (i32.store (local.get $p) (i32.const 42))
    (local.get $p))

  (func $thing_c_value (param $p i32) (result i32)
    (if (i32.eqz (local.get $p)) (then unreachable))
    (i32.load (local.get $p)))

  (func $thing_c_free (param $p i32)
    (if (i32.eqz (local.get $p)) (then (return)))   ;; null is a no-op
    (call $dealloc (local.get $p) (i32.const 4)))

  (export "memory" (memory $mem))
  (export "thing_c_new" (func $thing_c_new))
  (export "thing_c_free" (func $thing_c_free))
  (export "thing_c_value" (func $thing_c_value))
  (export "live_bytes" (global $live_bytes))
)
