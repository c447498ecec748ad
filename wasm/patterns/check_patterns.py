"""Compile, instantiate and exercise the wasm/patterns/*.wat fixtures.

Usage:  .venv/bin/python wasm/patterns/check_patterns.py

For every fixture: wasmer.wat2wasm, then instantiate and run the behaviour
listed in README.md on wasmer (cranelift), wasmtime and wasmer (singlepass),
with small Python import handlers (a heap slab for `__wbindgen_string_new`-
like imports).  Singlepass refusing to compile a fixture (expected only for
multivalue_result) is reported, not counted as a failure.  Exit status 1 if
any check fails.
"""

import pathlib
import struct
import sys
import traceback

import wasmer
import wasmtime

HERE = pathlib.Path(__file__).resolve().parent
FIXTURES = [
    "pattern1_return_ptr",
    "pattern2_c_export",
    "pattern3_retptr",
    "cli_add_to_stack_pointer",
    "malloc_arity1",
    "malloc_arity2",
    "anonymised_exports",
    "anonymised_exports_new",
    "stack_pointer_global",
    "multivalue_result",
]
SP_INIT = 65536
I32_MIN = -(2**31)


def wat(name):
    return wasmer.wat2wasm((HERE / f"{name}.wat").read_text())


class HeapSlab:
    """The JS-side heap array of heap-slab glue (128 empty, 4 constants)."""

    def __init__(self):
        self.items = [None] * 128 + ["undefined", "null", True, False]

    def add(self, obj):
        self.items.append(obj)
        return len(self.items) - 1


class Runtime:
    """Common surface over wasmer-python and wasmtime-py."""

    def __init__(self, wasm, heap):
        self.heap = heap
        self.mem_bytes = None
        self.setup(wasm)

    def string_new(self, ptr, length):
        return self.heap.add(self.read(ptr, length).decode("utf-8"))

    def handler_for(self, module, name):
        if "string_new" in name or name.startswith("__wbindgen_cast_"):
            return self.string_new
        raise KeyError(f"no handler for import {module}.{name}")

    # little-endian i32 words, as the glue reads them
    def words(self, ptr, n):
        return list(struct.unpack(f"<{n}i", self.read(ptr, 4 * n)))


class WasmerRT(Runtime):
    compilers = {}

    def __init__(self, wasm, heap, compiler="cranelift"):
        self.compiler = compiler
        super().__init__(wasm, heap)

    @staticmethod
    def store(compiler):
        if compiler == "cranelift":
            from wasmer_compiler_cranelift import Compiler
        else:
            from wasmer_compiler_singlepass import Compiler
        return wasmer.Store(wasmer.engine.Universal(Compiler))

    def setup(self, wasm):
        store = self.store(self.compiler)
        self.module = wasmer.Module(store, wasm)
        imports = wasmer.ImportObject()
        by_ns = {}
        for imp in self.module.imports:
            fn = wasmer.Function(store, self.handler_for(imp.module, imp.name), imp.type)
            by_ns.setdefault(imp.module, {})[imp.name] = fn
        for ns, fns in by_ns.items():
            imports.register(ns, fns)
        self.inst = wasmer.Instance(self.module, imports)
        self.ex = self.inst.exports

    def sigs(self):
        out = {}
        for e in self.module.exports:
            t = e.type
            if isinstance(t, wasmer.FunctionType):
                out[e.name] = (len(t.params), len(t.results))
            elif isinstance(t, wasmer.GlobalType):
                out[e.name] = ("global", "mut" if t.mutable else "const")
            else:
                out[e.name] = (type(t).__name__,)
        return out

    def call(self, name, *args):
        r = getattr(self.ex, name)(*args)
        return tuple(r) if isinstance(r, (list, tuple)) else r

    def read(self, ptr, n):
        return bytes(self.ex.memory.uint8_view(ptr)[0:n])

    def write(self, ptr, data):
        self.ex.memory.uint8_view(ptr)[0:len(data)] = data

    def gget(self, name):
        return getattr(self.ex, name).value

    def gset(self, name, v):
        getattr(self.ex, name).value = v


