"""Explain BTF: where duplicates diverge, what changed between two BTFs, whether two
BTFs are the same up to renumbering.

One module per concern:

* :mod:`~btfdedup.explain.flat`: a BTF and its base chain as one global-ID table
  (numpy columns, type-ID fields as edges), the input of every vectorized pass;
* :mod:`~btfdedup.explain.labels`: vectorized 64-bit labels: string contents,
  each record with its type-ID fields blanked (shallow labels), the C-level
  reference labels :mod:`diff` compares by;
* :mod:`~btfdedup.explain.refine`: colour refinement over the type graphs (numpy),
  with individualization;
* :mod:`~btfdedup.explain.walk`: the lockstep structural walk of two types, the one
  comparison of type pairs that ``dups``, ``diff`` and ``equiv`` share;
* :mod:`~btfdedup.explain.naming`: how types are named in reports (bpftool's
  ``KIND 'name'``, C declarators);
* :mod:`~btfdedup.explain.dups`, :mod:`~btfdedup.explain.diff`,
  :mod:`~btfdedup.explain.equiv`: the three questions;
* :mod:`~btfdedup.explain.rules`: which libbpf dedup rule leaves a known kind of
  duplicate behind;
* :mod:`~btfdedup.explain.graphs`: subgraphs as networkx graphs, GraphML/DOT/PNG;
* :mod:`~btfdedup.explain.inputs`: the two inputs of a comparison, each on its base.

Costs: everything that runs over a whole BTF is numpy over the chain (no per-type
Python objects; the 3.4 M-type raw vmlinux goes through, slowly: about a minute and
2.6 GB for ``dups --name task_struct``, most of it refinement rounds).  Per-type
views are decoded only for the pairs a report explains: the changed pairs of a diff
(about 35,000 views for 6.1 → 6.18's 4,195 changed types, about 1 s), the copies
``dups`` compares, a witness.
"""
