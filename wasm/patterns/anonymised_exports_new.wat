;; anonymised_exports_new.wat -- runtime exports under anonymised names,
;; wasm-bindgen >= 0.2.105 form `__wbindgen_export`, `__wbindgen_exportN`.
;;
;; Shape: as anonymised_exports.wat, but with the 0.2.105+ numbering (first
;; one has no suffix, then 2, 3, ... with no underscore) and rollup's order:
;;   __wbindgen_export    free    (i32 i32 i32)->()
;;   __wbindgen_export2   malloc  (i32 i32)->i32
;;   __wbindgen_export3   realloc (i32 i32 i32 i32)->i32
;; and no exn_store at all.  `__wbindgen_add_to_stack_pointer` keeps its name.
;; A host that maps `__wbindgen_export_N`/`exportN` positionally (e.g. "1 is
;; malloc") gets free instead; roles must come from signatures.
;;   echo_len(ptr, len) -> i32   takes an owned String (host: export2(len, 1)
;;     + bytes), returns len and frees it with __wbindgen_export(ptr, len, 1).
;; No $identifiers are used, so wat2wasm emits no `name` section.
;;
;; (a) Era imitated: wasm-bindgen 0.2.105 .. 0.2.130, @rollup/wasm-node 4.68.4
;;     (0.2.130).  Deliberately NOT imitated here (other shapes): rollup's
;;     externref table `__wbindgen_externrefs`, `__wbindgen_start`,
;;     `__abort_handler`/`__instance_terminated` globals; no imports needed.
;; (b) How checked:
;;   - corpus/abi/rollup.json exports: `__wbindgen_export (i32 i32 i32)->()`,
;;     `__wbindgen_export2 (i32 i32)->(i32)`, `__wbindgen_export3
;;     (i32 i32 i32 i32)->(i32)`, `__wbindgen_add_to_stack_pointer (i32)->(i32)`.
;;   - glue /tmp/realm-corpus-public/pkgs/rollup/package/dist/wasm-node/bindings_wasm.js
;;     l.16 `passStringToWasm0(code, wasm.__wbindgen_export2,
;;     wasm.__wbindgen_export3)`; l.22 `wasm.__wbindgen_export(r0, r1 * 1, 1)`;
;;     l.11 `__wbindgen_add_to_stack_pointer(-16) >>> 0`.
;;   - docs/wasm-bindgen-abi.md s.1.1 (0.2.105 row), s.1.2.
;;
;; Extra test instrumentation: exported mutable global `live_bytes`.
;; Memory: 2 pages, stack pointer global 0 = 65536, heap from 65536 up.
(module
  (memory 2)
  (global (mut i32) (i32.const 65536))   ;; 0 __stack_pointer
  (global (mut i32) (i32.const 65536))   ;; 1 heap_top
  (global (mut i32) (i32.const 0))       ;; 2 live_bytes

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

  (func ;; 6 echo_len(s: String) -> u32
    (param i32) (param i32) (result i32)
    (call 3 (local.get 0) (local.get 1) (i32.const 1))
    (local.get 1))

  (export "memory" (memory 0))
  (export "echo_len" (func 6))
  (export "__wbindgen_export" (func 3))
  (export "__wbindgen_export2" (func 2))
  (export "__wbindgen_export3" (func 4))
  (export "__wbindgen_add_to_stack_pointer" (func 5))
  (export "live_bytes" (global 2))
)