class WasmtimeRT(Runtime):
    def setup(self, wasm):
        self.store = wasmtime.Store()
        self.module = wasmtime.Module(self.store.engine, wasm)
        linker = wasmtime.Linker(self.store.engine)
        for imp in self.module.imports:
            linker.define_func(imp.module, imp.name, imp.type,
                               self.handler_for(imp.module, imp.name))
        self.inst = linker.instantiate(self.store, self.module)
        self.ex = self.inst.exports(self.store)

    def sigs(self):
        out = {}
        for e in self.module.exports:
            t = e.type
            if isinstance(t, wasmtime.FuncType):
                out[e.name] = (len(t.params), len(t.results))
            elif isinstance(t, wasmtime.GlobalType):
                out[e.name] = ("global", "mut" if t.mutable else "const")
            else:
                out[e.name] = (type(t).__name__,)
        return out

    def call(self, name, *args):
        r = self.ex[name](self.store, *args)
        return tuple(r) if isinstance(r, list) else r

    def read(self, ptr, n):
        return bytes(self.ex["memory"].read(self.store, ptr, ptr + n))

    def write(self, ptr, data):
        self.ex["memory"].write(self.store, data, ptr)

    def gget(self, name):
        return self.ex[name].value(self.store)

    def gset(self, name, v):
        self.ex[name].set_value(self.store, wasmtime.Val.i32(v))


# --------------------------------------------------------------------------
class Check:
    def __init__(self, label):
        self.label = label
        self.failures = 0

    def eq(self, what, got, want):
        ok = got == want
        self.failures += not ok
        print(f"  {'ok ' if ok else 'FAIL'} {what}: {got!r}" + ("" if ok else f" (want {want!r})"))

    def true(self, what, cond, shown):
        self.failures += not cond
        print(f"  {'ok ' if cond else 'FAIL'} {what}: {shown!r}")

    def raises(self, what, fn):
        try:
            fn()
        except Exception as e:  # engine-specific trap / signature types
            lines = str(e).strip().splitlines() or [""]
            # wasmer: reason on the first line; wasmtime: first line ends in ':'
            msg = (lines[-1] if lines[0].endswith(":") else lines[0]).strip()
            print(f"  ok  {what}: raises {type(e).__module__}.{type(e).__name__}: {msg[:110]}")
            return
        self.failures += 1
        print(f"  FAIL {what}: did not raise")


def pass_string(rt, s, malloc="__wbindgen_malloc", arity=2):
    data = s.encode("utf-8")
    ptr = rt.call(malloc, len(data), 1) if arity == 2 else rt.call(malloc, len(data))
    rt.write(ptr, data)
    return ptr, len(data)


def check_surplus_arg(c, rt, what, fn, live_after):
    """One argument too many: wasmtime raises; wasmer-python 1.1.0 silently
    drops the extra argument and runs the call."""
    if isinstance(rt, WasmtimeRT):
        c.raises(what + " rejected by wasmtime", fn)
        return None
    result = fn()
    c.eq(what + " ACCEPTED by wasmer (extra arg dropped); live_bytes",
         rt.gget("live_bytes"), live_after)
    return result


