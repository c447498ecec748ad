;; malloc_arity2.wat -- the wasm-bindgen >= 0.2.87 allocator ABI (trailing align)
;; with a function that consumes an owned String argument.
;;
;; Shape:
;;   __wbindgen_malloc(size, align) -> ptr          (glue passes align 1 for strings)
;;   __wbindgen_realloc(ptr, old, new, align) -> ptr
;;   __wbindgen_free(ptr, size, align)
;;   __wbindgen_add_to_stack_pointer(delta) -> new_sp  (over `__stack_pointer`)
;;   strlen_utf8(ptr, len) -> i32   takes `s: String` (host: malloc(len, 1) +
;;     bytes), returns the number of chars (code points) and frees the
;;     argument with free(ptr, len, 1).
;; Twin of malloc_arity1.wat: same function, one more argument on each
;; allocator entry point.
;;
;; (a) Era imitated: wasm-bindgen 0.2.87 (web target), like
;;     @deltachat/message_parser_wasm 0.13.0.  No imports are needed here.
;; (b) How checked:
;;   - corpus/abi/message_parser.json exports: `is_puny (i32 i32)->(i32)` (a
;;     String-consuming fn), `__wbindgen_malloc (i32 i32)->(i32)`,
;;     `__wbindgen_realloc (i32 i32 i32 i32)->(i32)`,
;;     `__wbindgen_add_to_stack_pointer (i32)->(i32)`,
;;     `__wbindgen_free (i32 i32 i32)->()`.
;;   - glue /tmp/realm-corpus-public/pkgs/message_parser/package/message_parser_wasm.js
;;     l.132-140 passStringToWasm0: `malloc(buf.length, 1)` / `malloc(len, 1)`;
;;     l.299-304 `is_puny(ptr0, len0)`; l.266 `__wbindgen_free(deferred2_0,
;;     deferred2_1, 1)`.  Quirk of exactly 0.2.87: l.219 (get_first_emoji) calls
;;     `__wbindgen_free(r0, r1 * 1)` with only two args (JS pads align with
;;     undefined -> 0; fixed in 0.2.88, #3639).  A Python host must always
;;     pass all 3 args (align 1 for strings); this fixture's free ignores align.
;;   - docs/wasm-bindgen-abi.md s.1.1 (0.2.87 row), s.1.5.
;;
;; `live_bytes` = exported test counter (malloc'd minus freed bytes).
;; Memory: 2 pages, `__stack_pointer` = 65536 growing down, heap from 65536 up.
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
    (call $free (local.get $ptr) (local.get $len) (i32.const 1))
    (local.get $n))

  (export "memory" (memory $mem))
  (export "strlen_utf8" (func $strlen_utf8))
  (export "__wbindgen_malloc" (func $malloc))
  (export "__wbindgen_realloc" (func $realloc))
  (export "__wbindgen_add_to_stack_pointer" (func $add_to_stack_pointer))
  (export "__wbindgen_free" (func $free))
  (export "live_bytes" (global $live_bytes))
)
