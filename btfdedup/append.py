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

Everything is vectorized: sources are processed in chunks of consecutive sources,
the field positions of a whole chunk come from :mod:`btfdedup.model.fields`, type
IDs are renumbered with numpy, and the strings are interned by one compiled walk
over the chunk's string fields (in iterator order) into an open-addressing table
pre-filled with the base chain's strings, first occurrence winning — which is
exactly "``btf__find_str`` in the base, else add to the new set".
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import numpy as np
from numba import njit

from btfdedup.errors import BtfUsageError
from btfdedup.format.constants import BTF_HDR_LEN_CLASSIC
from btfdedup.model.btf import Btf
from btfdedup.model.fields import str_fields, type_id_fields
from btfdedup.model.strings import StringTable

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


_EMPTY_SLOT = -1
_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)


@njit(cache=True, nogil=True, inline="always")
def _str_hash(blob, p):  # type: ignore[no-untyped-def]
    """FNV-1a of the NUL-terminated string at ``blob[p]``, and its length."""
    h = _FNV_OFFSET
    i = p
    while blob[i] != 0:
        h = (h ^ np.uint64(blob[i])) * _FNV_PRIME
        i += 1
    return h, i - p


@njit(cache=True, nogil=True, inline="always")
def _str_eq(a, pa, b, pb, n):  # type: ignore[no-untyped-def]
    """Whether ``a[pa:]`` and ``b[pb:]`` hold the same ``n``-byte NUL-terminated string."""
    if b[pb + n] != 0:
        return False
    for k in range(n):
        if a[pa + k] != b[pb + k]:
            return False
    return True


@njit(cache=True, nogil=True)
def _index_base(base_blob, slot_off, slot_hash):  # type: ignore[no-untyped-def]
    """Enter every string start of the base chain blob, first occurrence winning
    (``btf__find_str`` semantics).  Returns the number of entries."""
    mask = slot_off.shape[0] - 1
    count = 0
    p = 0
    n = base_blob.shape[0]
    while p < n:
        h, ln = _str_hash(base_blob, p)
        j = np.int64(h & np.uint64(mask))
        while True:
            so = slot_off[j]
            if so == _EMPTY_SLOT:
                slot_off[j] = p
                slot_hash[j] = h
                count += 1
                break
            if slot_hash[j] == h and _str_eq(base_blob, p, base_blob, so, ln):
                break
            j = (j + 1) & mask
        p += ln + 1
    return count


@njit(cache=True, nogil=True)
def _intern_fields(offs, srcs, k0, own_all, blob_start, own_start, base_blob, out_blob, out_len, dst_start,
                   slot_off, slot_hash, count):  # type: ignore[no-untyped-def]
    """Intern the string of every field ``k0..`` (global offset ``offs[k]`` of source
    ``srcs[k]``), in order, rewriting ``offs`` in place with destination offsets.

    Offsets below the source's ``own_start`` are read from the base chain blob, the
    others from the source's own blob at ``own_all[blob_start[src]:]``.  Stops early,
    returning the index to resume at, when the table or the output blob needs to
    grow; returns ``(next_k, out_len, count)``.
    """
    cap = slot_off.shape[0]
    mask = cap - 1
    out_cap = out_blob.shape[0]
    n = offs.shape[0]
    for k in range(k0, n):
        o = offs[k]
        if o == 0:
            continue
        s = srcs[k]
        if o < own_start[s]:
            blob = base_blob
            p = np.int64(o)
        else:
            blob = own_all
            p = blob_start[s] + (np.int64(o) - own_start[s])
        h, ln = _str_hash(blob, p)
        if (count + 1) * 2 > cap or out_len + ln + 1 > out_cap:
            return k, out_len, count
        j = np.int64(h & np.uint64(mask))
        while True:
            so = slot_off[j]
            if so == _EMPTY_SLOT:
                newoff = dst_start + out_len
                out_blob[out_len : out_len + ln] = blob[p : p + ln]
                out_blob[out_len + ln] = 0
                out_len += ln + 1
                slot_off[j] = newoff
                slot_hash[j] = h
                offs[k] = newoff
                count += 1
                break
            if slot_hash[j] == h:
                if so < dst_start:
                    same = _str_eq(blob, p, base_blob, so, ln)
                else:
                    same = _str_eq(blob, p, out_blob, so - dst_start, ln)
                if same:
                    offs[k] = so
                    break
            j = (j + 1) & mask
    return n, out_len, count