def check_allocator_roundtrip(c, rt, malloc, realloc, free, arity=2):
    """0.2.91-style passStringToWasm0: malloc(n), grow realloc, shrink realloc."""
    a = (lambda *x: x + (1,)) if arity == 2 else (lambda *x: x)
    base = rt.gget("live_bytes")
    p = rt.call(malloc, *a(3))
    rt.write(p, b"abc")
    p2 = rt.call(realloc, *a(p, 3, 9))
    rt.write(p2 + 3, b"\xc3\xa9")
    p3 = rt.call(realloc, *a(p2, 9, 5))
    other = rt.call(malloc, *a(4))            # blocks in-place growth
    p4 = rt.call(realloc, *a(p3, 5, 64))      # must move and copy
    c.eq("realloc keeps bytes (in place, then moved)",
         (p2 == p, p3 == p, p4 != p3, rt.read(p4, 5)), (True, True, True, b"abc\xc3\xa9"))
    rt.call(free, *a(p4, 64))
    rt.call(free, *a(other, 4))
    c.eq("live_bytes back to baseline after frees", rt.gget("live_bytes"), base)


def t_pattern1(c, rt, heap):
    c.eq("sigs", {k: rt.sigs()[k] for k in ("counter_new", "counter_get", "counter_incr",
         "__wbg_counter_free", "__wbindgen_malloc", "__wbindgen_realloc", "__wbindgen_free",
         "__wbindgen_add_to_stack_pointer")},
         {"counter_new": (1, 1), "counter_get": (1, 1), "counter_incr": (1, 0),
          "__wbg_counter_free": (2, 0), "__wbindgen_malloc": (2, 1), "__wbindgen_realloc": (4, 1),
          "__wbindgen_free": (3, 0), "__wbindgen_add_to_stack_pointer": (1, 1)})
    base = rt.gget("live_bytes")
    p = rt.call("counter_new", 5)
    c.true("counter_new(5) returns nonzero ptr", p != 0, p)
    c.eq("counter_get(p)", rt.call("counter_get", p), 5)
    rt.call("counter_incr", p)
    rt.call("counter_incr", p)
    c.eq("counter_get after 2x counter_incr", rt.call("counter_get", p), 7)
    c.eq("live_bytes while alive", rt.gget("live_bytes") - base, 8)
    q = rt.call("counter_new", -3)
    rt.call("__wbg_counter_free", q, 1)                # FinalizationRegistry style
    rt.call("__wbg_counter_free", p, 0)                # explicit free() style
    c.eq("live_bytes after __wbg_counter_free(q,1), (p,0)", rt.gget("live_bytes"), base)
    c.raises("counter_get(freed p) traps", lambda: rt.call("counter_get", p))
    c.raises("__wbg_counter_free(0, 0) traps (null)", lambda: rt.call("__wbg_counter_free", 0, 0))
    c.eq("add_to_stack_pointer(-16), (16)",
         (rt.call("__wbindgen_add_to_stack_pointer", -16), rt.call("__wbindgen_add_to_stack_pointer", 16)),
         (SP_INIT - 16, SP_INIT))
    check_allocator_roundtrip(c, rt, "__wbindgen_malloc", "__wbindgen_realloc", "__wbindgen_free")


def t_pattern2(c, rt, heap):
    c.eq("exports", sorted(rt.sigs().items()),
         sorted({"memory": ("MemoryType",), "thing_c_new": (0, 1), "thing_c_free": (1, 0),
                 "thing_c_value": (1, 1), "live_bytes": ("global", "mut")}.items()))
    c.eq("imports", [(i.module, i.name) for i in rt.module.imports], [])
    p = rt.call("thing_c_new")
    c.true("thing_c_new() nonzero", p != 0, p)
    c.eq("thing_c_value(p)", rt.call("thing_c_value", p), 42)
    c.eq("live_bytes while alive", rt.gget("live_bytes"), 4)
    rt.call("thing_c_free", p)
    rt.call("thing_c_free", 0)
    c.eq("live_bytes after thing_c_free(p), thing_c_free(0)", rt.gget("live_bytes"), 0)


