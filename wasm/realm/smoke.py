"""Smoke test for wasm/realm.wasm on wasmtime (Python), with hand-written stubs
for every import. Run: python wasm/realm/smoke.py [path/to/realm.wasm]

It documents the raw wasm-bindgen 0.2.83 ABI as seen from a host without the
wasm-bindgen CLI: JsValues are indices into a host-side table (here a list),
strings are (ptr, len) UTF-8 in linear memory, and Result/String/Vec returns go
through a "retptr" first argument pointing at 2-4 i32 words.
"""
import math
import struct
import sys
from pathlib import Path

import wasmtime

WASM = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "realm.wasm"


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_kv(key, ty, payload):
    return gguf_string(key) + struct.pack("<I", ty) + payload


def make_gguf(tokens, version=3):
    kvs = [
        gguf_kv("general.architecture", 8, gguf_string("llama")),
        gguf_kv("general.name", 8, gguf_string('tiny "test"\n')),
        gguf_kv("llama.context_length", 4, struct.pack("<I", 2048)),
        gguf_kv("llama.embedding_length", 10, struct.pack("<Q", 64)),
        gguf_kv("llama.block_count", 4, struct.pack("<I", 2)),
        gguf_kv("llama.attention.head_count", 4, struct.pack("<I", 4)),
        gguf_kv("llama.rope.freq_base", 6, struct.pack("<f", 10000.0)),
        gguf_kv("some.f64", 12, struct.pack("<d", 1.5)),
        gguf_kv("some.bool", 7, b"\x01"),
        gguf_kv("some.i8s", 9, struct.pack("<IQ", 1, 3) + b"\x01\x02\x03"),
        gguf_kv("some.nested", 9, struct.pack("<IQ", 9, 1) + struct.pack("<IQ", 5, 2) + struct.pack("<ii", -1, 2)),
        gguf_kv("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, len(tokens)) + b"".join(gguf_string(t) for t in tokens)),
    ]
    return b"GGUF" + struct.pack("<IQQ", version, 0, len(kvs)) + b"".join(kvs)


class Host:
    def __init__(self, path):
        self.engine = wasmtime.Engine()
        self.store = wasmtime.Store(self.engine)
        self.module = wasmtime.Module.from_file(self.engine, str(path))
        self.heap = [None]  # JsValue table; index 0 unused
        self.logs = []
        self.models = {}
        self.script = []  # token ids realm_next_token returns, then -1
        self.refuse = 0
        self.seen_borrow = []
        self.probe = None  # (ptr) of a wasm-bindgen cell whose borrow flag to sample
        imports = []
        for imp in self.module.imports:
            imports.append(self._stub(imp))
        self.inst = wasmtime.Instance(self.store, self.module, imports)
        self.ex = self.inst.exports(self.store)
        self.mem = self.ex["memory"]

    # -- memory helpers
    def read(self, ptr, n):
        return bytes(self.mem.read(self.store, ptr, ptr + n))

    def write(self, ptr, b):
        self.mem.write(self.store, b, ptr)

    def words(self, ptr, n):
        return struct.unpack("<%di" % n, self.read(ptr, 4 * n))

    def add(self, v):
        self.heap.append(v)
        return len(self.heap) - 1

    def call(self, name, *args):
        return self.ex[name](self.store, *args)

    def pass_bytes(self, b):
        ptr = self.call("__wbindgen_malloc", max(len(b), 1))
        self.write(ptr, b)
        return ptr, len(b)

    def retptr(self):
        # any 16 bytes of scratch memory will do
        return self.call("__wbindgen_malloc", 16)

    def _stub(self, imp):
        ft = imp.type
        name = imp.name

        def f(*args):
            if name == "__wbindgen_describe" or name.startswith("__wbindgen_externref_table"):
                return 0 if ft.results else None
            if name.startswith("__wbg_log_"):
                self.logs.append(self.read(args[0], args[1]).decode())
                return None
            if name in ("__wbindgen_string_new", "__wbindgen_error_new"):
                s = self.read(args[0], args[1]).decode()
                return self.add(("error" if "error" in name else "string", s))
            if name == "__wbindgen_is_string":
                v = self.heap[args[0]]
                return int(isinstance(v, tuple) and v[0] == "string")
            if name == "__wbindgen_throw":
                raise RuntimeError(self.read(args[0], args[1]).decode())
            if name == "realm_store_model":
                ptr, n, mid = args
                if self.refuse:
                    return self.refuse
                self.models[mid] = self.read(ptr, n)
                return 0
            if name == "realm_next_token":
                if self.probe is not None:
                    self.seen_borrow.append(self.words(self.probe, 1)[0] & 0xFFFFFFFF)
                return self.script.pop(0) if self.script else -1
            raise NotImplementedError(name)

        return wasmtime.Func(self.store, ft, f)

    def take_string(self, rp):
        ptr, n = self.words(rp, 2)
        s = self.read(ptr, n).decode()
        self.call("__wbindgen_free", ptr, n)
        return s


def main():
    h = Host(WASM)
    print("imports:")
    for imp in h.module.imports:
        print("  %s.%s %s" % (imp.module, imp.name, imp.type.params and [str(p) for p in imp.type.params]))

    truth = {e.name[len("__realm_truth_"):]: h.call(e.name) for e in h.module.exports if e.name.startswith("__realm_truth_")}
    for k, v in truth.items():
        print("truth %-34s %d" % (k, v))
    for k, v in truth.items():
        if k.startswith("offset_"):
            assert 0 <= v < truth["realm_size"], k
        if k.startswith("config_offset_"):
            assert 0 <= v < truth["config_size"], k
    assert truth["cell_value_offset"] + truth["realm_size"] <= truth["cell_size"]
    assert truth["offset_config"] + truth["config_size"] <= truth["realm_size"]

    # constructor via retptr: [ptr, err, is_err]
    rp = h.retptr()
    h.call("realm_new", rp)
    obj, err, is_err = h.words(rp, 3)
    assert is_err == 0 and obj != 0, (obj, err, is_err)
    assert h.logs[-1] == "realm: new Realm created"
    assert h.call("realm_isLoaded", obj) == 0
    assert h.words(obj, 1)[0] == 0  # borrow flag (cell_value_offset > 0)

    h.call("realm_modelInfo", rp, obj)
    info = h.take_string(rp)
    assert info == '{"loaded":false,"name":null,"architecture":null,"context_length":null,"vocab_size":null,"model_id":null}', info

    # withConfig good / bad
    p, n = h.pass_bytes(b'{"max_tokens": 3, "top_k": 7, "temperature": 0.5}')
    h.call("realm_withConfig", rp, p, n)
    obj2, err, is_err = h.words(rp, 3)
    assert is_err == 0
    assert h.call("realm_maxTokens", obj2) == 3 and h.call("realm_topK", obj2) == 7
    assert h.call("realm_temperature", obj2) == struct.unpack("<f", struct.pack("<f", 0.5))[0]
    for bad, msg in [(b'{"nope":1}', 'invalid config: unknown key "nope"'),
                     (b'{"max_tokens":-1}', "invalid config: max_tokens must be a non-negative integer"),
                     (b'[1]', "invalid config: expected '{' at byte 0, found '['")]:
        p, n = h.pass_bytes(bad)
        h.call("realm_withConfig", rp, p, n)
        o, err, is_err = h.words(rp, 3)
        assert is_err == 1 and o == 0, (bad, o, err, is_err)
        assert h.heap[err] == ("string", msg), h.heap[err]

    # loadModel errors
    for data, msg in [(b"GGML" + bytes(20), "not a GGUF file: bad magic 47 47 4d 4c (expected \"GGUF\")"),
                      (make_gguf(["a"], version=2), "unsupported GGUF version 2 (only version 3 is supported)"),
                      (make_gguf(["a"])[:-3], "truncated GGUF")]:
        p, n = h.pass_bytes(data)
        h.call("realm_loadModel", rp, obj, p, n)
        err, is_err = h.words(rp, 2)
        assert is_err == 1 and h.heap[err][0] == "error" and h.heap[err][1].startswith(msg), h.heap[err]

    vocab = ["<unk>", "hello", " ", "world", "!", "hell"]
    data = make_gguf(vocab)
    p, n = h.pass_bytes(data)
    h.call("realm_loadModel", rp, obj, p, n)
    err, is_err = h.words(rp, 2)
    assert is_err == 0, h.heap[err]
    assert h.models[1] == data and h.call("realm_isLoaded", obj) == 1
    h.call("realm_modelInfo", rp, obj)
    info = h.take_string(rp)
    assert info == '{"loaded":true,"name":"tiny \\"test\\"\\n","architecture":"llama","context_length":2048,"vocab_size":6,"model_id":1}', info

    h.refuse = 7
    p, n = h.pass_bytes(data)  # &[u8]/&str args are freed by the callee in 0.2.83
    h.call("realm_loadModel", rp, obj2, p, n)
    err, is_err = h.words(rp, 2)
    assert is_err == 1 and h.heap[err] == ("error", "host refused model: code 7"), (err, is_err, h.heap[err])
    h.refuse = 0

    # generate: borrow flag is usize::MAX while the import runs
    h.script = [3, 4, 2, 1]
    h.probe = obj
    p, n = h.pass_bytes(b"hello world")
    h.call("realm_generate", rp, obj, p, n)
    sptr, slen, err, is_err = h.words(rp, 4)
    assert is_err == 0
    assert h.read(sptr, slen).decode() == "world! hello"
    assert h.seen_borrow == [0xFFFFFFFF] * 5 and h.words(obj, 1)[0] == 0, h.seen_borrow

    # config class by value
    cfg = h.call("realm_config", obj)
    assert h.call("wasmgenerationconfig_maxTokens", cfg) == 128
    c2 = h.call("wasmgenerationconfig_new")
    h.call("wasmgenerationconfig_set_maxTokens", c2, 5)
    h.call("realm_setConfig", obj, c2)
    assert h.call("realm_maxTokens", obj) == 5
    assert h.call("realm_by_ref", obj) == 1
    for o in (cfg, c2):
        h.call("__wbg_wasmgenerationconfig_free", o)
    h.call("__wbg_realm_free", obj)
    h.call("__wbg_realm_free", obj2)

    c = h.call("realm_c_new")
    assert h.call("realm_c_is_loaded", c) == 0 and h.call("realm_c_is_loaded", 0) == -1
    h.call("realm_c_free", c)

    # rt_* scalars
    assert h.call("rt_u8", 255) == 0 and h.call("rt_u16", 7) == 8
    assert h.call("rt_i8", 127) & 0xFF == 0x80 and h.call("rt_i16", -1) == 0
    assert h.call("rt_u32", -1) == 0 and h.call("rt_f32", 1.5) == 3.0
    assert h.call("rt_i32", 41) == 42
    assert h.call("rt_u64", -1) == 0 and h.call("rt_i64", 2**63 - 1) == -(2**63)
    assert h.call("rt_f64", 1.25) == 2.5 and h.call("rt_bool", 1) == 0
    assert h.call("rt_char", ord("q")) == ord("Q") and h.call("rt_char", ord("é")) == ord("é")
    p, n = h.pass_bytes("héllo".encode())
    assert h.call("rt_str", p, n) == 5
    p, n = h.pass_bytes("abç".encode())
    h.call("rt_string", rp, p, n)
    assert h.take_string(rp) == "çba"
    h.call("rt_opt_u32", rp, 1, 41)
    assert h.words(rp, 2) == (1, 42)
    h.call("rt_opt_u32", rp, 0, 0)
    assert h.words(rp, 1)[0] == 0
    h.call("rt_result", rp, -3)
    _, err, is_err = h.words(rp, 3)
    assert is_err == 1 and h.heap[err] == ("error", "negative: -3")
    h.call("rt_result", rp, 21)
    assert h.words(rp, 3) == (42, 0, 0)
    p, n = h.pass_bytes(bytes([1, 2, 250]))
    assert h.call("rt_slice_u8", p, n) == 253
    p, n = h.pass_bytes(bytes([1, 2, 3]))
    h.call("rt_vec_u8", rp, p, n)
    vp, vn = h.words(rp, 2)
    assert h.read(vp, vn) == bytes([3, 2, 1])
    p, n = h.pass_bytes(struct.pack("<2f", 1.5, -2.0))
    h.call("rt_vec_f32", rp, p, n // 4)  # Vec<T>/Box<[T]> lengths are element counts
    vp, vn = h.words(rp, 2)
    assert struct.unpack("<%df" % vn, h.read(vp, 4 * vn)) == (3.0, -4.0)
    p, n = h.pass_bytes(struct.pack("<2I", 1, 0xFFFFFFFF))
    h.call("rt_boxed_u32", rp, p, 2)
    vp, vn = h.words(rp, 2)
    assert struct.unpack("<%dI" % vn, h.read(vp, 4 * vn)) == (2, 0)
    p, n = h.pass_bytes("straße".encode())
    h.call("rt_opt_string", rp, p, n)
    assert h.take_string(rp) == "STRASSE"
    h.call("rt_opt_string", rp, 0, 0)
    assert h.words(rp, 1)[0] == 0
    assert h.call("rt_i8", 127) == -128 and h.call("rt_u8", 256) == 1
    s = h.add(("string", "x"))
    assert h.call("rt_jsvalue", s) == s and h.call("rt_jsvalue_is_string", s) == 1
    print("smoke: all checks passed")


if __name__ == "__main__":
    main()
