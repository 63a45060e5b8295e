"""The type graph the structural strategies partition: one node per type ID of the
whole base chain, one edge per type-ID field, and each record as exact "shallow" words.

The chain's records are concatenated and the field positions found in one compiled
pass (:func:`~btfdedup.strategies.refine_core.field_positions`, with the field
tables of :mod:`btfdedup.model.fields`: libbpf's field-iterator order).  Besides:

* ``shallow_words``: every record with its type-ID fields blanked (0) and every string
  offset replaced by the *content rank* of its string (``strcmp`` order among the
  distinct strings the records refer to, :func:`btfdedup.model.strrank.string_ranks`).
  Two records are equal apart from the types they refer to exactly when their shallow
  words are equal, whatever their string offsets, and the ranks depend on the set of
  string contents only, not on where the strings sit: the canonical order is built
  on them.
* ``csr``/``dst``: the edges leaving node ``v`` are ``dst[csr[v]:csr[v + 1]]``, in
  field order.

Everything is whole-column numpy (no per-type objects): on the raw 6.1 vmlinux the
graph is a few hundred MB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from btfdedup.format.constants import KIND_MASK, KIND_SHIFT, VLEN_MASK
from btfdedup.model.fields import FIELD_TABLES
from btfdedup.model.strrank import string_ranks
from btfdedup.strategies.refine_core import field_positions

if TYPE_CHECKING:
    from btfdedup.model.btf import Btf


@dataclass(eq=False)
class TypeGraph:
    """The graph of ``btf`` and its base chain (see the module docstring).

    Nodes are type IDs ``0 .. n-1`` (void included); ``start_id`` is the first of
    ``btf``'s own types (the nodes below it are base types, never changed).  Columns
    are per node; ``words[start[v]:start[v + 1]]`` is the record of ``v`` (void:
    empty); ``blob`` is the chain's strings, indexed by global string offset.
    """

    btf: Btf
    n: int
    start_id: int
    words: np.ndarray
    start: np.ndarray
    kind: np.ndarray
    info: np.ndarray
    vlen: np.ndarray
    #: type-ID fields: word positions, per node ``csr[v]:csr[v + 1]``, and targets
    tid_pos: np.ndarray
    csr: np.ndarray
    dst: np.ndarray
    #: string fields: word positions, per node ``str_csr[v]:str_csr[v + 1]`` (name first)
    str_pos: np.ndarray
    str_csr: np.ndarray
    blob: bytes
    #: records with type-ID fields blanked and string offsets as content ranks (uint32)
    shallow_words: np.ndarray
    #: content rank of each string field (aligned with ``str_pos``) and the rank of ""
    str_rank: np.ndarray
    empty_rank: int
    #: one global string offset per rank (an occurrence of that content)
    rank_offset: np.ndarray

    @property
    def rec_len(self) -> np.ndarray:
        """Words of each node's record (0 for void)."""
        return np.diff(self.start)

    def name_rank(self) -> np.ndarray:
        """Content rank of each node's name (int64; void gets -1)."""
        out = np.full(self.n, -1, dtype=np.int64)
        has = np.diff(self.str_csr) > 0
        out[has] = self.str_rank[self.str_csr[:-1][has]]
        return out

    def size_word(self) -> np.ndarray:
        """The size/type word (third word) of each node's record (int64; 0 for void)."""
        out = np.zeros(self.n, dtype=np.int64)
        if len(self.words):
            out[1:] = self.words[self.start[1:-1] + 2]
        return out

    def kflag(self) -> np.ndarray:
        """kind_flag of each node (0/1, int64)."""
        return (self.info >> np.uint32(31)).astype(np.int64)


def _content_ranks(blob: np.ndarray, offs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense ``strcmp`` rank of the string at each of ``offs`` among the distinct
    contents ``offs`` refers to, and one offset per rank.

    The blob's strings are ranked once (a string start follows each NUL); offsets
    into the middle of a string (a shared suffix) are ranked along with them.  Then
    the ranks are made dense over the contents actually referred to (a mask and a
    cumulative sum, no sort of the fields)."""
    nuls = np.flatnonzero(blob == 0)
    starts = np.concatenate([[0], nuls[:-1] + 1]).astype(np.int64)
    lookup = np.full(len(blob), -1, dtype=np.int64)
    lookup[starts] = np.arange(len(starts), dtype=np.int64)
    if len(offs):
        mid = offs[lookup[offs] < 0]
        if len(mid):
            mid = np.unique(mid)
            lookup[mid] = len(starts) + np.arange(len(mid), dtype=np.int64)
            starts = np.concatenate([starts, mid])
    ranked = string_ranks(blob, starts) if len(starts) else np.zeros(0, dtype=np.int64)
    field = ranked[lookup[offs]]
    used = np.zeros(int(ranked.max()) + 1 if len(ranked) else 0, dtype=bool)
    used[field] = True
    dense = np.cumsum(used) - 1
    rank = dense[field]
    rank_offset = np.zeros(int(used.sum()), dtype=np.int64)
    rank_offset[rank] = offs
    return rank, rank_offset


def build_graph(btf: Btf) -> TypeGraph:
    """:class:`TypeGraph` of ``btf`` (split BTF: its base chain included)."""
    chain = btf.chain()
    n = btf.type_cnt
    if len(chain) == 1:
        words = np.ascontiguousarray(chain[0].words, dtype=np.uint32)  # read only: no copy
    else:
        words = np.concatenate([b.words for b in chain]) if chain else np.zeros(0, dtype=np.uint32)
    start = np.zeros(n + 1, dtype=np.int64)
    woff, tid = 0, 1
    for b in chain:
        k = int(b.nr_types)
        start[tid + 1:tid + 1 + k] = b.type_start[1:k + 1] + woff
        woff += len(b.words)
        tid += k
    rec = words[np.minimum(start[:-1] + 1, max(len(words) - 1, 0))] if len(words) else np.zeros(n, dtype=np.uint32)
    info = rec.astype(np.uint32)
    info[0] = 0
    kind = ((info >> np.uint32(KIND_SHIFT)) & np.uint32(KIND_MASK)).astype(np.uint8)
    vlen = (info & np.uint32(VLEN_MASK)).astype(np.int64)
    tid_pos, csr, str_pos, str_csr = field_positions(words, start, *FIELD_TABLES)
    dst = words[tid_pos].astype(np.int64)
    shallow = words.copy()
    shallow[tid_pos] = 0
    offs = words[str_pos].astype(np.int64)
    blob_bytes = btf.all_strings()
    blob = np.frombuffer(blob_bytes, dtype=np.uint8) if blob_bytes else np.zeros(1, dtype=np.uint8)
    rank, rank_offset = _content_ranks(blob, offs)
    shallow[str_pos] = rank.astype(np.uint32)
    empty = np.flatnonzero(blob[rank_offset] == 0)
    empty_rank = int(empty[0]) if len(empty) else -1
    return TypeGraph(
        btf=btf,
        n=n,
        start_id=btf.start_id,
        words=words,
        start=start,
        kind=kind,
        info=info,
        vlen=vlen,
        tid_pos=tid_pos,
        csr=csr,
        dst=dst,
        str_pos=str_pos,
        str_csr=str_csr,
        blob=blob_bytes,
        shallow_words=shallow,
        str_rank=rank,
        empty_rank=empty_rank,
        rank_offset=rank_offset,
    )
