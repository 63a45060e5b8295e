"""Write the deduplicated BTF of a partition: one record per class, IDs rewritten.

Shared by the structural strategies (``canonical``, ``hash``).  For a partition of
the graph of ``btf`` (base chain included):

* a class holding a base type (not a merged forward) is that base type: base types never
  change, and split types of its class map onto the smallest such base ID (void is
  its own class, ID 0);
* every other class with a split member becomes one output type, copied from its
  smallest split member (not a merged forward) (all members have the same shallow words),
  numbered from ``btf.start_id`` in the order ``order`` gives;
* every type-ID field becomes the output ID of its target's class; every string
  offset points into a new string section holding each referenced content once, in
  ``strcmp`` order (split BTF: a content the base holds keeps the base's offset, as
  libbpf does).

The result also gives the input -> output type-ID map (base IDs map to themselves).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from btfdedup.model.btf import Btf
from btfdedup.model.fields import ragged
from btfdedup.model.strindex import StringIndex
from btfdedup.strategies.partition import Partition, representatives

if TYPE_CHECKING:
    from btfdedup.strategies.graph import TypeGraph

#: order(classes, reps) -> permutation of ``classes`` giving their output order
Order = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _string_section(graph: TypeGraph, ranks: np.ndarray) -> tuple[bytes, np.ndarray]:
    """The new string section for the distinct content ``ranks`` (sorted) and the
    offset of each rank in it (a global offset, past the base for split BTF)."""
    btf = graph.btf
    blob = graph.blob
    nuls = np.flatnonzero(np.frombuffer(blob, dtype=np.uint8) == 0) if blob else np.zeros(0, dtype=np.int64)
    offs = graph.rank_offset[ranks]
    ends = nuls[np.searchsorted(nuls, offs)] if len(offs) else offs
    base = btf.base
    new_off = np.zeros(len(ranks), dtype=np.int64)
    if base is None:
        parts = [b""]
        pos = 1
        start = 0
    else:
        parts = []
        pos = 0
        start = base.strings.end_off
        index = StringIndex(base.all_strings())
    for i, (o, e) in enumerate(zip(offs.tolist(), ends.tolist(), strict=True)):
        if o == e:
            new_off[i] = 0
            continue
        s = blob[o:e]
        if base is not None:
            found = index.find(s)
            if found >= 0:
                new_off[i] = found
                continue
        parts.append(s)
        new_off[i] = start + pos
        pos += len(s) + 1
    data = b"\0".join(parts) + b"\0" if parts else b""
    return data, new_off


def emit(graph: TypeGraph, part: Partition, order: Order) -> tuple[Btf, np.ndarray]:
    """The output BTF of ``part`` and the input -> output type-ID map (uint32, one
    entry per input type ID)."""
    btf = graph.btf
    start_id = graph.start_id
    n = graph.n
    nodes = np.arange(n, dtype=np.int64)
    base_rep = representatives(part, nodes[:start_id])
    split_rep = representatives(part, nodes[start_id:])
    emitted = np.flatnonzero((base_rep < 0) & (split_rep >= 0))
    emitted = emitted[order(emitted, split_rep[emitted])]
    out_id = base_rep.copy()
    out_id[emitted] = start_id + np.arange(len(emitted), dtype=np.int64)

    reps = split_rep[emitted]
    lens = graph.rec_len[reps]
    owner, j = ragged(lens)
    rstart = graph.start[reps]
    words = graph.words[rstart[owner] + j].astype(np.uint32)
    out_starts = np.zeros(len(reps) + 1, dtype=np.int64)
    np.cumsum(lens, out=out_starts[1:])

    owner, j = ragged(graph.csr[reps + 1] - graph.csr[reps])
    e = graph.csr[reps][owner] + j
    words[out_starts[owner] + (graph.tid_pos[e] - rstart[owner])] = out_id[part.colour[graph.dst[e]]].astype(np.uint32)

    owner, j = ragged(graph.str_csr[reps + 1] - graph.str_csr[reps])
    f = graph.str_csr[reps][owner] + j
    spos = out_starts[owner] + (graph.str_pos[f] - rstart[owner])
    ranks = graph.str_rank[f]
    used = np.unique(ranks)
    data, new_off = _string_section(graph, used)
    words[spos] = new_off[np.searchsorted(used, ranks)].astype(np.uint32)

    out = btf.rewritten(words, data if btf.base is not None else (data or b"\0"), out_starts)
    type_map = out_id[part.colour].astype(np.uint32)
    type_map[:start_id] = np.arange(start_id, dtype=np.uint32)
    return out, type_map
