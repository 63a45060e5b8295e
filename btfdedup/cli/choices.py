"""Option values several verbs accept, in one place that imports nothing heavy.

Building a verb's parser must not import numpy or the compiled core (``--help`` starts
in the interpreter's own time), so the lists live here rather than next to the code
that implements them; tests check each against its source of truth
(:data:`btfdedup.engine.profiles.LIBBPF_VERSIONS`,
:data:`btfdedup.workflows.provenance.MAP_FORMATS`,
:data:`btfdedup.workflows.parallel.EXECUTORS`).
"""

from __future__ import annotations

#: ``--libbpf-version``: the libbpf releases whose bytes the engine reproduces
LIBBPF_VERSION_CHOICES = ("1.1", "1.6", "1.7", "1.8")

#: ``--map-format``: the provenance map's file formats
MAP_FORMAT_CHOICES = ("jsonl", "csv")

#: ``--executor``: where a parallel dedup's workers run
EXECUTOR_CHOICES = ("local", "dask")

__all__ = ["EXECUTOR_CHOICES", "LIBBPF_VERSION_CHOICES", "MAP_FORMAT_CHOICES"]
