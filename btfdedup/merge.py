"""Append many BTF objects into one, exactly as libbpf's add-APIs build it.

:func:`merge` reproduces ``btf__new_empty()`` (or ``btf__new_empty_split(base)``)
followed by ``btf__add_btf(dst, src)`` for every source in order:

* Type records are copied verbatim, then every type-ID field is renumbered so the
  source's own types follow the types already in the destination.  Void (0) stays 0.
* Every string field is re-interned into the destination's string set in libbpf's
  field-iterator order (type by type; name_off, then member/param/enumerator names).
  Offset 0 stays 0.  The destination's strings are unique by content and, for a
  split destination, a string equal to a base string takes the base's offset (its
  first occurrence, ``btf__find_str``) instead of being added.
* The result is built from scratch: 24-byte header (libbpf v1.6 ``btf__new_empty``),
  native byte order (a split destination takes its base's), no layout section and
  ``strs_deduped`` set, so a following dedup skips its strings phase.

Split sources.  libbpf v1.6 refuses to append split BTF (``btf__add_btf`` returns
-ENOTSUP).  The way modules are merged instead (the corpora README recipe, also what
a linker-style tool does) is: shift each module's own type IDs so they follow the
previously added types, keep its references into the shared base unchanged, and copy
the records one by one with ``btf__add_type`` into ``btf__new_empty_split(base)``.
Since ``btf__add_type`` interns strings exactly like ``btf__add_btf``, :func:`merge`
accepts split sources on the destination's base and applies that recipe to them;
:func:`merge_modules` is the same operation with the split-ness checked.

Everything is vectorized: the field positions come from
:mod:`btfdedup.model.fields`, and the only Python-level loop runs over the *unique*
string offsets of each source.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import numpy as np

from btfdedup.errors import BtfUsageError
from btfdedup.format.constants import BTF_HDR_LEN_CLASSIC
from btfdedup.model.btf import Btf
from btfdedup.model.fields import str_fields, type_id_fields
from btfdedup.model.strings import StringBuilder, StringTable

NATIVE_BYTEORDER = "<" if sys.byteorder == "little" else ">"

#: Called after each source is appended: (index, number of sources, source).
Progress = Callable[[int, int, Btf], None]


def _same_base(a: Btf | None, b: Btf | None) -> bool:
    """Whether two base chains are the same BTF (by identity, else by content)."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    return (
        a.type_cnt == b.type_cnt
        and a.strings.start_off == b.strings.start_off
        and a.strings.data == b.strings.data
        and np.array_equal(a.words, b.words)
        and _same_base(a.base, b.base)
    )


def string_contents(table: StringTable, offsets: np.ndarray) -> list[bytes]:
    """The string at each global offset of ``offsets`` (resolved through the base chain)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    out: list[bytes] = [b""] * len(offsets)
    own = offsets >= table.start_off
    idx_own = np.flatnonzero(own)
    if len(idx_own):
        local = offsets[idx_own] - table.start_off
        nul = table.nul_positions
        ends = nul[np.searchsorted(nul, local)]
        data = table.data
        for i, a, b in zip(idx_own.tolist(), local.tolist(), ends.tolist(), strict=True):
            out[i] = data[a:b]
    idx_low = np.flatnonzero(~own)
    if len(idx_low):
        if table.base is None:
            # Only offset 0 can lie below a base table's start (start is 0): "".
            pass
        else:
            sub = string_contents(table.base, offsets[idx_low])
            for i, s in zip(idx_low.tolist(), sub, strict=True):
                out[i] = s
    return out


class _Interner:
    """The destination's string set: libbpf ``btf__add_str`` on a new BTF."""

    def __init__(self, base: Btf | None) -> None:
        self.base_strings = base.strings if base is not None else None
        self.start_off = base.strings.end_off if base is not None else 0
        self.builder = StringBuilder(with_empty=base is None)

    def add(self, s: bytes) -> int:
        if self.base_strings is not None:
            off = self.base_strings.find(s)
            if off >= 0:
                return off
        return self.start_off + self.builder.add(s)


