"""The seeds' failure, reproduced: the upstream host's conditions, step by step.

The upstream host (README "Why") instantiated the module with every import
stubbed to return zeros, did not run ``__wbindgen_start``, took a slot from
``__wbindgen_malloc(200)`` called with one argument, passed it to the
constructor as if the constructor built the object in place, and then used the
slot as the object. :func:`reproduce` replays exactly that, recording every
import the guest calls (arguments and what the stub returned), and next to it
the same constructor under correct conditions (the resolver chain's intrinsics,
``__wbindgen_start``, a slot the way the glue makes one). Where a step traps,
the trace names the last import the guest called and why it led there.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import attrs

from ..errors import GuestTrap, RealmWasmerError
from ..host.resolver import Imports, zeros
from ..inspection import ClassInfo, Constructor
from ..instance import CompiledModule, Instance
from ..wasm import FuncType
from .args import ArgSpec, materialize

#: Imports whose Rust signature is ``-> !``: a stub that returns lets the guest run into ``unreachable``.
NEVER_RETURN = ("__wbindgen_throw", "__wbindgen_rethrow")


@attrs.frozen
class ImportCall:
    name: str
    args: tuple[Any, ...]
    returned: Any

    def to_json(self) -> dict[str, Any]:
        return {"import": self.name, "args": list(self.args), "returned": self.returned}


@attrs.define
class Step:
    call: str
    outcome: str  # "ok", "trap", "error"
    detail: dict[str, Any] = attrs.Factory(dict)
    imports: list[ImportCall] = attrs.Factory(list)
    explanation: Optional[str] = None

    def to_json(self) -> dict[str, Any]:
        return {
            "call": self.call,
            "outcome": self.outcome,
            "detail": self.detail,
            "imports": [c.to_json() for c in self.imports],
            "explanation": self.explanation,
        }


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[ImportCall] = []

    def stub(self, label: str, signature: FuncType) -> Any:
        result = zeros(signature)

        def handler(*args: Any) -> Any:
            self.calls.append(ImportCall(label, tuple(args), result))
            return result

        return handler


def stub_every_import(compiled: CompiledModule, recorder: _Recorder) -> Imports:
    """An :class:`Imports` answering every function import with zeros of its result types."""
    imports = Imports()
    for imp in compiled.info.module.imports:
        if imp.kind == "func" and isinstance(imp.type, FuncType):
            imports.register(imp.module, imp.name, recorder.stub(f"{imp.module}.{imp.name}", imp.type), caller=False)
    return imports


def _run(instance: Instance, recorder: Optional[_Recorder], call: str, export: str, *args: Any) -> tuple[Step, Any]:
    start = len(recorder.calls) if recorder else 0
    try:
        result = instance.call(export, *args)
        step = Step(call, "ok")
    except GuestTrap as trap:
        result = None
        step = Step(call, "trap", {"trap": trap.message, "last_import": trap.last_import})
    except RealmWasmerError as exc:
        result = None
        step = Step(call, "error", {"error": str(exc)})
    if recorder:
        step.imports = recorder.calls[start:]
    return step, result


def _explain_trap(step: Step, recorder_calls: Sequence[ImportCall], flag_offset: Optional[int], slot_words: Any) -> str:
    last = step.detail.get("last_import") or ""
    name = last.rsplit(".", 1)[-1]
    trap = step.detail.get("trap")
    if any(name.startswith(n) for n in NEVER_RETURN):
        why = (
            f"the guest called {last}, whose Rust signature never returns (it must throw); the stub returned "
            f"{recorder_calls[-1].returned if recorder_calls else 0!r} instead, so the guest ran on into "
            f"'{trap}'"
        )
        if flag_offset is not None and slot_words:
            why += (
                f". It threw because the slot is not an object: it holds the out-pointer words "
                f"{[hex(w) for w in slot_words]}, so the word at the borrow-flag offset +{flag_offset} is "
                f"{slot_words[flag_offset // 4]:#x}, which wasm-bindgen's borrow check reads as 'borrowed'"
            )
        return why
    if last:
        returned = next((c.returned for c in reversed(recorder_calls) if c.name == last), None)
        return (
            f"'{trap}' after the guest's last import call {last}, which the stub answered with {returned!r}; "
            "a real handler would have returned a value the guest could use"
        )
    return f"'{trap}' with no import called: the arguments themselves (slot or object pointer) are wrong"


def reproduce(
    compiled: CompiledModule,
    ctor: Constructor,
    info: Optional[ClassInfo],
    args: Sequence[ArgSpec],
    correct_imports: Optional[Imports] = None,
    flag_offset: Optional[int] = None,
    object_words: int = 3,
) -> dict[str, Any]:
    """Replay the upstream host's conditions on ``ctor``, then the same constructor correctly."""
    recorder = _Recorder()
    conditions = {
        "imports": "every import stubbed to return zeros of its result types (on_missing='stub' for all)",
        "wbindgen_start": "not called",
        "slot": "__wbindgen_malloc(200), called with one argument",
    }
    report: dict[str, Any] = {"conditions": conditions, "applies": True, "steps": [], "correct": []}
    steps: list[Step] = []
    malloc = compiled.info.roles.get("malloc")
    instance = compiled.instantiate(imports=stub_every_import(compiled, recorder), start=False)
    if ctor.pattern != 3 or ctor.multi_value or not malloc:
        report["applies"] = False
        report["why_not"] = (
            f"{ctor.export} is Pattern {ctor.pattern}{' (multi-value)' if ctor.multi_value else ''}: it takes no "
            "out-slot, so a malloc'd slot has nowhere to go"
            if malloc
            else "the module exports no malloc"
        )
    else:
        raw = instance.export_function(malloc)
        try:
            slot = int(raw(200)) & 0xFFFFFFFF
            steps.append(Step(f"{malloc}(200)", "ok", {"slot": slot}))
        except Exception as exc:  # the engine refuses the arity: that is the finding
            arity = compiled.info.features["malloc_arity"]
            steps.append(Step(f"{malloc}(200)", "error", {"error": f"{type(exc).__name__}: {exc}"},
                              explanation=f"this module's malloc takes {arity} arguments (size, align); the upstream "
                              "call with one argument is refused by the engine before the constructor runs"))
            report["applies"] = False
            report["why_not"] = f"{malloc} takes {arity} arguments here; the upstream one-argument call cannot be made"
            slot = 0
        if slot:
            values = materialize(instance, args)
            step, _ = _run(instance, recorder, f"{ctor.export}({slot:#x}{''.join(f', {v}' for v in values)})",
                           ctor.export, slot, *values)
            words = instance.memory.u32s(slot, object_words) if step.outcome == "ok" else ()
            if step.outcome == "ok":
                step.detail["slot_words"] = list(words)
                step.explanation = (
                    f"no trap: a 200-byte heap chunk is a valid out-slot; the callee allocated the object itself "
                    f"at {words[0]:#x} and wrote [object_ptr, error, is_err] = {[hex(w) for w in words]} into the slot"
                )
            elif step.outcome == "trap":
                step.explanation = _explain_trap(step, step.imports, None, None)
            steps.append(step)
            if step.outcome == "ok" and info is not None and info.free:
                free_args = (slot, 0) if (info.free_arity or 1) == 2 else (slot,)
                follow, _ = _run(
                    instance, recorder,
                    f"{info.free}({', '.join(hex(a) for a in free_args)}): the slot used as the object, as an "
                    "in-place constructor would",
                    info.free, *free_args,
                )
                if follow.outcome == "trap":
                    follow.explanation = _explain_trap(follow, follow.imports, flag_offset, words)
                elif follow.outcome == "ok":
                    follow.explanation = "the free export accepted the slot (no borrow check tripped)"
                steps.append(follow)
    report["steps"] = [s.to_json() for s in steps]
    report["correct"] = [s.to_json() for s in _correct(compiled, ctor, info, args, correct_imports)]
    return report


