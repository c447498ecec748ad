;; Externref everywhere wasm-bindgen >= 0.2.94 puts it, and a closure taking a JS value.
;;
;; JS values cross as externref: imports take and return them, exports take and return
;; them, and the guest keeps them in an exported externref table (`__wbindgen_externrefs`)
;; with table.get/set/grow/size/fill/copy; locals, a block type, a typed select,
;; ref.null/ref.is_null and an immutable null global hold them too. A closure is a
;; (a, b) pair the host calls back through the funcref table `__wbindgen_export_2`:
;; slot 0 is the invoke shim (a, b, x: externref) -> externref, slot 1 the destroy shim.
;; No function returns several values, so wasmer's singlepass compiler can run it once
;; the load pipeline has lowered externref to i32 handles.
(module
  (import "wbg" "__wbg_make" (func $make (param i32) (result externref)))
  (import "wbg" "__wbg_describe" (func $describe (param externref) (result i32)))
  (import "wbg" "__wbg_pair" (func $pair (param externref i32) (result externref)))
  (memory (export "memory") 1)
  (table $refs (export "__wbindgen_externrefs") 4 externref)
  (table $functions (export "__wbindgen_export_2") 2 funcref)
  (elem (table $functions) (i32.const 0) func $invoke $destroy)
  (global $none externref (ref.null extern))
  (global $destroyed (export "destroyed") (mut i32) (i32.const 0))

  ;; x, or a value made by the host when x is null (through a block, a typed select, a local)
  (func (export "roundtrip") (param $x externref) (result externref)
    (local $y externref)
    (local.set $y (block (result externref) (local.get $x)))
    (select (result externref)
      (call $make (i32.const 7))
      (local.get $y)
      (ref.is_null (local.get $y))))
  (func (export "is_null") (param $x externref) (result i32)
    (ref.is_null (local.get $x)))
  (func (export "describe") (param $x externref) (result i32)
    (call $describe (local.get $x)))
  (func (export "null_global") (result externref)
    (global.get $none))
  (func (export "make_null") (result externref)
    (ref.null extern))
  ;; the table, as wasm-bindgen's externref heap uses it
  (func (export "put") (param $i i32) (param $x externref)
    (table.set $refs (local.get $i) (local.get $x)))
  (func (export "get") (param $i i32) (result externref)
    (table.get $refs (local.get $i)))
  ;; take: read the slot, clear it, then use the value (its only holder is now the stack)
  (func (export "take_described") (param $i i32) (result i32)
    (local $x externref)
    (local.set $x (table.get $refs (local.get $i)))
    (table.set $refs (local.get $i) (ref.null extern))
    (call $describe (local.get $x)))
  (func (export "grow") (param $x externref) (param $n i32) (result i32)
    (table.grow $refs (local.get $x) (local.get $n)))
  (func (export "size") (result i32)
    (table.size $refs))
  (func (export "fill") (param $i i32) (param $x externref) (param $n i32)
    (table.fill $refs (local.get $i) (local.get $x) (local.get $n)))
  (func (export "copy") (param $d i32) (param $s i32) (param $n i32)
    (table.copy $refs $refs (local.get $d) (local.get $s) (local.get $n)))
  (func (export "slot_is_null") (param $i i32) (result i32)
    (ref.is_null (table.get $refs (local.get $i))))

  ;; the closure shims: invoke pairs x with a + b; destroy counts
  (func $invoke (param $a i32) (param $b i32) (param $x externref) (result externref)
    (call $pair (local.get $x) (i32.add (local.get $a) (local.get $b))))
  (func $destroy (param $a i32) (param $b i32)
    (global.set $destroyed (i32.add (global.get $destroyed) (i32.const 1))))
  ;; the guest calls its own closure through the table, as a JS caller would make it
  (func (export "call_closure") (param $a i32) (param $b i32) (param $x externref) (result externref)
    (call_indirect $functions (param i32 i32 externref) (result externref)
      (local.get $a) (local.get $b) (local.get $x) (i32.const 0)))
)
