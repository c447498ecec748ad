"""The benchmark suite behind ``realm-wasmer bench`` (issue 12).

A benchmark is not a test: nothing here asserts a time. The suite measures, on
every available engine, the host's hot paths against their floor (the same
protocol hand-written on the bare engine), corpus calls through
``load_package`` against Node running the package's own glue, cold compile,
cached start and the import time, and writes a JSON report and a PNG plot.

Parts: :mod:`.timing` (interleaved batches, medians and spread),
:mod:`.machine` (what the figures were measured on), :mod:`.cases` (the
fixture, probe, compile, start and import cases as data), :mod:`.corpus` (the
npm corpus calls, Python and Node), :mod:`.suite` (the runner and the report),
:mod:`.goals` (the issue's goal table with the measured figures), :mod:`.plot`
(matplotlib) and :mod:`.cli`.

Nothing is imported here, so ``realm-wasmer`` stays quick to start.
"""

from __future__ import annotations