def t_pattern3(c, rt, heap):
    s = rt.sigs()
    c.eq("sigs", (s["widget_new"], s["widget_size"], s["__wbg_widget_free"], s["__wbindgen_malloc"]),
         ((2, 0), (1, 1), (1, 0), (2, 1)))
    base = rt.gget("live_bytes")
    sp = rt.call("__wbindgen_add_to_stack_pointer", -16)
    c.eq("retptr", sp, SP_INIT - 16)
    rt.call("widget_new", sp, 10)
    ptr, err, is_err = rt.words(sp, 3)
    c.true("widget_new(retptr, 10) -> [ptr, 0, 0]", ptr != 0 and (err, is_err) == (0, 0), [ptr, err, is_err])
    rt.call("widget_new", sp, -1)
    w = rt.words(sp, 3)
    c.eq("widget_new(retptr, -1) -> [0, idx, 1]", w, [0, 132, 1])
    c.eq("heap[idx]", heap.items[w[1]], "size must be >= 0")
    c.eq("add_to_stack_pointer(16)", rt.call("__wbindgen_add_to_stack_pointer", 16), SP_INIT)
    c.eq("widget_size(ptr)", rt.call("widget_size", ptr), 10)
    rt.call("__wbg_widget_free", ptr)
    c.eq("live_bytes after __wbg_widget_free(ptr)", rt.gget("live_bytes"), base)
    ptr2 = rt.call("__wbindgen_add_to_stack_pointer", -16)
    rt.call("widget_new", ptr2, 1)
    ptr2 = rt.words(ptr2, 1)[0]
    rt.call("__wbindgen_add_to_stack_pointer", 16)
    check_surplus_arg(c, rt, "__wbg_widget_free(ptr, 0) (0.2.93 arity on a 0.2.92 free)",
                      lambda: rt.call("__wbg_widget_free", ptr2, 0), base)


def t_cli(c, rt, heap):
    c.eq("sig greet", rt.sigs()["greet"], (3, 0))
    base = rt.gget("live_bytes")
    sp = rt.call("__wbindgen_add_to_stack_pointer", -16)
    p, n = pass_string(rt, "Wörld")
    rt.call("greet", sp, p, n)
    r = rt.words(sp, 4)
    text = rt.read(r[0], r[1]).decode("utf-8")
    c.eq("greet(retptr, 'Wörld') -> [ptr, len, 0, 0] + text", (r[1:], text), ([14, 0, 0], "Hello, Wörld!"))
    c.eq("live_bytes before host frees output", rt.gget("live_bytes") - base, 14)
    rt.call("__wbindgen_free", r[0], r[1], 1)
    c.eq("live_bytes after free(ptr, len, 1)", rt.gget("live_bytes"), base)
    p, n = pass_string(rt, "")
    rt.call("greet", sp, p, n)
    r = rt.words(sp, 4)
    c.eq("greet(retptr, '') -> [0, 0, idx, 1]", r, [0, 0, 132, 1])
    c.eq("heap[idx]", heap.items[r[2]], "name must not be empty")
    c.eq("add_to_stack_pointer(16)", rt.call("__wbindgen_add_to_stack_pointer", 16), SP_INIT)
    c.eq("live_bytes at end", rt.gget("live_bytes"), base)


def t_arity1(c, rt, heap):
    s = rt.sigs()
    c.eq("sigs", (s["__wbindgen_malloc"], s["__wbindgen_realloc"], s["__wbindgen_free"],
                  s["__wbg_thing_free"], s["__wbindgen_export_2"], "__wbindgen_add_to_stack_pointer" in s),
         ((1, 1), (3, 1), (2, 0), (1, 0), ("global", "mut"), False))
    c.eq("__wbindgen_export_2.value", rt.gget("__wbindgen_export_2"), SP_INIT)
    p, n = pass_string(rt, "héllo wörld", arity=1)
    c.eq("strlen_utf8('héllo wörld') (13 bytes)", (n, rt.call("strlen_utf8", p, n)), (13, 11))
    c.eq("live_bytes after strlen_utf8 (frees its arg)", rt.gget("live_bytes"), 0)
    extra = check_surplus_arg(c, rt, "__wbindgen_malloc(5, 1) (0.2.87 arity on a 0.2.86 malloc)",
                              lambda: rt.call("__wbindgen_malloc", 5, 1), 5)
    if extra is not None:
        rt.call("__wbindgen_free", extra, 5)   # undo the malloc(5) wasmer accepted
    t = rt.call("thing_new", 9)
    c.eq("thing_value(thing_new(9))", rt.call("thing_value", t), 9)
    rt.call("__wbg_thing_free", t)
    c.eq("live_bytes after __wbg_thing_free", rt.gget("live_bytes"), 0)
    check_allocator_roundtrip(c, rt, "__wbindgen_malloc", "__wbindgen_realloc", "__wbindgen_free", arity=1)


