"""The cost of limits: rewrite times of the wasmer load transforms, and metered vs unmetered calls.

    .venv/bin/python benchmarks/bench_limits.py [--corpus /tmp/realm-corpus-public] [--engines ...] [--rounds 5]

* rewrite: for the Realm fixture and each corpus module (fetched by
  ../shared/corpus/fetch.sh into ``--corpus``), the seconds of the transforms a
  wasmer engine applies without limits (trampolines, stack pointer export, and
  any other registered transform) and with limits (also grow guards and metering),
  and whether wasmtime's validator accepts the result;
* calls: photon's compute-bound filters (gaussian_blur, sharpen, resize) on a
  1024x1024 image, the median of ``--rounds`` runs, without limits and with
  ``Limits(fuel=10**12, timeout_s=600)`` (never reached: the cost of the
  accounting only), the two alternating round by round, and the ratio
  metered/unmetered per engine (every wasmer compiler, and wasmtime's native
  fuel and epochs) with its geometric mean over the cases.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import wasmtime

import realm_wasmer as rw
from realm_wasmer import engines, pipeline
from realm_wasmer.wasm import parse

ROOT = Path(__file__).resolve().parents[1]
REALM = ROOT / "wasm" / "realm.wasm"
PACKAGES = ROOT.parent / "shared" / "corpus" / "packages.json"
LIMITS = rw.Limits(fuel=10**12, timeout_s=600.0)


def corpus_modules(corpus: Path) -> dict[str, Path]:
    found = {"realm": REALM}
    if PACKAGES.is_file():
        for package in json.loads(PACKAGES.read_text())["packages"]:
            path = corpus / "pkgs" / package["id"] / package["wasm_path"]
            if path.is_file():
                found[package["id"]] = path
    big = corpus / "pkgs" / "tiktoken" / "package" / "tiktoken_bg.wasm"
    if big.is_file():
        found["tiktoken (full)"] = big
    return found


def rewrite(data: bytes, limits: rw.Limits | None) -> tuple[float, bytes, list[str]]:
    steps = pipeline.plan(parse(data), engines.lookup("wasmer-cranelift"), limits=limits)
    started = time.perf_counter()
    out = data
    for step in steps:
        out = step.apply(out, parse(out))
    return time.perf_counter() - started, out, [s.key for s in steps]


def bench_rewrites(corpus: Path) -> None:
    print(f"{'module':18} {'bytes':>9}  {'wasmer transforms':>18}  {'+ limits':>10}  valid")
    check = wasmtime.Engine()
    for name, path in corpus_modules(corpus).items():
        data = path.read_bytes()
        plain, out_plain, _ = rewrite(data, None)
        metered, out_metered, keys = rewrite(data, LIMITS)
        valid = all(wasmtime.Module.validate(check, out) is None for out in (out_plain, out_metered))
        print(f"{name:18} {len(data):9}  {plain:16.3f} s  {metered:8.3f} s  {valid}  ({', '.join(keys)})")


def photon_cases(instance: rw.Instance) -> tuple[Callable[[], int], dict[str, Callable[[int], Any]]]:
    """A 1024x1024 image maker and the compute-bound calls on one photon instance."""
    width = height = 1024
    pixels = bytes((i * 7 + (i >> 10)) & 0xFF for i in range(width * height * 4))

    def image() -> int:
        ptr, length = instance.abi.pass_bytes(pixels)
        return int(instance.call("photonimage_new", ptr, length, width, height)) & 0xFFFFFFFF

    cases: dict[str, Callable[[int], Any]] = {
        "gaussian_blur": lambda img: instance.call("gaussian_blur", img, 3),
        "sharpen": lambda img: instance.call("sharpen", img),
        "resize": lambda img: instance.call("__wbg_photonimage_free", instance.call("resize", img, 512, 512, 1)),
    }
    return image, cases


def time_case(instance: rw.Instance, image: Callable[[], int], run: Callable[[int], Any]) -> float:
    img = image()
    started = time.perf_counter()
    run(img)
    took = time.perf_counter() - started
    instance.call("__wbg_photonimage_free", img)
    return took


def bench_calls(corpus: Path, names: list[str], rounds: int) -> dict[str, dict[str, float]]:
    """Per engine and case: the metered/unmetered ratio of medians. The two instances run
    alternately, round by round, so that machine load falls on both alike."""
    path = corpus / "pkgs" / "photon" / "package" / "photon_rs_bg.wasm"
    if not path.is_file():
        print(f"photon is not at {path}: run ../shared/corpus/fetch.sh {corpus}")
        return {}
    ratios: dict[str, dict[str, float]] = {}
    for engine in names:
        plain = rw.load(path, engine=engine)
        metered = rw.load(path, engine=engine, limits=LIMITS)
        (plain_image, plain_cases), (metered_image, metered_cases) = photon_cases(plain), photon_cases(metered)
        ratios[engine] = {}
        for case in plain_cases:
            off: list[float] = []
            on: list[float] = []
            for _ in range(rounds):
                off.append(time_case(plain, plain_image, plain_cases[case]))
                on.append(time_case(metered, metered_image, metered_cases[case]))
            ratio = statistics.median(on) / statistics.median(off)
            ratios[engine][case] = ratio
            print(f"{engine:18} {case:14} unmetered {statistics.median(off) * 1e3:8.1f} ms  "
                  f"metered {statistics.median(on) * 1e3:8.1f} ms  ratio {ratio:5.2f}", flush=True)
    print("\nmetering cost (metered/unmetered, median of rounds; geometric mean over the cases):")
    for engine, by_case in ratios.items():
        mean = statistics.geometric_mean(by_case.values())
        print(f"  {engine:18} {mean:5.2f}  ({', '.join(f'{c} {r:.2f}' for c, r in by_case.items())})")
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("/tmp/realm-corpus-public"))
    parser.add_argument("--engines", default="wasmer-cranelift,wasmer-singlepass,wasmer-llvm,wasmtime")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip-rewrites", action="store_true")
    args = parser.parse_args()
    if not args.skip_rewrites:
        bench_rewrites(args.corpus)
    bench_calls(args.corpus, args.engines.split(","), args.rounds)


if __name__ == "__main__":
    main()