def _correct(
    compiled: CompiledModule, ctor: Constructor, info: Optional[ClassInfo], args: Sequence[ArgSpec],
    imports: Optional[Imports],
) -> list[Step]:
    steps: list[Step] = []
    instance = compiled.instantiate(imports=imports, on_missing="trap", start=True)
    values = materialize(instance, args)
    try:
        if info is not None:
            obj = instance.construct(info.name, *values, export=ctor.export)
            detail = {"object_ptr": obj.ptr, "explain": [str(s) for s in obj.explain]}
            steps.append(Step(f"construct({info.name}) via {ctor.export}", "ok", detail,
                              explanation="realm_wasmer's resolver chain answered the imports; the out-slot came "
                              "from the module's allocator (or the reserved shadow stack) as the glue does"))
            try:
                obj.close()
                steps.append(Step(f"{obj._free_export}({obj._ptr:#x})", "ok"))
            except RealmWasmerError as exc:
                steps.append(Step(f"{obj._free_export}", "error", {"error": str(exc)}))
        else:
            result = instance.call(ctor.export, *values)
            steps.append(Step(ctor.export, "ok", {"result": result}))
    except GuestTrap as trap:
        steps.append(Step(ctor.export, "trap", {"trap": trap.message, "last_import": trap.last_import}))
    except RealmWasmerError as exc:
        steps.append(Step(ctor.export, "error", {"error": str(exc)}))
    return steps
