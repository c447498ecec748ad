;; multivalue_result.wat -- Result / String returns as real wasm MULTI-VALUE
;; results (no retptr, no stack-pointer traffic).
;;
;; Shape (wasm-bindgen's "multivalue shim" exports):
;;   version() -> (ptr, len)               String; host frees free(ptr, len, 1)
;;   checked_div(a, b) -> (val, err, is_err)   Result<i32, JsValue>
;;       b == 0 -> (0, idx("division by zero"), 1);
;;       a == i32::MIN && b == -1 -> (0, idx("overflow"), 1);
;;       else (a / b truncated, 0, 0)
;;   thing_new(v) -> (ptr, err, is_err)    Result<Thing, JsValue> constructor,
;;       Pattern 3's multi-value twin: v < 0 -> (0, idx("value must be >= 0"), 1)
;;   thing_value(ptr) -> i32,  __wbg_thing_free(ptr, allow_delayed)
;;   __wbindgen_malloc (i32 i32)->i32, __wbindgen_realloc (i32 x4)->i32,
;;   __wbindgen_free (i32 x3)->()
;; Error values come from ONE import in module `./thing_bg.js`:
;;   __wbindgen_cast_0000000000000001 (ptr, len) -> i32
;; which is what `__wbindgen_string_new` became from 0.2.102 on (a String ->
;; JsValue cast; the glue body is `getStringFromWasm0(arg0, arg1)`).  It
;; returns an i32 heap-slab index here: this fixture is multi-value WITHOUT
;; reference-types (the features are independent, abi doc s.1.1), so it does
;; not mix in the externref table that css_inline also has.
;;
;; (a) Era imitated: wasm-bindgen >= 0.2.107 with +multivalue, css-inline-wasm
;;     0.21.2 (0.2.127): import module `./<name>_bg.js`, no
;;     __wbindgen_add_to_stack_pointer export, class free arity 2.
;; (b) How checked:
;;   - corpus/abi/css_inline.json exports: `version ()->(i32 i32)`,
;;     `inline (i32 i32 externref)->(i32 i32 i32 i32)`, malloc/realloc/free
;;     2/4/3; import `./index_bg.js` `__wbindgen_cast_0000000000000001
;;     (i32 i32)->(externref)` (externref there, i32 here, see above).
;;   - glue /tmp/realm-corpus-public/pkgs/css_inline/package/index.js
;;     l.75-86 `version()`: `ret = wasm.version(); getStringFromWasm0(ret[0],
;;     ret[1])`, finally `__wbindgen_free(deferred1_0, deferred1_1, 1)`;
;;     l.31-50 `inline()`: `if (ret[3]) { ptr2 = 0; len2 = 0; throw
;;     takeFromExternrefTable0(ret[2]) }`; l.183-186 cast_..01 ->
;;     getStringFromWasm0.
;;   - docs/wasm-bindgen-abi.md s.1.7 (multi-value; "a Result constructor
;;     returns (ptr, err, is_err) directly"), s.1.10.
;;
;; ENGINE NOTE: wasmer's singlepass compiler cannot compile multi-value
;; functions; this fixture is EXPECTED TO BE REFUSED by wasmer singlepass
;; (it compiles and runs on wasmer cranelift and on wasmtime).
;;
;; Thing layout: [borrow flag i32, value i32]; guards trap on null / flag != 0;
;; free writes flag = -2.  `live_bytes` = exported test counter.
;; Memory: 2 pages, heap from 65536 up (internal __stack_pointer not exported).
(module
  (import "./thing_bg.js" "__wbindgen_cast_0000000000000001"
    (func $string_new (param i32 i32) (result i32)))
  (memory $mem 2)
  (data (i32.const 1024) "0.1.0")
  (data (i32.const 1040) "division by zero")
  (data (i32.const 1072) "overflow")
  (data (i32.const 1088) "value must be >= 0")

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

  ;; ---- free functions -------------------------------------------------------
  (func $version (result i32 i32)
    (local $p i32)
    (local.set $p (call $malloc (i32.const 5) (i32.const 1)))
    (call $memcpy (local.get $p) (i32.const 1024) (i32.const 5))
    (local.get $p) (i32.const 5))

  (func $checked_div (param $a i32) (param $b i32) (result i32 i32 i32)
    (if (i32.eqz (local.get $b))
      (then
        (return (i32.const 0)
                (call $string_new (i32.const 1040) (i32.const 16))
                (i32.const 1))))
    (if (i32.and (i32.eq (local.get $a) (i32.const 0x80000000))
                 (i32.eq (local.get $b) (i32.const -1)))
      (then
        (return (i32.const 0)
                (call $string_new (i32.const 1072) (i32.const 8))
                (i32.const 1))))
    (i32.div_s (local.get $a) (local.get $b)) (i32.const 0) (i32.const 0))

  ;; ---- class Thing ----------------------------------------------------------
  (func $check (param $ptr i32)
    (if (i32.eqz (local.get $ptr)) (then unreachable))
    (if (i32.load (local.get $ptr)) (then unreachable)))

  (func $thing_new (param $v i32) (result i32 i32 i32)
    (local $p i32)
    (if (i32.lt_s (local.get $v) (i32.const 0))
      (then
        (return (i32.const 0)
                (call $string_new (i32.const 1088) (i32.const 18))
                (i32.const 1))))
    (local.set $p (call $malloc (i32.const 8) (i32.const 4)))
    (i32.store offset=0 (local.get $p) (i32.const 0))
    (i32.store offset=4 (local.get $p) (local.get $v))
    (local.get $p) (i32.const 0) (i32.const 0))

  (func $thing_value (param $ptr i32) (result i32)
    (call $check (local.get $ptr))
    (i32.load offset=4 (local.get $ptr)))

  (func $thing_free (param $ptr i32) (param $allow_delayed i32)
    (call $check (local.get $ptr))
    (i32.store (local.get $ptr) (i32.const -2))
    (call $free (local.get $ptr) (i32.const 8) (i32.const 4)))

  (export "memory" (memory $mem))
  (export "__wbg_thing_free" (func $thing_free))
  (export "thing_new" (func $thing_new))
  (export "thing_value" (func $thing_value))
  (export "checked_div" (func $checked_div))
  (export "version" (func $version))
  (export "__wbindgen_malloc" (func $malloc))
  (export "__wbindgen_realloc" (func $realloc))
  (export "__wbindgen_free" (func $free))
  (export "live_bytes" (global $live_bytes))
)
