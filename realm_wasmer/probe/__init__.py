"""The layout probe: what memory contract a constructor needs, measured.

``probe(module, class_name) -> LayoutReport``; the CLI is ``realm-wasmer probe``
(:mod:`realm_wasmer.probe.cli`). One module per part: ``args`` (argument
specs), ``state`` (fresh instance states), ``trial`` (one constructor call in a
prepared slot), ``alloc`` (dlmalloc calibration), ``slot`` and ``object`` (the
Hypothesis sweeps and what they find), ``seeds`` (the upstream host's
conditions replayed), ``render`` (text and SVG maps).
"""

from __future__ import annotations

from .probe import LayoutReport, probe, runner_for

__all__ = ["LayoutReport", "probe", "runner_for"]
