;; pattern3_retptr.wat -- class constructor that returns Result<Widget, JsValue>
;; THROUGH A RETPTR ("Pattern 3").
;;
;; Shape: `#[wasm_bindgen(constructor)] fn new(size: i32) -> Result<Widget, JsValue>`
;; compiled without multi-value.  The export is `widget_new(retptr, size) -> ()`;
;; it writes three little-endian i32 words at retptr+0,+4,+8:
;;     ok:  [ptr, 0, 0]        err: [0, err_idx, 1]
;; err_idx is a heap-slab index made by the imported intrinsic
;; `wbg.__wbindgen_string_new(ptr, len) -> idx` from the static message
;; "size must be >= 0" (17 bytes at address 1024).  The host reserves the
;; 16 bytes with `__wbindgen_add_to_stack_pointer(-16)` and gives them back
;; with `(16)` afterwards.
;;
;; (a) Era imitated: wasm-bindgen 0.2.87 .. 0.2.92, web target (import
;;     namespace `wbg`), like resvg-js 2.6.2 (0.2.92): class free of arity 1.
;; (b) How checked:
;;   - corpus/abi/resvg.json: `resvg_new (i32 i32 i32 i32 i32)->()` (arg 0 is
;;     the retptr), `__wbg_resvg_free (i32)->()`, malloc `(i32 i32)->i32`,
;;     realloc `(i32 x4)->i32`, free `(i32 x3)->()`,
;;     `__wbindgen_add_to_stack_pointer (i32)->(i32)`; import module `wbg`.
;;   - glue /tmp/realm-corpus-public/pkgs/resvg/package/index.mjs
;;     l.271-288: `retptr = wasm.__wbindgen_add_to_stack_pointer(-16)`,
;;     `wasm.resvg_new(retptr, ...)`, reads r0,r1,r2 at
;;     `getInt32Memory0()[retptr / 4 + 0..2]`, `if (r2) throw takeObject(r1)`,
;;     `this.__wbg_ptr = r0 >>> 0`, finally `add_to_stack_pointer(16)`;
;;     l.254 / l.262-265: `__wbg_resvg_free(ptr >>> 0)` / `__wbg_resvg_free(ptr)`
;;     (one argument); l.501-504 `imports.wbg.__wbindgen_string_new(arg0, arg1)`
;;     -> `addHeapObject(getStringFromWasm0(arg0, arg1))`.
;;   - docs/wasm-bindgen-abi.md s.1.7 (Result layout: payload, err, is_err).
;;
;; Widget layout: [borrow flag i32, size i32], 8 bytes, align 4.  Fixture
;; guards trap (`unreachable`) on a null ptr or a non-zero flag; free writes
;; flag = -2.  `live_bytes` = exported test counter (malloc'd minus freed).
;; Memory: 2 pages, `__stack_pointer` = 65536 growing down, heap from 65536 up.
(module
  (import "wbg" "__wbindgen_string_new" (func $string_new (param i32 i32) (result i32)))
  (memory $mem 2)
  (data (i32.const 1024) "size must be >= 0")

  (global $__stack_pointer (mut i32) (i32.const 65536))
  (global $heap_top (mut i32) (i32.const 65536))
  (global $live_bytes (mut i32) (i32.const 0))

  ;; ---- allocator (0.2.87+ arity: malloc 2, realloc 4, free 3) -------------
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

  (func $malloc (param $size i32) (param $align i32) (result i32)
    (local $ptr i32) (local $end i32)
    (if (i32.eqz (local.get $align)) (then (local.set $align (i32.const 1))))
    (local.set $ptr
      (i32.and
        (i32.add (global.get $heap_top) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (if (i32.lt_u (local.get $end) (local.get $ptr)) (then unreachable))
    (call $ensure_mem (local.get $end))
    (global.set $heap_top (local.get $end))
    (global.set $live_bytes (i32.add (global.get $live_bytes) (local.get $size)))
    (local.get $ptr))

  (func $free (param $ptr i32) (param $size i32) (param $align i32)
    (global.set $live_bytes (i32.sub (global.get $live_bytes) (local.get $size)))
    ;; give the bytes back only if this was the newest allocation
    (if (i32.and
          (i32.ge_u (local.get $ptr) (i32.const 65536))
          (i32.eq (i32.add (local.get $ptr) (local.get $size)) (global.get $heap_top)))
      (then (global.set $heap_top (local.get $ptr)))))

  (func $realloc (param $ptr i32) (param $old i32) (param $new i32) (param $align i32) (result i32)
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
    (local.set $dst (call $malloc (local.get $new) (local.get $align)))
    (call $memcpy (local.get $dst) (local.get $ptr)
      (select (local.get $old) (local.get $new) (i32.lt_u (local.get $old) (local.get $new))))
    (call $free (local.get $ptr) (local.get $old) (local.get $align))
    (local.get $dst))

  (func $add_to_stack_pointer (param $delta i32) (result i32)
    (global.set $__stack_pointer (i32.add (global.get $__stack_pointer) (local.get $delta)))
    (global.get $__stack_pointer))

  ;; ---- class Widget ---------------------------------------------------------
  (func $check (param $ptr i32)
    (if (i32.eqz (local.get $ptr)) (then unreachable))
    (if (i32.load (local.get $ptr)) (then unreachable)))

  (func $widget_new (param $retptr i32) (param $size i32)
    (local $p i32)
    (if (i32.lt_s (local.get $size) (i32.const 0))
      (then
        (i32.store offset=0 (local.get $retptr) (i32.const 0))
        (i32.store offset=4 (local.get $retptr)
          (call $string_new (i32.const 1024) (i32.const 17)))
        (i32.store offset=8 (local.get $retptr) (i32.const 1))
        (return)))
    (local.set $p (call $malloc (i32.const 8) (i32.const 4)))
    (i32.store offset=0 (local.get $p) (i32.const 0))
    (i32.store offset=4 (local.get $p) (local.get $size))
    (i32.store offset=0 (local.get $retptr) (local.get $p))
    (i32.store offset=4 (local.get $retptr) (i32.const 0))
    (i32.store offset=8 (local.get $retptr) (i32.const 0)))

  (func $widget_size (param $ptr i32) (result i32)
    (call $check (local.get $ptr))
    (i32.load offset=4 (local.get $ptr)))

  (func $widget_free (param $ptr i32)
    (call $check (local.get $ptr))
    (i32.store (local.get $ptr) (i32.const -2))
    (call $free (local.get $ptr) (i32.const 8) (i32.const 4)))

  (export "memory" (memory $mem))
  (export "__wbg_widget_free" (func $widget_free))
  (export "widget_new" (func $widget_new))
  (export "widget_size" (func $widget_size))
  (export "__wbindgen_malloc" (func $malloc))
  (export "__wbindgen_realloc" (func $realloc))
  (export "__wbindgen_add_to_stack_pointer" (func $add_to_stack_pointer))
  (export "__wbindgen_free" (func $free))
  (export "live_bytes" (global $live_bytes))
)