def t_arity2(c, rt, heap):
    s = rt.sigs()
    c.eq("sigs", (s["__wbindgen_malloc"], s["__wbindgen_realloc"], s["__wbindgen_free"], s["strlen_utf8"]),
         ((2, 1), (4, 1), (3, 0), (2, 1)))
    p, n = pass_string(rt, "héllo wörld")
    c.eq("strlen_utf8('héllo wörld') (13 bytes)", (n, rt.call("strlen_utf8", p, n)), (13, 11))
    c.eq("live_bytes after strlen_utf8 (frees its arg)", rt.gget("live_bytes"), 0)
    c.raises("__wbindgen_malloc(5) (<=0.2.86 arity) rejected", lambda: rt.call("__wbindgen_malloc", 5))
    check_allocator_roundtrip(c, rt, "__wbindgen_malloc", "__wbindgen_realloc", "__wbindgen_free")


def roles_by_signature(sigs):
    want = {(2, 1): "malloc", (4, 1): "realloc", (3, 0): "free", (1, 0): "exn_store"}
    return {want[v]: k for k, v in sigs.items()
            if k.startswith("__wbindgen_export") and v in want}


def t_anon(c, rt, heap, expected):
    roles = roles_by_signature(rt.sigs())
    c.eq("roles by signature", roles, expected)
    c.true("no __wbindgen_malloc/free names", not {"__wbindgen_malloc", "__wbindgen_free"} & set(rt.sigs()),
           sorted(rt.sigs()))
    p, n = pass_string(rt, "tiktök", malloc=roles["malloc"])
    c.eq("echo_len('tiktök')", rt.call("echo_len", p, n), 7)
    c.eq("live_bytes after echo_len (frees its arg)", rt.gget("live_bytes"), 0)
    if "exn_store" in roles:
        rt.call(roles["exn_store"], 140)
        c.eq("last_exn after exn_store(140)", rt.gget("last_exn"), 140)
    check_allocator_roundtrip(c, rt, roles["malloc"], roles["realloc"], roles["free"])


def t_sp_global(c, rt, heap):
    c.eq("exports", sorted(rt.sigs().items()),
         sorted({"memory": ("MemoryType",), "pair": (3, 0), "__wbindgen_export_2": ("global", "mut")}.items()))
    g = "__wbindgen_export_2"
    sp = rt.gget(g) - 16
    rt.gset(g, sp)
    rt.call("pair", sp, 3, 4)
    r = rt.words(sp, 2)
    rt.gset(g, rt.gget(g) + 16)
    c.eq("pair(retptr, 3, 4) -> [7, 12]; global restored", (r, rt.gget(g)), ([7, 12], SP_INIT))
    c.raises("pair(global.value, ...) without moving it traps", lambda: rt.call("pair", rt.gget(g), 3, 4))
    c.raises("pair(global.value - 16, ...) without moving it traps",
             lambda: rt.call("pair", rt.gget(g) - 16, 3, 4))
    c.eq("global after traps", rt.gget(g), SP_INIT)


