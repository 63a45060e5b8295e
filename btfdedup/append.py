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
* The result is built from scratch: the header ``btf__new_empty`` of the chosen libbpf
  release writes (``libbpf_version``: 24 bytes up to 1.7, 32 bytes with zero
  ``layout_off``/``layout_len`` for 1.8, see :mod:`btfdedup.engine.profiles`),
  native byte order (a split destination takes its base's), no layout section and
  ``strs_deduped`` set, so a following dedup skips its strings phase.

Split sources.  libbpf v1.6 refuses to append split BTF (``btf__add_btf`` returns
-ENOTSUP).  The way modules are merged instead (the corpora README recipe, also what
a linker-style tool does) is: shift each module's own type IDs so they follow the
previously added types, keep its references into the shared base unchanged, and copy
the records one by one with ``btf__add_type`` into ``btf__new_empty_split(base)``.
Since ``btf__add_type`` interns strings exactly like ``btf__add_btf``, :func:`merge`
accepts split sources on the destination's base and applies that recipe to them;
:func:`merge_modules` is that recipe with the split-ness checked, for every release.
libbpf 1.7.0 made ``btf__add_btf`` itself accept a split source on the destination's
base, and :func:`merge` with ``libbpf_version`` "1.7" or "1.8" does what it does: an
offset into the base's strings is kept as it is, where ``btf__add_type`` looks the
string up again (the base's first occurrence; a reference into the middle of a base
string is even added as a new string).  Both give the same bytes whenever the source
only names whole base strings that occur once, as real modules do.

The records are copied with numpy, then one compiled walk per source
(:mod:`btfdedup.append_walk`) goes record by record, as libbpf does: it interns every
string field in iterator order into the package's string index
(:mod:`btfdedup.model.strindex`) pre-filled with the base chain's strings, first
occurrence winning — which is exactly "``btf__find_str`` in the base, else add to
the new set" — and shifts the source's own type IDs.  A
source offset seen before in the same source (or a base offset seen in any) is
answered from a per-offset memo, since the set's answers never change.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import numpy as np

from btfdedup import append_walk
from btfdedup.append_walk import (
    APPEND_BAD_RECORD,
    APPEND_BAD_STRING,
    APPEND_NO_MEMORY,
    APPEND_TOO_LARGE,
    MEMO_UNKNOWN,
)
from btfdedup.engine.profiles import DEFAULT_LIBBPF_VERSION, profile_for
from btfdedup.errors import BtfFormatError, BtfUsageError
from btfdedup.format.constants import LIBBPF_MAX_STR_OFFSET
from btfdedup.model.btf import Btf
from btfdedup.model.build import check_strings, record_boundaries
from btfdedup.model.fields import STR_PER_VLEN, STR_STRIDE, TID_FIRST, TID_FIXED, TID_PER_VLEN, TID_STRIDE
from btfdedup.model.records import KindSizes
from btfdedup.model.strindex import StringIndex
from btfdedup.model.strings import StringTable

NATIVE_BYTEORDER = "<" if sys.byteorder == "little" else ">"

#: Called after each source is appended: (index, number of sources, source).
Progress = Callable[[int, int, Btf], None]


def same_btf(a: Btf | None, b: Btf | None) -> bool:
    """Whether two BTF chains are the same BTF (by identity, else by content): what
    decides that a base given on the command line is the one a split was made on."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    return (
        a.type_cnt == b.type_cnt
        and a.strings.start_off == b.strings.start_off
        and a.strings.data == b.strings.data
        and np.array_equal(a.words, b.words)
        and same_btf(a.base, b.base)
    )


class StringSet:
    """The destination's strings: libbpf ``btf__add_str`` on a fresh BTF (unique by
    content; with a base, an equal base string answers with its base offset).

    The content index is a :class:`~btfdedup.model.strindex.StringIndex` over the base
    chain's strings that the compiled loops of :mod:`btfdedup.append_walk` extend with
    every new string; the output blob is a numpy array they fill, and a loop stops
    before a string that does not fit it, so :meth:`_grow` can enlarge it first.
    (``index.find`` answers for the base chain's strings only: the strings added
    since live in the output blob, which only the loops are given.)
    """

    def __init__(self, base: Btf | None, *, keep_base_offsets: bool = False) -> None:
        # the chain's strings (a global offset below dst_start indexes them), every
        # string start entered, first occurrence winning (btf__find_str)
        self.index = StringIndex(base.all_strings() if base is not None else b"")
        self.dst_start = len(self.index.data)
        self.out = np.zeros(1 << 12, dtype=np.uint8)
        self.out_len = 0
        #: destination offset of each base-chain offset already interned (see append_types);
        #: with ``keep_base_offsets`` (libbpf 1.7+ ``btf__add_btf`` of a split source)
        #: every base-chain offset is known from the start: it stays as it is
        if keep_base_offsets:
            self.base_memo = np.arange(self.dst_start, dtype=np.uint32)
        else:
            self.base_memo = np.full(self.dst_start, MEMO_UNKNOWN, dtype=np.uint32)
        if base is None:
            self.out_len = 1  # "" at offset 0, as btf__new_empty starts
            append_walk.index_output(self.index, self.out, self.out_len)

    def _grow(self, longest: int) -> None:
        """Room in the output blob for one more string of up to ``longest`` bytes, and
        plenty more (a string may come from the base blob too: a reference into the
        middle of a base string is not a base string itself and gets added)."""
        need = self.out_len + longest + 1
        cap = self.out.shape[0]
        while need > cap:
            cap *= 2
        cap = max(cap, 2 * self.out.shape[0])
        out = np.zeros(cap, dtype=np.uint8)
        out[: self.out_len] = self.out[: self.out_len]
        self.out = out

    def _fail(self, err: int) -> None:
        """Raise for an entry the string index could not take."""
        if err == APPEND_NO_MEMORY:
            raise MemoryError("string index")
        if err == APPEND_TOO_LARGE:
            raise BtfFormatError(
                f"merged string section passes {self.dst_start + self.out_len} bytes; "
                f"offsets past {LIBBPF_MAX_STR_OFFSET:#x} are not allowed"
            )

    def intern_fields(self, offs: np.ndarray, srcs: np.ndarray, sources: Sequence[StringTable]) -> None:
        """Rewrite ``offs`` (int64 string offsets of ``sources[srcs[k]]``, in iterator
        order) in place with destination offsets."""
        parts = [t.data for t in sources]
        blob_start = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(x) for x in parts], out=blob_start[1:])
        own_all = np.frombuffer(b"".join(parts) + b"\0", dtype=np.uint8)
        own_start = np.array([t.start_off for t in sources], dtype=np.int64)
        srcs = np.ascontiguousarray(srcs, dtype=np.int64)
        k = 0
        n = int(offs.shape[0])
        while True:
            k, self.out_len, err = append_walk.intern_offsets(
                offs, srcs, k, own_all, blob_start, own_start, self.index, self.out, self.out_len,
            )
            if err == APPEND_BAD_STRING:
                raise BtfUsageError(f"string offset {int(offs[k])} names no string of its string section")
            self._fail(err)
            if k >= n:
                return
            self._grow(max(len(own_all), self.dst_start))

    def append_types(self, words: np.ndarray, type_start: np.ndarray, t0: int, t1: int, src: Btf,
                     delta: int) -> None:
        """``btf__add_btf`` of records ``t0 .. t1 - 1`` of ``words`` (copied from ``src``,
        in order): strings interned, the source's own type IDs shifted by ``delta``."""
        own = np.frombuffer(src.strings.data, dtype=np.uint8)
        own_memo = np.full(len(own), MEMO_UNKNOWN, dtype=np.uint32)
        t, jf = t0, 0
        while True:
            t, jf, self.out_len, err, word = append_walk.append_types(
                words, type_start, t, t1, jf, src.start_id, delta, own, src.strings.start_off, own_memo,
                self.base_memo, self.index, self.out, self.out_len,
                TID_FIRST, TID_STRIDE, TID_FIXED, TID_PER_VLEN, STR_STRIDE, STR_PER_VLEN,
            )
            if err == APPEND_BAD_STRING:
                raise BtfFormatError(
                    f"string offset {int(words[word])} is outside the string section "
                    f"(strings end at {src.strings.end_off})",
                    source=src.source,
                    type_id=src.start_id + t - t0,
                )
            if err == APPEND_BAD_RECORD:
                raise BtfFormatError(
                    "record does not hold the fields its kind and vlen give",
                    source=src.source,
                    type_id=src.start_id + t - t0,
                )
            self._fail(err)
            if t >= t1:
                return
            self._grow(max(len(own), self.dst_start))

    def to_bytes(self) -> bytes:
        return self.out[: self.out_len].tobytes()