@njit(cache=True, nogil=True)
def _rehash(slot_off, slot_hash, new_off, new_hash):  # type: ignore[no-untyped-def]
    mask = new_off.shape[0] - 1
    for i in range(slot_off.shape[0]):
        so = slot_off[i]
        if so != _EMPTY_SLOT:
            j = np.int64(slot_hash[i] & np.uint64(mask))
            while new_off[j] != _EMPTY_SLOT:
                j = (j + 1) & mask
            new_off[j] = so
            new_hash[j] = slot_hash[i]


def _chain_blob(strings: StringTable | None) -> np.ndarray:
    """The string blobs of a base chain concatenated deepest first, so that a global
    offset indexes the result directly."""
    parts: list[bytes] = []
    t = strings
    while t is not None:
        parts.append(t.data)
        t = t.base
    return np.frombuffer(b"".join(reversed(parts)) + b"\0", dtype=np.uint8)


class StringSet:
    """The destination's strings: libbpf ``btf__add_str`` on a fresh BTF (unique by
    content; with a base, an equal base string answers with its base offset)."""

    def __init__(self, base: Btf | None) -> None:
        self.base_blob = _chain_blob(base.strings if base is not None else None)
        self.dst_start = base.strings.end_off if base is not None else 0
        self.slot_off = np.full(1 << 12, _EMPTY_SLOT, dtype=np.int64)
        self.slot_hash = np.zeros(1 << 12, dtype=np.uint64)
        self.count = 0
        self.out = np.zeros(1 << 12, dtype=np.uint8)
        self.out_len = 0
        if base is not None:
            # The chain blob carries one extra NUL sentinel at its end; index the real part.
            self._reserve(int(self.base_blob.shape[0]) // 2 + 1, 0)
            self.count = int(_index_base(self.base_blob[: self.dst_start], self.slot_off, self.slot_hash))
        else:
            self.out[0] = 0  # "" at offset 0, as btf__new_empty starts
            self.out_len = 1
            self._reserve(1, 0)
            h = int(_FNV_OFFSET) & (self.slot_off.shape[0] - 1)
            self.slot_off[h] = 0
            self.slot_hash[h] = _FNV_OFFSET
            self.count = 1

    def _reserve(self, entries: int, nbytes: int) -> None:
        need = self.count + entries
        if need * 2 > self.slot_off.shape[0]:
            cap = self.slot_off.shape[0]
            while need * 2 > cap:
                cap *= 2
            new_off = np.full(cap, _EMPTY_SLOT, dtype=np.int64)
            new_hash = np.zeros(cap, dtype=np.uint64)
            _rehash(self.slot_off, self.slot_hash, new_off, new_hash)
            self.slot_off, self.slot_hash = new_off, new_hash
        if self.out_len + nbytes > self.out.shape[0]:
            cap = self.out.shape[0]
            while self.out_len + nbytes > cap:
                cap *= 2
            out = np.zeros(cap, dtype=np.uint8)
            out[: self.out_len] = self.out[: self.out_len]
            self.out = out

    def intern_fields(self, offs: np.ndarray, srcs: np.ndarray, sources: Sequence[StringTable]) -> None:
        """Rewrite ``offs`` (string fields of ``sources[srcs[k]]``, in iterator order)
        in place with destination offsets."""
        parts = [t.data for t in sources]
        blob_start = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(x) for x in parts], out=blob_start[1:])
        own_all = np.frombuffer(b"".join(parts) + b"\0", dtype=np.uint8)
        own_start = np.array([t.start_off for t in sources], dtype=np.int64)
        k = 0
        n = int(offs.shape[0])
        while True:
            k, out_len, count = _intern_fields(
                offs, srcs, k, own_all, blob_start, own_start, self.base_blob, self.out, self.out_len,
                self.dst_start, self.slot_off, self.slot_hash, self.count,
            )
            self.out_len = int(out_len)
            self.count = int(count)
            if k >= n:
                return
            # Grow whichever ran out: room for this string plus plenty more.
            # (a string may come from the base blob too: a reference into the middle
            # of a base string is not a base string itself and gets added)
            self._reserve(max(1024, self.count // 2), max(len(own_all), len(self.base_blob)) + 1)

    def to_bytes(self) -> bytes:
        return self.out[: self.out_len].tobytes()


#: sources are merged in groups of about this many types (memory / vectorization trade-off)
_CHUNK_TYPES = 1 << 19


def _merge_chunk(btfs: Sequence[Btf], i: int, j: int, words: np.ndarray, type_start: np.ndarray,
                 type0: np.ndarray, word0: np.ndarray, start_id: int, strset: StringSet) -> None:
    """Rewrite the string and type-ID fields of sources ``i..j-1``, already copied
    into ``words``, in libbpf's order."""
    w0, w1 = int(word0[i]), int(word0[j])
    t0, t1 = int(type0[i]), int(type0[j])
    view = Btf(words[w0:w1], type_start[t0 : t1 + 1] - w0, StringTable(b"\0"))
    src_of_type = np.repeat(np.arange(i, j, dtype=np.int64), type0[i + 1 : j + 1] - type0[i:j])
    # type IDs: a source's own IDs follow what is already in the destination
    pos, owner = type_id_fields(view)
    ids = view.words[pos].astype(np.int64)
    src = src_of_type[owner]
    first_id = np.array([b.start_id for b in btfs[i:j]], dtype=np.int64)[src - i]
    own = ids >= first_id
    ids[own] += (start_id + type0[src[own]]) - first_id[own]
    # strings: re-interned in iterator order across the chunk
    spos, sowner = str_fields(view)
    offs = view.words[spos].astype(np.int64)
    strset.intern_fields(offs, src_of_type[sowner] - i, [b.strings for b in btfs[i:j]])
    view.words[pos] = ids.astype(np.uint32)
    view.words[spos] = offs.astype(np.uint32)


def merge(btfs: Sequence[Btf], base: Btf | None = None, *, progress: Progress | None = None) -> Btf:
    """A fresh BTF holding all types of ``btfs`` in order (libbpf ``btf__add_btf``
    into ``btf__new_empty[_split](base)``); see the module docstring for split sources.

    >>> import btfdedup
    >>> a, b = btfdedup.load("corpora/bpf/fwd_user.bpf.o"), btfdedup.load("corpora/bpf/fwd_owner.bpf.o")
    >>> merged = btfdedup.merge([a, b])
    >>> len(a), len(b), len(merged), merged[len(a) + 1].name == b[1].name   # b's types follow a's
    (32, 33, 65, True)
    """
    for i, src in enumerate(btfs):
        if src.base is not None and not _same_base(src.base, base):
            what = "has no base" if base is None else "a different base"
            raise BtfUsageError(
                f"input {i} ({src.source or 'BTF'}) is split BTF on a base, but the merge "
                f"destination {what}; pass its base as the merge base"
            )
    strset = StringSet(base)
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
    # Sources are processed in chunks of consecutive sources: the field gathers run
    # vectorized over a whole chunk, and memory stays bounded for millions of types.
    i = 0
    while i < len(btfs):
        j = i + 1
        while j < len(btfs) and type0[j + 1] - type0[i] <= _CHUNK_TYPES:
            j += 1
        _merge_chunk(btfs, i, j, words, type_start, type0, word0, start_id, strset)
        if progress is not None:
            for k in range(i, j):
                progress(k, len(btfs), btfs[k])
        i = j
    strings = strset.to_bytes()
    return Btf.from_words(
        words,
        strings,
        base=base,
        type_start=type_start,
        byteorder=base.byteorder if base is not None else NATIVE_BYTEORDER,
        hdr_len=BTF_HDR_LEN_CLASSIC,
        strs_deduped=True,
        # Valid by construction: every source was checked when it was parsed, and the
        # renumbering keeps every ID and string offset inside the merged object.
        check=False,
    )


def merge_modules(split_btfs: Sequence[Btf], base: Btf, *, progress: Progress | None = None) -> Btf:
    """Merge split BTF objects (kernel modules) that share ``base`` into one split BTF
    on it: each module's own types shifted to follow the previous modules', base
    references kept, strings interned in order (the corpora README recipe)."""
    for i, src in enumerate(split_btfs):
        if src.base is None:
            raise BtfUsageError(f"input {i} ({src.source or 'BTF'}) is not split BTF; merge_modules needs modules")
    return merge(split_btfs, base, progress=progress)


__all__ = ["StringSet", "merge", "merge_modules"]
