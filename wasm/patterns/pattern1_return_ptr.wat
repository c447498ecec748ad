;; pattern1_return_ptr.wat -- class whose constructor RETURNS THE OBJECT POINTER.
;;
;; Shape: `#[wasm_bindgen] struct Counter` with `#[wasm_bindgen(constructor)]
;; fn new(start: i32) -> Counter`.  The export returns the Rust pointer as a
;; plain i32 result (no retptr, no Result); the host wraps it as the handle
;; and later calls `__wbg_counter_free(ptr, allow_delayed)`.
;;
;; (a) Era imitated: wasm-bindgen 0.2.93 .. 0.2.100 (heap-slab, no multi-value),
;;     like tiktoken 1.0.22 (0.2.100): allocator arity 2/4/3, class free
;;     arity 2 (ptr, allow_delayed), `__wbindgen_add_to_stack_pointer` export.
;; (b) How checked:
;;   - corpus/abi/tiktoken.json: `tiktoken_new (i32 i32 i32 i32 i32)->(i32)`,
;;     `__wbg_tiktoken_free (i32 i32)->()`, `__wbindgen_add_to_stack_pointer
;;     (i32)->(i32)`, malloc `(i32 i32)->i32`, realloc `(i32 x4)->i32`,
;;     free `(i32 x3)->()` (exported there as __wbindgen_export_1/2/3; this
;;     fixture uses the un-anonymised names; see anonymised_exports.wat).
;;   - glue /tmp/realm-corpus-public/pkgs/tiktoken/package/lite/tiktoken_bg.js
;;     l.170 FinalizationRegistry -> `__wbg_tiktoken_free(ptr >>> 0, 1)`;
;;     l.181-185 explicit free() -> `__wbg_tiktoken_free(ptr, 0)`;
;;     l.191-199 constructor: `ret = wasm.tiktoken_new(...)`,
;;     `this.__wbg_ptr = ret >>> 0` (pointer returned directly).
;;   - wasm-bindgen crates/backend/src/codegen.rs (struct free fn): with
;;     allow_delayed != 0 only JS's Rc is dropped, with 0 ownership is claimed
;;     (panics if borrowed); both assert the pointer is not null.
;;
;; Object layout (simplified, 8 bytes, align 4): [borrow flag i32 = 0, value i32].
;; No Rc is modelled, so allow_delayed is accepted and ignored.  Fixture
;; guards (traps via `unreachable`): null ptr, borrow flag != 0.  Free writes
;; flag = -2 so a later method call / double free on that object traps
;; (best effort: a later malloc may reuse the bytes).
;;
;; Memory: 2 pages.  [0, 65536) = data + stack (`__stack_pointer` starts at
;; 65536, grows down); heap is a bump allocator from 65536 upward.
;; `live_bytes` (exported mutable i32 global, test instrumentation, NOT a
;; wasm-bindgen export) = bytes malloc'd minus bytes freed.
(module
  (memory $mem 2)

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

  ;; ---- class Counter --------------------------------------------------------
  (func $check (param $ptr i32)
    (if (i32.eqz (local.get $ptr)) (then unreachable))            ;; assert_not_null
    (if (i32.load (local.get $ptr)) (then unreachable)))          ;; borrowed or freed

  (func $counter_new (param $start i32) (result i32)
    (local $p i32)
    (local.set $p (call $malloc (i32.const 8) (i32.const 4)))
    (i32.store offset=0 (local.get $p) (i32.const 0))
    (i32.store offset=4 (local.get $p) (local.get $start))
    (local.get $p))

  (func $counter_get (param $ptr i32) (result i32)
    (call $check (local.get $ptr))
    (i32.load offset=4 (local.get $ptr)))

  (func $counter_incr (param $ptr i32)
    (call $check (local.get $ptr))
    (i32.store (local.get $ptr) (i32.const -1))                   ;; borrow_mut
    (i32.store offset=4 (local.get $ptr)
      (i32.add (i32.load offset=4 (local.get $ptr)) (i32.const 1)))
    (i32.store (local.get $ptr) (i32.const 0)))                   ;; release

  (func $counter_free (param $ptr i32) (param $allow_delayed i32)
    (call $check (local.get $ptr))
    (i32.store (local.get $ptr) (i32.const -2))                   ;; poison
    (call $free (local.get $ptr) (i32.const 8) (i32.const 4)))

  (export "memory" (memory $mem))
  (export "__wbg_counter_free" (func $counter_free))
  (export "counter_new" (func $counter_new))
  (export "counter_get" (func $counter_get))
  (export "counter_incr" (func $counter_incr))
  (export "__wbindgen_malloc" (func $malloc))
  (export "__wbindgen_realloc" (func $realloc))
  (export "__wbindgen_add_to_stack_pointer" (func $add_to_stack_pointer))
  (export "__wbindgen_free" (func $free))
  (export "live_bytes" (global $live_bytes))
)
