"""Loading the ``wasmer_compiler_llvm`` 1.1.0 wheel without killing the process.

The problem: the wheel's extension module needs ``libtinfo-91270aa7.so.5`` (the
copy auditwheel bundled and renamed), but its symbol-version requirements
(``.gnu.version_r``) still name ``libtinfo.so.5``. glibc's loader checks those
names against the names of objects already loaded, finds none called
``libtinfo.so.5``, and aborts the whole process with an assertion in
``_dl_check_map_versions``. A plain ``import wasmer_compiler_llvm`` is therefore
fatal on Debian 12, and no exception can be caught.

The fix, with nothing in site-packages modified:

1. read the bundled ``libtinfo-*.so.5`` and overwrite its SONAME string with
   ``libtinfo.so.5`` (NUL-padded to the same length) in a copy held in an
   anonymous memory file (``memfd``);
2. ``dlopen`` that copy by its ``/proc/self/fd`` path, then ``dlopen`` the bare
   name ``libtinfo.so.5``: the loader finds an already-loaded object with that
   SONAME and records the name as an alias;
3. import ``wasmer_compiler_llvm`` normally: the version check now finds
   ``libtinfo.so.5``; symbol binding still goes to the original bundled copy.

Because a failed attempt cannot be caught, :func:`probe` runs the whole load
and a one-function compile in a subprocess first, and :func:`load` refuses to
run in-process unless the probe passed.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import importlib
import importlib.util
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

_HANDLES: list[Any] = []
TARGET_SONAME = b"libtinfo.so.5"


def bundled_libtinfo() -> Path | None:
    """The wheel's bundled libtinfo, found without importing the package."""
    spec = importlib.util.find_spec("wasmer_compiler_llvm")
    if spec is None or not spec.submodule_search_locations:
        return None
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    matches = sorted(glob.glob(str(package_dir.parent / "wasmer_compiler_llvm.libs" / "libtinfo*.so*")))
    return Path(matches[0]) if matches else None


def soname_offset(elf: bytes) -> tuple[int, bytes]:
    """File offset and value of the DT_SONAME string of a little-endian ELF64 file."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise ValueError("not a little-endian ELF64 file")
    phoff = struct.unpack_from("<Q", elf, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    loads: list[tuple[int, int, int]] = []
    dynamic: tuple[int, int] | None = None
    for i in range(phnum):
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz, _memsz, _align = struct.unpack_from(
            "<IIQQQQQQ", elf, phoff + i * phentsize
        )
        if p_type == 1:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == 2:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        raise ValueError("no PT_DYNAMIC segment")
    strtab_addr = soname = None
    for pos in range(dynamic[0], dynamic[0] + dynamic[1], 16):
        tag, value = struct.unpack_from("<qQ", elf, pos)
        if tag == 0:
            break
        if tag == 5:
            strtab_addr = value
        elif tag == 14:
            soname = value
    if strtab_addr is None or soname is None:
        raise ValueError("no DT_STRTAB or DT_SONAME")
    for vaddr, offset, filesz in loads:
        if vaddr <= strtab_addr < vaddr + filesz:
            start = strtab_addr - vaddr + offset + soname
            end = elf.index(b"\0", start)
            return start, elf[start:end]
    raise ValueError("DT_STRTAB is not inside a PT_LOAD segment")


def patched_libtinfo(original: bytes) -> bytes:
    """A copy of the bundled libtinfo whose SONAME reads ``libtinfo.so.5``."""
    start, name = soname_offset(original)
    if name == TARGET_SONAME:
        return original
    if len(name) < len(TARGET_SONAME):
        raise ValueError(f"SONAME {name!r} is shorter than {TARGET_SONAME!r}")
    patched = bytearray(original)
    patched[start : start + len(name)] = TARGET_SONAME.ljust(len(name), b"\0")
    return bytes(patched)


def _preload() -> None:
    if _HANDLES:
        return
    lib = bundled_libtinfo()
    if lib is None:
        return  # nothing bundled: a future wheel, let the import speak for itself
    data = patched_libtinfo(lib.read_bytes())
    fd = os.memfd_create("libtinfo.so.5")
    os.write(fd, data)
    _HANDLES.append(ctypes.CDLL(f"/proc/self/fd/{fd}"))
    _HANDLES.append(ctypes.CDLL(TARGET_SONAME.decode()))
    _HANDLES.append(fd)


def _load_unchecked() -> Any:
    _preload()
    return importlib.import_module("wasmer_compiler_llvm")


_PROBE = r"""
import sys
from realm_wasmer.engines import llvm_loader
compiler = llvm_loader._load_unchecked()
import wasmer
store = wasmer.Store(wasmer.engine.Universal(compiler.Compiler))
wat = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'
module = wasmer.Module(store, wasmer.wat2wasm(wat))
assert wasmer.Instance(module).exports.add(2, 3) == 5
print("ok")
"""


@functools.cache
def probe() -> tuple[bool, str]:
    """Try the load and a small compile in a subprocess: (works, reason if not)."""
    if importlib.util.find_spec("wasmer_compiler_llvm") is None:
        return False, "wasmer_compiler_llvm is not installed (pip install 'realm-wasmer[llvm]')"
    if "wasmer_compiler_llvm" in sys.modules:
        return True, ""
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"the wasmer_compiler_llvm load probe could not run: {exc}"
    if done.returncode == 0 and done.stdout.strip().endswith("ok"):
        return True, ""
    detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return False, (
        f"loading wasmer_compiler_llvm 1.1.0 fails in a subprocess (exit {done.returncode}: {detail}); "
        "its bundled libtinfo's symbol-version entry names libtinfo.so.5, which the workaround in "
        "realm_wasmer.engines.llvm_loader could not satisfy here"
    )


def load() -> Any:
    """Import ``wasmer_compiler_llvm`` in this process, after the subprocess probe passed."""
    ok, reason = probe()
    if not ok:
        raise ImportError(reason)
    return _load_unchecked()
