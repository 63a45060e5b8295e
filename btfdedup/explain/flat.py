"""A BTF and its whole base chain as one table indexed by global type ID.

``dups``, ``diff`` and ``equiv`` look at types wherever they live in the chain (a
split type points at base types), so every vectorized pass works on
:class:`FlatTypes`: the chain's type sections concatenated (``words``), the record
start of every type ID (row 0 is void, an empty record), the per-ID columns, and
the type-ID fields as the edges of the type graph (``src`` type, ``dst`` type,
``pos``: the field's index inside its record, in libbpf's field-iterator order).
String fields are listed the same way; ``blob`` is the chain's strings
concatenated, so a global string offset indexes it directly.

Everything here is numpy arrays built from :mod:`btfdedup.model.fields`: no
per-type Python objects, so it runs on the 3.4 M-type raw vmlinux too (about
two seconds and a few hundred MB there).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from btfdedup.model import fields

if TYPE_CHECKING:
    import numpy as np

    from btfdedup.explain.labels import StringHasher
    from btfdedup.model.btf import Btf


@dataclass(frozen=True, eq=False)
class FlatTypes:
    """The chain of ``btf`` as global-ID columns and edge arrays (see the module doc).

    ``n`` is ``btf.type_cnt``: IDs ``0 .. n-1``, void included.  ``start[i]`` ..
    ``start[i + 1]`` are the words of type ``i`` in ``words`` (empty for void).
    """

    btf: Btf
    n: int
    words: np.ndarray
    start: np.ndarray
    kind: np.ndarray
    vlen: np.ndarray
    info: np.ndarray
    name_off: np.ndarray
    #: Type-ID fields: word position, owning type ID, index among the owner's type-ID
    #: fields, and the ID the field holds.
    tid_pos: np.ndarray
    src: np.ndarray
    pos: np.ndarray
    dst: np.ndarray
    #: String fields (name_off first, then member/param/enumerator names): word position, owner.
    str_pos: np.ndarray
    str_owner: np.ndarray
    blob: bytes

    @cached_property
    def strings(self) -> StringHasher:
        """Content labels of the chain's strings (:class:`~btfdedup.explain.labels.StringHasher`)."""
        from btfdedup.explain.labels import StringHasher

        return StringHasher(self.blob)

    @cached_property
    def rec_len(self) -> np.ndarray:
        """Words of each type's record (0 for void)."""
        import numpy as np

        return np.diff(self.start)

    @cached_property
    def in_degree(self) -> np.ndarray:
        """How many type-ID fields of the chain point at each ID."""
        import numpy as np

        return np.bincount(self.dst, minlength=self.n)

    @cached_property
    def out_csr(self) -> np.ndarray:
        """``out_csr[i] .. out_csr[i + 1]``: the edges leaving type ``i`` (edges are sorted by ``src``)."""
        import numpy as np

        return np.concatenate([[0], np.cumsum(np.bincount(self.src, minlength=self.n))]).astype(np.int64)

    def reach(self, roots: list[int], limit: int | None = None, stop: np.ndarray | None = None) -> np.ndarray:
        """The type IDs reachable from ``roots`` (roots included, void excluded), as a
        boolean mask; a frontier-at-a-time walk over the CSR arrays, no per-type objects.
        ``limit`` stops after that many levels; the types of the ``stop`` mask are
        neither entered nor counted (so the walk costs what it finds)."""
        import numpy as np

        seen = np.zeros(self.n, dtype=np.bool_) if stop is None else stop.copy()
        front = np.unique(np.asarray(roots, dtype=np.int64))
        front = front[~seen[front]]
        seen[front] = True
        level = 0
        csr = self.out_csr
        while len(front) and (limit is None or level < limit):
            counts = csr[front + 1] - csr[front]
            owner, j = fields.ragged(counts)
            nxt = self.dst[csr[front][owner] + j]
            nxt = np.unique(nxt[~seen[nxt]])
            seen[nxt] = True
            front = nxt
            level += 1
        if stop is not None:
            seen &= ~stop
        seen[0] = False
        return seen


def flatten(btf: Btf) -> FlatTypes:
    """:class:`FlatTypes` of ``btf`` and its base chain."""
    import numpy as np

    chain = btf.chain()
    word_parts: list[np.ndarray] = []
    starts = [np.zeros(2, dtype=np.int64)]
    kinds = [np.zeros(1, dtype=np.uint8)]
    vlens = [np.zeros(1, dtype=np.int64)]
    names = [np.zeros(1, dtype=np.int64)]
    infos = [np.zeros(1, dtype=np.uint32)]
    tid_pos, tid_own, str_pos, str_own = [], [], [], []
    woff = 0
    for b in chain:
        words = b.words
        word_parts.append(words)
        starts.append(b.type_start[1:].astype(np.int64) + woff)
        kinds.append(b.kind.astype(np.uint8))
        vlens.append(b.vlen.astype(np.int64))
        names.append(b.name_off.astype(np.int64))
        infos.append(b.info.astype(np.uint32))
        p, o = fields.type_id_fields(b)
        tid_pos.append(p + woff)
        tid_own.append(o + b.start_id)
        p, o = fields.str_fields(b)
        str_pos.append(p + woff)
        str_own.append(o + b.start_id)
        woff += len(words)
    all_words = np.concatenate(word_parts) if word_parts else np.zeros(0, dtype=np.uint32)
    tpos = np.concatenate(tid_pos).astype(np.int64)
    src = np.concatenate(tid_own).astype(np.int64)
    counts = np.bincount(src, minlength=btf.type_cnt)
    _, j = fields.ragged(counts)
    return FlatTypes(
        btf=btf,
        n=btf.type_cnt,
        words=all_words,
        start=np.concatenate(starts),
        kind=np.concatenate(kinds),
        vlen=np.concatenate(vlens),
        info=np.concatenate(infos),
        name_off=np.concatenate(names),
        tid_pos=tpos,
        src=src,
        pos=j,
        dst=all_words[tpos].astype(np.int64),
        str_pos=np.concatenate(str_pos).astype(np.int64),
        str_owner=np.concatenate(str_own).astype(np.int64),
        blob=btf.all_strings(),
    )
