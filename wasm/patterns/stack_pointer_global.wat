;; stack_pointer_global.wat -- retptr call where the stack pointer is an
;; EXPORTED MUTABLE GLOBAL (no __wbindgen_add_to_stack_pointer function).
;;
;; Shape: `pair(retptr, a, b) -> ()` writes two little-endian i32 words,
;; [a + b, a * b], at retptr+0 and retptr+4 (a Rust fn returning a 2-word
;; value, e.g. a (u32, u32)-like struct / Vec ptr+len, via the retptr
;; convention).  The host must, like photon's glue:
;;     sp = g.value - 16; g.value = sp; pair(sp, a, b); read; g.value += 16
;; where g = the exported global `__wbindgen_export_2` (init 65536).
;;
;; (a) Era imitated: wasm-bindgen 0.2.68 (before the CLI generated
;;     __wbindgen_add_to_stack_pointer), photon 0.3.11.
;; (b) How checked:
;;   - corpus/abi/photon.json: export `__wbindgen_export_2` global
;;     {type i32, mutable}; no `__wbindgen_add_to_stack_pointer` export;
;;     packages.json photon intrinsics.stack = "mutable i32 global (glue
;;     adjusts .value by -16/+16)".
;;   - glue /tmp/realm-corpus-public/pkgs/photon/package/photon_rs_bg.js
;;     l.1718-1730 (`to_raw_pixels`) and l.1750-1765 (`base64_to_vec`):
;;     `const retptr = wasm.__wbindgen_export_2.value - 16;
;;      wasm.__wbindgen_export_2.value = retptr; wasm.f(retptr, ...);
;;      r0 = getInt32Memory0()[retptr / 4 + 0]; r1 = ...[retptr / 4 + 1];
;;      ... finally { wasm.__wbindgen_export_2.value += 16; }`.
;;   - docs/wasm-bindgen-abi.md s.1.7 (photon note; the CLI's stack-pointer
;;     detection = "mutable i32 global with a nonzero initial value").
;;
;; Like compiled Rust, `pair` itself takes a 16-byte frame below the current
;; stack pointer while it runs and restores it on return.  Fixture guard
;; (not in real code): `pair` traps (`unreachable`) unless
;; sp <= retptr <= 65536 - 8, i.e. unless the host really moved the global
;; down before passing the reserved area; passing the old sp, or sp - 16
;; without moving the global, traps.  This is the only exported global.
(module
  (memory $mem 2)
  (global $__stack_pointer (mut i32) (i32.const 65536))

  (func $pair (param $retptr i32) (param $a i32) (param $b i32)
    (local $frame i32)
    (if (i32.or (i32.lt_u (local.get $retptr) (global.get $__stack_pointer))
                (i32.gt_u (local.get $retptr) (i32.const 65528)))
      (then unreachable))
    ;; prologue: own frame
    (local.set $frame (i32.sub (global.get $__stack_pointer) (i32.const 16)))
    (global.set $__stack_pointer (local.get $frame))
    (i32.store offset=0 (local.get $frame) (i32.add (local.get $a) (local.get $b)))
    (i32.store offset=4 (local.get $frame) (i32.mul (local.get $a) (local.get $b)))
    ;; move the result to the caller's slot
    (i32.store offset=0 (local.get $retptr) (i32.load offset=0 (local.get $frame)))
    (i32.store offset=4 (local.get $retptr) (i32.load offset=4 (local.get $frame)))
    ;; epilogue
    (global.set $__stack_pointer (i32.add (local.get $frame) (i32.const 16))))

  (export "memory" (memory $mem))
  (export "pair" (func $pair))
  (export "__wbindgen_export_2" (global $__stack_pointer))
)