def merge(btfs: Sequence[Btf], base: Btf | None = None, *, progress: Progress | None = None,
          libbpf_version: str = DEFAULT_LIBBPF_VERSION) -> Btf:
    """A fresh BTF holding all types of ``btfs`` in order (libbpf ``btf__add_btf``
    into ``btf__new_empty[_split](base)``); see the module docstring for split sources.
    ``libbpf_version`` ("1.1", "1.6", "1.7", "1.8") picks the header the fresh BTF gets
    and, from 1.7, ``btf__add_btf``'s own handling of split sources (base string offsets
    kept; see the module docstring).

    >>> import btfdedup
    >>> a, b = btfdedup.load("corpora/bpf/fwd_user.bpf.o"), btfdedup.load("corpora/bpf/fwd_owner.bpf.o")
    >>> merged = btfdedup.merge([a, b])
    >>> len(a), len(b), len(merged), merged[len(a) + 1].name == b[1].name   # b's types follow a's
    (32, 33, 65, True)
    """
    profile = profile_for(libbpf_version)
    return _merge(btfs, base, progress, profile.new_hdr_len, keep_base_offsets=profile.add_btf_split)


def _merge(btfs: Sequence[Btf], base: Btf | None, progress: Progress | None, hdr_len: int, *,
           keep_base_offsets: bool) -> Btf:
    """:func:`merge` with the header length and the base-string rule given."""
    for i, src in enumerate(btfs):
        if src.base is not None and not same_btf(src.base, base):
            what = "has no base" if base is None else "a different base"
            raise BtfUsageError(
                f"input {i} ({src.source or 'BTF'}) is split BTF on a base, but the merge "
                f"destination {what}; pass its base as the merge base"
            )
    strset = StringSet(base, keep_base_offsets=keep_base_offsets)
    start_id = base.type_cnt if base is not None else 1
    nr = np.array([b.nr_types for b in btfs], dtype=np.int64)
    nw = np.array([int(b.words.shape[0]) for b in btfs], dtype=np.int64)
    type0 = np.concatenate([[0], np.cumsum(nr)])  # first merged local index of each source
    word0 = np.concatenate([[0], np.cumsum(nw)])
    total_types = int(type0[-1])
    w = int(word0[-1])
    words = np.empty(w, dtype=np.uint32)
    type_start = np.empty(total_types + 1, dtype=np.int64)
    for i, src in enumerate(btfs):
        words[word0[i] : word0[i + 1]] = src.words
        type_start[type0[i] : type0[i + 1]] = src.type_start[:-1] + word0[i]
    type_start[total_types] = w
    # The records must tile the merged section, each sized by its kind and vlen (a
    # parsed source's do; a hand-built one's may not).
    type_start, _, _ = record_boundaries(words, type_start, KindSizes(), source=None, start_id=start_id,
                                         type_base_offset=0)
    # One compiled walk per source, in order: strings interned in iterator order,
    # the source's own type IDs shifted to follow what the destination holds.
    for i, src in enumerate(btfs):
        delta = start_id + int(type0[i]) - src.start_id
        strset.append_types(words, type_start, int(type0[i]), int(type0[i + 1]), src, delta)
        if progress is not None:
            progress(i, len(btfs), src)
    strings = strset.to_bytes()
    check_strings(strings, base, None, 0)
    # Every ID and string offset is in range by construction: the sources were
    # checked when they were built and the walk keeps them inside the merged object.
    return Btf(
        words,
        type_start,
        StringTable(strings, strset.dst_start, base.strings if base is not None else None),
        base=base,
        byteorder=base.byteorder if base is not None else NATIVE_BYTEORDER,
        hdr_len=hdr_len,
        strs_deduped=True,
    )


def merge_modules(split_btfs: Sequence[Btf], base: Btf, *, progress: Progress | None = None,
                  libbpf_version: str = DEFAULT_LIBBPF_VERSION) -> Btf:
    """Merge split BTF objects (kernel modules) that share ``base`` into one split BTF
    on it: each module's own types shifted to follow the previous modules', base
    references kept, strings interned in order with ``btf__add_type`` (the corpora
    README recipe, in every release; ``libbpf_version`` picks the header)."""
    for i, src in enumerate(split_btfs):
        if src.base is None:
            raise BtfUsageError(f"input {i} ({src.source or 'BTF'}) is not split BTF; merge_modules needs modules")
    return _merge(split_btfs, base, progress, profile_for(libbpf_version).new_hdr_len, keep_base_offsets=False)


__all__ = ["StringSet", "merge", "merge_modules", "same_btf"]
