"""Record boundaries of a type section: the one inherently sequential scan.

A record's size depends on its kind and vlen, which sit at its own start, so the
boundaries can only be found walking from the first record.  The walk is compiled
with numba; everything after it (field gathers, checks) is vectorized numpy.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from btfdedup.format.constants import (
    KIND_FIXED_TAIL_WORDS,
    KIND_KNOWN,
    KIND_MASK,
    KIND_SHIFT,
    KIND_VLEN_WORDS,
    NR_KIND_SLOTS,
    VLEN_MASK,
)

#: scan_records error codes
SCAN_OK = 0
SCAN_UNKNOWN_KIND = 1
SCAN_OVERRUN = 2
SCAN_HEADER_OVERRUN = 3


class KindSizes:
    """Per-kind record sizing tables, optionally extended by a layout section.

    Kind 0 (``UNKN``) is never sizable: ID 0 is void and is not stored, and
    libbpf and the kernel both reject a record of kind 0.  A layout section only
    sizes kinds this library does not know; entries for known kinds are checked
    against the real sizes by the reader.
    """

    __slots__ = ("fixed_words", "vlen_words", "known")

    def __init__(self, layout: list[tuple[int, int]] | None = None) -> None:
        self.fixed_words = KIND_FIXED_TAIL_WORDS.copy()
        self.vlen_words = KIND_VLEN_WORDS.copy()
        self.known = KIND_KNOWN.astype(np.int64)
        if layout:
            for kind, (info_sz, elem_sz) in enumerate(layout[:NR_KIND_SLOTS]):
                if not self.known[kind]:
                    self.fixed_words[kind] = info_sz // 4
                    self.vlen_words[kind] = elem_sz // 4
                    self.known[kind] = 2  # sized only through the layout section
        self.known[0] = 0


@njit(cache=True, nogil=True)
def _scan(words, fixed_words, vlen_words, known):  # type: ignore[no-untyped-def]
    # numba does no bounds checking, so every index below is proven in range:
    # words[pos + 1] only after pos + 3 <= n_words; kind is masked to 7 bits and
    # the tables have 128 slots; size is at most 3 + 63 + 0xFFFFFF * 63 (layout
    # sizes are u8 / 4), far from int64 overflow, and at least 3, so the walk
    # always advances and n never exceeds n_words // 3.
    n_words = words.shape[0]
    # Every record is at least 3 words, which bounds the count.
    starts = np.empty(n_words // 3 + 2, dtype=np.int64)
    pos = 0
    n = 0
    while pos < n_words:
        if pos + 3 > n_words:
            starts[n] = pos
            return starts[: n + 1], n, SCAN_HEADER_OVERRUN, pos
        info = words[pos + 1]
        kind = (info >> KIND_SHIFT) & KIND_MASK
        if known[kind] == 0:
            starts[n] = pos
            return starts[: n + 1], n, SCAN_UNKNOWN_KIND, pos
        vlen = info & VLEN_MASK
        size = 3 + fixed_words[kind] + vlen * vlen_words[kind]
        if size > n_words - pos:
            starts[n] = pos
            return starts[: n + 1], n, SCAN_OVERRUN, pos
        starts[n] = pos
        n += 1
        pos += size
    starts[n] = pos
    return starts[: n + 1], n, SCAN_OK, pos


def scan_records(words: np.ndarray, sizes: KindSizes | None = None) -> tuple[np.ndarray, int, int, int]:
    """Find record starts in ``words`` (native uint32).

    Returns ``(type_start, n, err, err_word)``: ``type_start[:n]`` are the word
    offsets of the ``n`` complete records and ``type_start[n]`` the end; ``err`` is
    a ``SCAN_*`` code, ``err_word`` the word offset of the offending record.
    """
    sizes = sizes or KindSizes()
    starts, n, err, where = _scan(words, sizes.fixed_words, sizes.vlen_words, sizes.known)
    return starts, int(n), int(err), int(where)


def record_sizes_words(info: np.ndarray, sizes: KindSizes | None = None) -> np.ndarray:
    """Vectorized record size, in words, for records with these ``info`` words."""
    sizes = sizes or KindSizes()
    info = info.astype(np.int64)
    kind = (info >> KIND_SHIFT) & KIND_MASK
    vlen = info & VLEN_MASK
    return 3 + sizes.fixed_words[kind] + vlen * sizes.vlen_words[kind]


@njit(cache=True, nogil=True)
def _first_bad_start(words, ts, fixed_words, vlen_words, known):  # type: ignore[no-untyped-def]
    # Every read is guarded: words[p + 1] only after 0 <= p and p + 3 <= n_words.
    n_words = words.shape[0]
    m = ts.shape[0]
    if m == 0 or ts[0] != 0:
        return 0
    for i in range(m - 1):
        p = ts[i]
        if p < 0 or p + 3 > n_words:
            return i
        info = words[p + 1]
        kind = (info >> KIND_SHIFT) & KIND_MASK
        if known[kind] == 0:
            return i
        size = 3 + fixed_words[kind] + (info & VLEN_MASK) * vlen_words[kind]
        if ts[i + 1] != p + size:
            return i
    if ts[m - 1] != n_words:
        return m - 1
    return -1


def first_bad_start(words: np.ndarray, type_start: np.ndarray, sizes: KindSizes | None = None) -> int:
    """Check caller-supplied record boundaries before anything indexes with them.

    Returns -1 when ``type_start`` is exactly what :func:`scan_records` would
    produce for ``words`` (starts at 0, ends at ``len(words)``, every step is the
    record size its kind and vlen give, every kind sizable), else the index of the
    first wrong entry.  The compiled field walks trust these boundaries, so a
    wrong one must never reach them.
    """
    sizes = sizes or KindSizes()
    ts = np.asarray(type_start)
    if ts.ndim != 1 or ts.dtype.kind not in "iu":
        return 0
    words = np.ascontiguousarray(words, dtype=np.uint32)
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    return int(_first_bad_start(words, ts, sizes.fixed_words, sizes.vlen_words, sizes.known))