def t_multivalue(c, rt, heap):
    s = rt.sigs()
    c.eq("sigs", (s["version"], s["checked_div"], s["thing_new"], s["__wbg_thing_free"],
                  "__wbindgen_add_to_stack_pointer" in s), ((0, 2), (2, 3), (1, 3), (2, 0), False))
    c.eq("imports", [(i.module, i.name) for i in rt.module.imports],
         [("./thing_bg.js", "__wbindgen_cast_0000000000000001")])
    ptr, n = rt.call("version")
    c.eq("version() text", rt.read(ptr, n).decode(), "0.1.0")
    rt.call("__wbindgen_free", ptr, n, 1)
    c.eq("live_bytes after free(ptr, len, 1)", rt.gget("live_bytes"), 0)
    c.eq("checked_div(7, 2), (-7, 2)", (rt.call("checked_div", 7, 2), rt.call("checked_div", -7, 2)),
         ((3, 0, 0), (-3, 0, 0)))
    r = rt.call("checked_div", 1, 0)
    c.eq("checked_div(1, 0) + heap[idx]", (r, heap.items[r[1]]), ((0, 132, 1), "division by zero"))
    r = rt.call("checked_div", I32_MIN, -1)
    c.eq("checked_div(MIN, -1) + heap[idx]", (r, heap.items[r[1]]), ((0, 133, 1), "overflow"))
    p, err, is_err = rt.call("thing_new", 3)
    c.true("thing_new(3) -> (ptr, 0, 0)", p != 0 and (err, is_err) == (0, 0), (p, err, is_err))
    c.eq("thing_value(ptr)", rt.call("thing_value", p), 3)
    rt.call("__wbg_thing_free", p, 0)
    c.eq("live_bytes after __wbg_thing_free(ptr, 0)", rt.gget("live_bytes"), 0)
    r = rt.call("thing_new", -1)
    c.eq("thing_new(-1) + heap[idx]", (r, heap.items[r[1]]), ((0, 134, 1), "value must be >= 0"))


TESTS = {
    "pattern1_return_ptr": t_pattern1,
    "pattern2_c_export": t_pattern2,
    "pattern3_retptr": t_pattern3,
    "cli_add_to_stack_pointer": t_cli,
    "malloc_arity1": t_arity1,
    "malloc_arity2": t_arity2,
    "anonymised_exports": lambda c, rt, h: t_anon(c, rt, h, {
        "exn_store": "__wbindgen_export_0", "malloc": "__wbindgen_export_1",
        "realloc": "__wbindgen_export_2", "free": "__wbindgen_export_3"}),
    "anonymised_exports_new": lambda c, rt, h: t_anon(c, rt, h, {
        "free": "__wbindgen_export", "malloc": "__wbindgen_export2", "realloc": "__wbindgen_export3"}),
    "stack_pointer_global": t_sp_global,
    "multivalue_result": t_multivalue,
}


def main():
    failures = 0
    refused = {}
    engines = (("wasmer-cranelift", lambda w, h: WasmerRT(w, h, "cranelift")),
               ("wasmtime", lambda w, h: WasmtimeRT(w, h)),
               ("wasmer-singlepass", lambda w, h: WasmerRT(w, h, "singlepass")))
    for name in FIXTURES:
        wasm = wat(name)
        for label, make in engines:
            heap = HeapSlab()
            try:
                rt = make(wasm, heap)
            except Exception as e:
                if label != "wasmer-singlepass":
                    raise
                refused[name] = f"{type(e).__name__}: {str(e).strip()}"
                print(f"[{name}] {label}: REFUSED ({refused[name]})")
                continue
            print(f"[{name}] {label} ({len(wasm)} bytes)")
            c = Check(label)
            try:
                TESTS[name](c, rt, heap)
            except Exception:
                c.failures += 1
                traceback.print_exc()
            failures += c.failures
    print("[singlepass] fixtures wasmer singlepass refuses to compile:")
    for name in FIXTURES:
        print(f"  {name}: {'REFUSED ' + refused[name] if name in refused else 'compiles, checks run'}")
    print("FAILURES:", failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
