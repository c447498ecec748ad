;; Closures through a funcref table, the shape wasm-bindgen gives them (<= 0.2.101).
;;
;; A Rust `Closure<dyn FnMut(i32) -> i32>` crosses to the host as a fat pointer
;; (a, b): `a` is the boxed state, `b` the vtable [drop_in_place, size, align,
;; call_mut] of function-table indices. The guest hands (a, b) to the host through
;; `__wbindgen_closure_wrapperN(a, b, _)`; the host keeps them and later calls, with
;; (a, b, ...), the invoke shim (which reads call_mut from the vtable and does
;; call_indirect) and, when the JS side drops the closure, the destroy shim (which
;; calls drop_in_place through the vtable). Both shims are entries of the exported
;; funcref table `__wbindgen_export_2`: the host can only reach them through it.
;;
;; Table: 0 accumulate.call_mut, 1 scale.call_mut, 2 accumulate.drop, 3 scale.drop,
;;        4 invoke shim (a, b, x) -> i32, 5 destroy shim (a, b).
(module
  (type $call_mut (func (param i32 i32) (result i32)))
  (type $drop (func (param i32)))
  (type $invoke (func (param i32 i32 i32) (result i32)))
  (type $destroy (func (param i32 i32)))
  (import "wbg" "__wbindgen_closure_wrapper7" (func $closure_wrapper (param i32 i32 i32) (result i32)))
  (import "wbg" "__wbg_call_js" (func $call_js (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (table $functions (export "__wbindgen_export_2") 6 funcref)
  (elem (i32.const 0) $accumulate_call $scale_call $state_drop $state_drop $invoke $destroy)
  ;; the two vtables: [drop_in_place, size, align, call_mut]
  (data (i32.const 16) "\02\00\00\00\04\00\00\00\04\00\00\00\00\00\00\00")
  (data (i32.const 32) "\03\00\00\00\04\00\00\00\04\00\00\00\01\00\00\00")
  (global $__stack_pointer (mut i32) (i32.const 65536))
  (global $heap (mut i32) (i32.const 1024))
  (global $live (export "live_closures") (mut i32) (i32.const 0))
  (global $dropped (export "dropped_state") (mut i32) (i32.const 0))

  ;; move |x| { total += x; total }
  (func $accumulate_call (type $call_mut) (param $state i32) (param $x i32) (result i32)
    local.get $state
    local.get $state
    i32.load
    local.get $x
    i32.add
    i32.store
    local.get $state
    i32.load)
  ;; move |x| x * factor
  (func $scale_call (type $call_mut) (param $state i32) (param $x i32) (result i32)
    local.get $state
    i32.load
    local.get $x
    i32.mul)
  (func $state_drop (type $drop) (param $state i32)
    local.get $state
    i32.load
    global.set $dropped
    global.get $live
    i32.const 1
    i32.sub
    global.set $live)
  ;; wasm_bindgen::closure::invoke1_mut: (a, b, x) -> vtable.call_mut(a, x)
  (func $invoke (type $invoke) (param $a i32) (param $b i32) (param $x i32) (result i32)
    local.get $a
    local.get $x
    local.get $b
    i32.load offset=12
    call_indirect $functions (type $call_mut))
  ;; the closure's destructor: vtable.drop_in_place(a)
  (func $destroy (type $destroy) (param $a i32) (param $b i32)
    local.get $a
    local.get $b
    i32.load
    call_indirect $functions (type $drop))

  (func $box (param $value i32) (result i32)
    (local $ptr i32)
    global.get $heap
    local.tee $ptr
    local.get $value
    i32.store
    global.get $heap
    i32.const 8
    i32.add
    global.set $heap
    global.get $live
    i32.const 1
    i32.add
    global.set $live
    local.get $ptr)
  ;; Closure::wrap(Box::new(...)).into_js_value(): the JS function's heap index
  (func (export "make_accumulator") (param $start i32) (result i32)
    local.get $start
    call $box
    i32.const 16
    i32.const 0
    call $closure_wrapper)
  (func (export "make_scaler") (param $factor i32) (result i32)
    local.get $factor
    call $box
    i32.const 32
    i32.const 0
    call $closure_wrapper)
  ;; f(x) for a JS function f (the host calls back into the closure)
  (func (export "call_js") (param $f i32) (param $x i32) (result i32)
    local.get $f
    local.get $x
    call $call_js)
  ;; a loop, so the module has something to meter
  (func (export "sum_to") (param $n i32) (result i32)
    (local $total i32)
    (block $done
      (loop $next
        local.get $n
        i32.eqz
        br_if $done
        local.get $total
        local.get $n
        i32.add
        local.set $total
        local.get $n
        i32.const 1
        i32.sub
        local.set $n
        br $next))
    local.get $total)
)