def _remap_strings(src: Btf, words: np.ndarray, word0: int, interner: _Interner) -> None:
    """Re-intern every string field of ``src`` (copied at ``words[word0:]``) in iterator order."""
    pos, _owner = str_fields(src)
    if len(pos) == 0:
        return
    offs = src.words[pos]
    nz = offs != 0
    if not nz.any():
        return
    pos = pos[nz]
    offs = offs[nz]
    uniq, first, inverse = np.unique(offs, return_index=True, return_inverse=True)
    # Intern in order of first reference: that is the order libbpf adds them.
    order = np.argsort(first, kind="stable")
    contents = string_contents(src.strings, uniq[order])
    new_sorted = np.fromiter((interner.add(s) for s in contents), dtype=np.int64, count=len(contents))
    new_uniq = np.empty(len(uniq), dtype=np.int64)
    new_uniq[order] = new_sorted
    words[word0 + pos] = new_uniq[inverse].astype(np.uint32)


def _remap_type_ids(src: Btf, words: np.ndarray, word0: int, dst_cnt: int) -> None:
    """Renumber ``src``'s own type IDs to follow ``dst_cnt - 1``; base IDs and void stay."""
    pos, _owner = type_id_fields(src)
    if len(pos) == 0:
        return
    ids = src.words[pos].astype(np.int64)
    own = ids >= src.start_id
    ids[own] += dst_cnt - src.start_id
    words[word0 + pos] = ids.astype(np.uint32)


def merge(btfs: Sequence[Btf], base: Btf | None = None, *, progress: Progress | None = None) -> Btf:
    """A fresh BTF holding all types of ``btfs`` in order (libbpf ``btf__add_btf``
    into ``btf__new_empty[_split](base)``); see the module docstring for split sources."""
    for i, src in enumerate(btfs):
        if src.base is not None and not _same_base(src.base, base):
            what = "has no base" if base is None else "a different base"
            raise BtfUsageError(
                f"input {i} ({src.source or 'BTF'}) is split BTF on a base, but the merge "
                f"destination {what}; pass its base as the merge base"
            )
    interner = _Interner(base)
    start_id = base.type_cnt if base is not None else 1
    total_words = sum(int(b.words.shape[0]) for b in btfs)
    total_types = sum(b.nr_types for b in btfs)
    words = np.empty(total_words, dtype=np.uint32)
    type_start = np.empty(total_types + 1, dtype=np.int64)
    w = 0
    t = 0
    for i, src in enumerate(btfs):
        nw = int(src.words.shape[0])
        words[w : w + nw] = src.words
        type_start[t : t + src.nr_types] = src.type_start[:-1] + w
        _remap_strings(src, words, w, interner)
        _remap_type_ids(src, words, w, start_id + t)
        w += nw
        t += src.nr_types
        if progress is not None:
            progress(i, len(btfs), src)
    type_start[t] = w
    strings = interner.builder.to_bytes()
    return Btf.from_words(
        words,
        strings,
        base=base,
        type_start=type_start,
        byteorder=base.byteorder if base is not None else NATIVE_BYTEORDER,
        hdr_len=BTF_HDR_LEN_CLASSIC,
        strs_deduped=True,
    )


def merge_modules(split_btfs: Sequence[Btf], base: Btf, *, progress: Progress | None = None) -> Btf:
    """Merge split BTF objects (kernel modules) that share ``base`` into one split BTF
    on it: each module's own types shifted to follow the previous modules', base
    references kept, strings interned in order (the corpora README recipe)."""
    for i, src in enumerate(split_btfs):
        if src.base is None:
            raise BtfUsageError(f"input {i} ({src.source or 'BTF'}) is not split BTF; merge_modules needs modules")
    return merge(split_btfs, base, progress=progress)


__all__ = ["merge", "merge_modules", "string_contents"]
