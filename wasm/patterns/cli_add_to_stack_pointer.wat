;; cli_add_to_stack_pointer.wat -- free function returning Result<String, JsValue>
;; through a retptr reserved with the CLI-generated
;; `__wbindgen_add_to_stack_pointer`.
;;
;; Shape: `#[wasm_bindgen] pub fn greet(name: String) -> Result<String, JsValue>`
;; without multi-value.  Export `greet(retptr, name_ptr, name_len) -> ()`
;; writes FOUR little-endian i32 words at retptr+0,+4,+8,+12:
;;     ok:  [out_ptr, out_len, 0, 0]     err: [0, 0, err_idx, 1]
;; (ptr/len are zeroed on error).  The argument is passed in the usual way:
;; host mallocs `__wbindgen_malloc(len, 1)`, writes the UTF-8 bytes; greet
;; takes ownership and frees it with `free(name_ptr, name_len, 1)`.  On
;; success the output "Hello, <name>!" (len = name_len + 8) is malloc'd with
;; align 1 and the HOST must free it with `__wbindgen_free(out_ptr, out_len, 1)`.
;; Error (name_len == 0): `wbg.__wbindgen_string_new` on the static message
;; "name must not be empty" (22 bytes), index written in word 2.
;;
;; (a) Era imitated: wasm-bindgen 0.2.87 .. 0.2.92, web target (`wbg`), like
;;     message_parser_wasm 0.13.0 (0.2.87) and resvg-js 2.6.2 (0.2.92).
;; (b) How checked:
;;   - corpus/abi/message_parser.json: `punycode_encode_host (i32 i32 i32)->()`
;;     = (retptr, ptr, len), malloc `(i32 i32)->i32`, free `(i32 x3)->()`,
;;     `__wbindgen_add_to_stack_pointer (i32)->(i32)`, imports module `wbg`
;;     incl. `__wbindgen_string_new (i32 i32)->(i32)`.
;;   - glue /tmp/realm-corpus-public/pkgs/message_parser/package/message_parser_wasm.js
;;     l.251-267: `add_to_stack_pointer(-16)`, passStringToWasm0(host, malloc,
;;     realloc), `punycode_encode_host(retptr, ptr0, len0)`, r0/r1 at
;;     `retptr / 4 + 0..1`; finally `add_to_stack_pointer(16)` THEN
;;     `__wbindgen_free(deferred2_0, deferred2_1, 1)`.  l.132-140
;;     passStringToWasm0 w/o realloc: `malloc(buf.length, 1)`.
;;   - 4-word Result layout [ptr, len, err, is_err]: tiktoken 1.0.22 glue
;;     package/lite/tiktoken_bg.js l.227-246 (`encode`: r0..r3, `if (r3) throw
;;     takeObject(r2)`, then free(r0, r1 * 4, 4)); docs/wasm-bindgen-abi.md s.1.7
;;     (REF/0.2.92/result-string.js: ptr/len zeroed on error).
;;   - resvg index.mjs l.501-504: `__wbindgen_string_new` -> addHeapObject(string).
;;
;; `live_bytes` = exported test counter (malloc'd minus freed bytes).
;; Memory: 2 pages, `__stack_pointer` = 65536 growing down, heap from 65536 up.
(module
  (import "wbg" "__wbindgen_string_new" (func $string_new (param i32 i32) (result i32)))
  (memory $mem 2)
  (data (i32.const 1024) "Hello, ")
  (data (i32.const 1040) "name must not be empty")

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

  ;; ---- greet ----------------------------------------------------------------
  (func $greet (param $retptr i32) (param $name_ptr i32) (param $name_len i32)
    (local $out i32) (local $out_len i32)
    (if (i32.eqz (local.get $name_len))
      (then
        (call $free (local.get $name_ptr) (local.get $name_len) (i32.const 1))
        (i32.store offset=0 (local.get $retptr) (i32.const 0))
        (i32.store offset=4 (local.get $retptr) (i32.const 0))
        (i32.store offset=8 (local.get $retptr)
          (call $string_new (i32.const 1040) (i32.const 22)))
        (i32.store offset=12 (local.get $retptr) (i32.const 1))
        (return)))
    (local.set $out_len (i32.add (local.get $name_len) (i32.const 8)))
    (local.set $out (call $malloc (local.get $out_len) (i32.const 1)))
    (call $memcpy (local.get $out) (i32.const 1024) (i32.const 7))
    (call $memcpy (i32.add (local.get $out) (i32.const 7)) (local.get $name_ptr) (local.get $name_len))
    (i32.store8 (i32.add (local.get $out) (i32.sub (local.get $out_len) (i32.const 1))) (i32.const 33))
    ;; drop the owned `name: String`
    (call $free (local.get $name_ptr) (local.get $name_len) (i32.const 1))
    (i32.store offset=0 (local.get $retptr) (local.get $out))
    (i32.store offset=4 (local.get $retptr) (local.get $out_len))
    (i32.store offset=8 (local.get $retptr) (i32.const 0))
    (i32.store offset=12 (local.get $retptr) (i32.const 0)))

  (export "memory" (memory $mem))
  (export "greet" (func $greet))
  (export "__wbindgen_malloc" (func $malloc))
  (export "__wbindgen_realloc" (func $realloc))
  (export "__wbindgen_add_to_stack_pointer" (func $add_to_stack_pointer))
  (export "__wbindgen_free" (func $free))
  (export "live_bytes" (global $live_bytes))
)
