"""Phase: compaction (libbpf ``btf_dedup_compact_types``).

Invariant established: the output type section holds exactly the split types with
``map[id] == id``, in ascending original ID order, renumbered consecutively from the
split's start ID; ``new_id`` maps every kept ID to its new ID, base IDs and void to
themselves and dropped IDs to UNPROCESSED.  There is no reachability pass: a
self-canonical type stays even if nothing references it any more.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from btfdedup.engine.graph import UNPROCESSED


@njit(cache=True, nogil=True)
def _gather(W, ts, kept):  # type: ignore[no-untyped-def]
    total = 0
    for i in range(kept.shape[0]):
        t = kept[i]
        total += ts[t + 1] - ts[t]
    out = np.empty(total, dtype=np.uint32)
    starts = np.empty(kept.shape[0] + 1, dtype=np.int64)
    w = 0
    for i in range(kept.shape[0]):
        t = kept[i]
        a = ts[t]
        b = ts[t + 1]
        starts[i] = w
        for j in range(b - a):
            out[w + j] = W[a + j]
        w += b - a
    starts[kept.shape[0]] = w
    return out, starts


def compact(W: np.ndarray, ts: np.ndarray, mp: np.ndarray, start_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Returns ``(kept_ids, new_id, words, type_start)`` of the compacted split part."""
    type_cnt = len(mp)
    ids = np.arange(start_id, type_cnt, dtype=np.int64)
    kept = ids[mp[start_id:] == ids]
    new_id = np.full(type_cnt, UNPROCESSED, dtype=np.uint32)
    new_id[:start_id] = np.arange(start_id, dtype=np.uint32)
    new_id[kept] = np.arange(start_id, start_id + len(kept), dtype=np.uint32)
    words, starts = _gather(W, ts, kept)
    return kept, new_id, words, starts
