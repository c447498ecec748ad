;; anonymised_exports.wat -- runtime exports under anonymised names,
;; wasm-bindgen <= 0.2.104 form `__wbindgen_export_N`.
;;
;; Shape: a stripped build (no name section) in which the CLI could not name
;; malloc/realloc/free/exn_store, so they are exported ONLY as
;;   __wbindgen_export_0  exn_store (i32)->()
;;   __wbindgen_export_1  malloc    (i32 i32)->i32
;;   __wbindgen_export_2  realloc   (i32 i32 i32 i32)->i32
;;   __wbindgen_export_3  free      (i32 i32 i32)->()
;; (the exact order of tiktoken 1.0.22).  `__wbindgen_add_to_stack_pointer`
;; keeps its name, as in tiktoken.  A host must find the roles by signature
;; (or from the glue text), never by assuming `__wbindgen_malloc` exists, and
;; must not take `__wbindgen_export_2` to be photon's stack-pointer global
;; (here it is a function).
;;   echo_len(ptr, len) -> i32   takes an owned String (host: export_1(len, 1)
;;     + bytes), returns len and frees it with export_3(ptr, len, 1).
;; This file deliberately uses NO $identifiers, so wat2wasm emits no `name`
;; custom section (the corpus _bg.wasm files carry none either).
;;
;; (a) Era imitated: wasm-bindgen 0.2.100 (bundler target), tiktoken 1.0.22.
;; (b) How checked:
;;   - corpus/abi/tiktoken.json exports in order: memory, __wbg_tiktoken_free,
;;     ..., `__wbindgen_export_0 (i32)->()`, `__wbindgen_export_1
;;     (i32 i32)->(i32)`, `__wbindgen_export_2 (i32 i32 i32 i32)->(i32)`,
;;     `__wbindgen_add_to_stack_pointer (i32)->(i32)`, `__wbindgen_export_3
;;     (i32 i32 i32)->()`; packages.json tiktoken custom_sections ["producers"].
;;   - glue /tmp/realm-corpus-public/pkgs/tiktoken/package/lite/tiktoken_bg.js
;;     l.46 handleError -> `wasm.__wbindgen_export_0(addHeapObject(e))`;
;;     l.193 `passStringToWasm0(tiktoken_bfe, wasm.__wbindgen_export_1,
;;     wasm.__wbindgen_export_2)`; l.214 `wasm.__wbindgen_export_3(r0, r1 * 1, 1)`.
;;   - docs/wasm-bindgen-abi.md s.1.2 ("When the name section is stripped").
;;
;; Extra test instrumentation (not wasm-bindgen): exported mutable globals
;; `live_bytes` (malloc'd minus freed) and `last_exn` (last index passed to
;; exn_store, 0 initially).  Memory: 2 pages, stack pointer global 0 = 65536
;; (grows down), heap from 65536 up.
(module
  (memory 2)
  (global (mut i32) (i32.const 65536))   ;; 0 __stack_pointer
  (global (mut i32) (i32.const 65536))   ;; 1 heap_top
  (global (mut i32) (i32.const 0))       ;; 2 live_bytes
  (global (mut i32) (i32.const 0))       ;; 3 last_exn

  ;; ---- allocator (0.2.87+ arity: malloc 2, realloc 4, free 3) -------------
  (func ;; 0 ensure_mem
    (param i32)
    (local i32)
    (local.set 1 (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get 0) (local.get 1))
      (then
        (if (i32.eq
              (memory.grow
                (i32.shr_u
                  (i32.add (i32.sub (local.get 0) (local.get 1)) (i32.const 65535))
                  (i32.const 16)))
              (i32.const -1))
          (then unreachable)))))

  (func ;; 1 memcpy
    (param i32) (param i32) (param i32)
    (local i32)
    (block
      (loop
        (br_if 1 (i32.ge_u (local.get 3) (local.get 2)))
        (i32.store8 (i32.add (local.get 0) (local.get 3))
                    (i32.load8_u (i32.add (local.get 1) (local.get 3))))
        (local.set 3 (i32.add (local.get 3) (i32.const 1)))
        (br 0))))

  (func ;; 2 malloc
    (param i32) (param i32) (result i32)
    (local i32) (local i32)
    (if (i32.eqz (local.get 1)) (then (local.set 1 (i32.const 1))))
    (local.set 2
      (i32.and
        (i32.add (global.get 1) (i32.sub (local.get 1) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get 1))))
    (local.set 3 (i32.add (local.get 2) (local.get 0)))
    (if (i32.lt_u (local.get 3) (local.get 2)) (then unreachable))
    (call 0 (local.get 3))
    (global.set 1 (local.get 3))
    (global.set 2 (i32.add (global.get 2) (local.get 0)))
    (local.get 2))

  (func ;; 3 free
    (param i32) (param i32) (param i32)
    (global.set 2 (i32.sub (global.get 2) (local.get 1)))
    ;; give the bytes back only if this was the newest allocation
    (if (i32.and
          (i32.ge_u (local.get 0) (i32.const 65536))
          (i32.eq (i32.add (local.get 0) (local.get 1)) (global.get 1)))
      (then (global.set 1 (local.get 0)))))

  (func ;; 4 realloc
    (param i32) (param i32) (param i32) (param i32) (result i32)
    (local i32)
    (if (i32.and
          (i32.ge_u (local.get 0) (i32.const 65536))
          (i32.eq (i32.add (local.get 0) (local.get 1)) (global.get 1)))
      (then
        (call 0 (i32.add (local.get 0) (local.get 2)))
        (global.set 1 (i32.add (local.get 0) (local.get 2)))
        (global.set 2
          (i32.add (i32.sub (global.get 2) (local.get 1)) (local.get 2)))
        (return (local.get 0))))
    (local.set 4 (call 2 (local.get 2) (local.get 3)))
    (call 1 (local.get 4) (local.get 0)
      (select (local.get 1) (local.get 2) (i32.lt_u (local.get 1) (local.get 2))))
    (call 3 (local.get 0) (local.get 1) (local.get 3))
    (local.get 4))

  (func ;; 5 add_to_stack_pointer
    (param i32) (result i32)
    (global.set 0 (i32.add (global.get 0) (local.get 0)))
    (global.get 0))

  (func ;; 6 exn_store(idx): Rust keeps the index until take_last_exception()
    (param i32)
    (global.set 3 (local.get 0)))

  (func ;; 7 echo_len(s: String) -> u32
    (param i32) (param i32) (result i32)
    (call 3 (local.get 0) (local.get 1) (i32.const 1))
    (local.get 1))

  (export "memory" (memory 0))
  (export "echo_len" (func 7))
  (export "__wbindgen_export_0" (func 6))
  (export "__wbindgen_export_1" (func 2))
  (export "__wbindgen_export_2" (func 4))
  (export "__wbindgen_add_to_stack_pointer" (func 5))
  (export "__wbindgen_export_3" (func 3))
  (export "live_bytes" (global 2))
  (export "last_exn" (global 3))
)
