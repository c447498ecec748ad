;; malloc_arity1.wat -- the wasm-bindgen <= 0.2.86 allocator ABI (no align args)
;; and the stack pointer exported as a mutable global named `__wbindgen_export_2`.
;;
;; Shape:
;;   __wbindgen_malloc(size) -> ptr            (align_of::<usize>() = 4 inside)
;;   __wbindgen_realloc(ptr, old, new) -> ptr
;;   __wbindgen_free(ptr, size)
;;   __wbg_thing_free(ptr)                      (class free, one argument)
;;   global `__wbindgen_export_2` (mut i32, init 65536) = Rust's __stack_pointer;
;;   there is NO __wbindgen_add_to_stack_pointer function in this era/module.
;; A host that calls malloc/free with the 0.2.87+ arity gets a signature
;; mismatch error from the engine; it must read the arity from the export type.
;; `strlen_utf8(ptr, len) -> i32` takes an owned Rust `String` (host passes
;; `malloc(len)` + bytes), returns its length in chars (code points = bytes
;; that are not 10xxxxxx continuation bytes) and frees it with free(ptr, len).
;;
;; (a) Era imitated: wasm-bindgen 0.2.68 (bundler target), like @silvia-odwyer
;;     photon 0.3.11.  (No imports here, so no import namespace is needed;
;;     photon's own imports come from `./photon_rs_bg.js`.)
;; (b) How checked:
;;   - corpus/abi/photon.json exports: `__wbindgen_malloc (i32)->(i32)`,
;;     `__wbindgen_realloc (i32 i32 i32)->(i32)`, `__wbindgen_export_2` global
;;     {i32, mutable}, `__wbindgen_free (i32 i32)->()`, `__wbg_photonimage_free
;;     (i32)->()`, `photonimage_new (i32 i32 i32 i32)->(i32)` (returns pointer).
;;   - glue /tmp/realm-corpus-public/pkgs/photon/package/photon_rs_bg.js
;;     l.124-160 passStringToWasm0: `malloc(len)`, `realloc(ptr, len, len = offset
;;     + arg.length * 3)` (no align, no final shrink: pre-0.2.91);
;;     l.1738-1743 `base64_to_image(ptr0, len0)` consumes a passed string;
;;     l.1750-1765 `retptr = wasm.__wbindgen_export_2.value - 16;
;;     wasm.__wbindgen_export_2.value = retptr; ... wasm.__wbindgen_free(r0, r1 * 1)
;;     ... finally wasm.__wbindgen_export_2.value += 16`;
;;     l.3478-3483 `__wbg_error_...`: `wasm.__wbindgen_free(arg0, arg1)` (2 args).
;;   - docs/wasm-bindgen-abi.md s.1.1 (<=0.2.86 row) and s.1.7 (photon note).
;;
;; Thing layout: [borrow flag i32, value i32], 8 bytes.  Fixture guards trap
;; on null / non-zero flag; free writes flag = -2.  `live_bytes` = exported
;; test counter.  NOTE for hosts: this module exports TWO mutable i32 globals
;; (`__wbindgen_export_2` = stack pointer, init 65536; `live_bytes`, init 0);
;; pick the stack pointer by name, or by "mutable i32 with nonzero init".
(module
  (memory $mem 2)

  (global $__stack_pointer (mut i32) (i32.const 65536))
  (global $heap_top (mut i32) (i32.const 65536))
  (global $live_bytes (mut i32) (i32.const 0))

  ;; ---- allocator (<= 0.2.86 arity: malloc 1, realloc 3, free 2; align 4) ---
  (func $ensure_mem (param $end i32)
    (local $have i32)
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow
                (i32.shr_u
                  (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 65535))
                  (i32.const 16)))
              (i32.const -1))
          (then unreachable)))))

  (func $memcpy (param $dst i32) (param $src i32) (param $n i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 (i32.add (local.get $dst) (local.get $i))
                    (i32.load8_u (i32.add (local.get $src) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  (func $malloc (param $size i32) (result i32)
    (local $ptr i32) (local $end i32)
    (local.set $ptr (i32.and (i32.add (global.get $heap_top) (i32.const 3)) (i32.const -4)))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (if (i32.lt_u (local.get $end) (local.get $ptr)) (then unreachable))
    (call $ensure_mem (local.get $end))
    (global.set $heap_top (local.get $end))
    (global.set $live_bytes (i32.add (global.get $live_bytes) (local.get $size)))
    (local.get $ptr))

  (func $free (param $ptr i32) (param $size i32)
    (global.set $live_bytes (i32.sub (global.get $live_bytes) (local.get $size)))
    (if (i32.and
          (i32.ge_u (local.get $ptr) (i32.const 65536))
          (i32.eq (i32.add (local.get $ptr) (local.get $size)) (global.get $heap_top)))
      (then (global.set $heap_top (local.get $ptr)))))

  (func $realloc (param $ptr i32) (param $old i32) (param $new i32) (result i32)
    (local $dst i32)
    (if (i32.and
          (i32.ge_u (local.get $ptr) (i32.const 65536))
          (i32.eq (i32.add (local.get $ptr) (local.get $old)) (global.get $heap_top)))
      (then
        (call $ensure_mem (i32.add (local.get $ptr) (local.get $new)))
        (global.set $heap_top (i32.add (local.get $ptr) (local.get $new)))
        (global.set $live_bytes
          (i32.add (i32.sub (global.get $live_bytes) (local.get $old)) (local.get $new)))
        (return (local.get $ptr))))
    (local.set $dst (call $malloc (local.get $new)))
    (call $memcpy (local.get $dst) (local.get $ptr)
      (select (local.get $old) (local.get $new) (i32.lt_u (local.get $old) (local.get $new))))
    (call $free (local.get $ptr) (local.get $old))
    (local.get $dst))

  ;; ---- class Thing ----------------------------------------------------------
  (func $check (param $ptr i32)
    (if (i32.eqz (local.get $ptr)) (then unreachable))
    (if (i32.load (local.get $ptr)) (then unreachable)))

  (func $thing_new (param $v i32) (result i32)
    (local $p i32)
    (local.set $p (call $malloc (i32.const 8)))
    (i32.store offset=0 (local.get $p) (i32.const 0))
    (i32.store offset=4 (local.get $p) (local.get $v))
    (local.get $p))

  (func $thing_value (param $ptr i32) (result i32)
    (call $check (local.get $ptr))
    (i32.load offset=4 (local.get $ptr)))

  (func $thing_free (param $ptr i32)
    (call $check (local.get $ptr))
    (i32.store (local.get $ptr) (i32.const -2))
    (call $free (local.get $ptr) (i32.const 8)))

  ;; ---- fn strlen_utf8(s: String) -> u32 -------------------------------------
  (func $strlen_utf8 (param $ptr i32) (param $len i32) (result i32)
    (local $i i32) (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (if (i32.ne (i32.and (i32.load8_u (i32.add (local.get $ptr) (local.get $i))) (i32.const 0xC0))
                    (i32.const 0x80))
          (then (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $free (local.get $ptr) (local.get $len))
    (local.get $n))

  (export "memory" (memory $mem))
  (export "__wbg_thing_free" (func $thing_free))
  (export "thing_new" (func $thing_new))
  (export "thing_value" (func $thing_value))
  (export "strlen_utf8" (func $strlen_utf8))
  (export "__wbindgen_malloc" (func $malloc))
  (export "__wbindgen_realloc" (func $realloc))
  (export "__wbindgen_export_2" (global $__stack_pointer))
  (export "__wbindgen_free" (func $free))
  (export "live_bytes" (global $live_bytes))
)
