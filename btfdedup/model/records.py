"""Record boundaries of a type section: the one inherently sequential scan.

A record's size depends on its kind and vlen, which sit at its own start, so the
boundaries can only be found walking from the first record.  The walk is compiled
(:mod:`btfdedup.model.scan`) and yields ``array.array`` buffers, so reading a
BTF needs no numpy; the field gathers that come after it for dedup, merge and
the validator are vectorized numpy over views of the same buffers.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, NamedTuple, Union

from btfdedup.format.constants import (
    BTF_KIND_MAX,
    FIXED_TAIL_WORDS,
    KIND_MASK,
    KIND_SHIFT,
    NR_KIND_SLOTS,
    VLEN_MASK,
    VLEN_WORDS,
)
from btfdedup.model import scan
from btfdedup.model.fields import FIELD_TABLES

if TYPE_CHECKING:
    import numpy as np

#: The ``array.array`` typecode of a native ``uint32`` (the type section's words).
U32 = next(code for code in "IL" if array(code).itemsize == 4)


def _int64_table(values: dict[int, int] | None = None) -> array[int]:
    out = array("q", bytes(8 * NR_KIND_SLOTS))
    for k, v in (values or {}).items():
        out[int(k)] = v
    return out


class KindSizes:
    """Per-kind record sizing tables, optionally extended by a layout section.

    Kind 0 (``UNKN``) is never sizable: ID 0 is void and is not stored, and
    libbpf and the kernel both reject a record of kind 0.  A layout section only
    sizes kinds this library does not know; entries for known kinds are checked
    against the real sizes by the reader.  The tables are int64 ``array.array``
    buffers indexed by kind (``known``: 0 unsizable, 1 known, 2 sized only
    through the layout section).
    """

    __slots__ = ("fixed_words", "vlen_words", "known")

    def __init__(self, layout: list[tuple[int, int]] | None = None) -> None:
        self.fixed_words = _int64_table(FIXED_TAIL_WORDS)
        self.vlen_words = _int64_table(VLEN_WORDS)
        self.known = _int64_table({k: 1 for k in range(BTF_KIND_MAX + 1)})
        if layout:
            for kind, (info_sz, elem_sz) in enumerate(layout[:NR_KIND_SLOTS]):
                if not self.known[kind]:
                    self.fixed_words[kind] = info_sz // 4
                    self.vlen_words[kind] = elem_sz // 4
                    self.known[kind] = 2  # sized only through the layout section
        self.known[0] = 0


#: the native-order uint32 type-section buffers the compiled walks take
WordBuffer = Union["array[int]", memoryview, "np.ndarray"]


def native_words(words: object) -> WordBuffer:
    """``words`` as a contiguous native ``uint32`` buffer for the compiled walks:
    an ``array.array`` of them or a contiguous uint32 memoryview as it is (what the
    raw reader makes, no numpy needed), anything else through numpy."""
    if isinstance(words, array) and words.typecode == U32:
        return words
    if isinstance(words, memoryview) and words.format == U32 and words.c_contiguous and words.ndim == 1:
        return words
    import numpy as np

    return np.ascontiguousarray(words, dtype=np.uint32)


class Scan(NamedTuple):
    """What :func:`scan_records` found."""

    #: int64 word offsets of the ``n`` complete records, then the end of the last one
    #: (or, after an error, the offset of the record that broke the walk); an ``array.array``
    type_start: array[int]
    #: uint8 kind of each of the ``n`` records (an ``array.array``): the ``Btf.kind`` column, for free
    kind: array[int]
    #: number of complete records
    n: int
    #: a ``SCAN_*`` code
    err: int
    #: word offset of the offending record (the end when ``err`` is ``SCAN_OK``)
    err_word: int
    #: True when the walk also range-checked every field and all passed
    fields_ok: bool


def scan_records(words: WordBuffer, sizes: KindSizes | None = None, *, str_end: int | None = None,
                 start_id: int = 1) -> Scan:
    """Find the record boundaries (and kinds) of ``words`` (native uint32, contiguous).

    With ``str_end``, the same pass range-checks every field as
    :func:`btfdedup.model.fields.first_bad_field` does (string offsets below
    ``str_end``, type IDs below ``start_id`` plus the record count): ``fields_ok``
    True spares that second walk; False means it must find the bad field.
    """
    sizes = sizes or KindSizes()
    words = native_words(words)
    if str_end is None:
        starts, kind, n, err, where = scan.scan(words, sizes.fixed_words, sizes.vlen_words, sizes.known)
        return Scan(starts, kind, n, err, where, False)
    starts, kind, n, err, where, ok = scan.scan_checked(
        words, sizes.fixed_words, sizes.vlen_words, sizes.known, str_end, start_id, *FIELD_TABLES
    )
    return Scan(starts, kind, n, err, where, ok)


def record_sizes_words(info: np.ndarray, sizes: KindSizes | None = None) -> np.ndarray:
    """Vectorized record size, in words, for records with these ``info`` words."""
    import numpy as np

    sizes = sizes or KindSizes()
    info = info.astype(np.int64)
    kind = (info >> KIND_SHIFT) & KIND_MASK
    vlen = info & VLEN_MASK
    fixed = np.frombuffer(sizes.fixed_words, dtype=np.int64)
    per_vlen = np.frombuffer(sizes.vlen_words, dtype=np.int64)
    return 3 + fixed[kind] + vlen * per_vlen[kind]


def first_bad_start(words: WordBuffer, type_start: np.ndarray, sizes: KindSizes | None = None) -> int:
    """Check caller-supplied record boundaries before anything indexes with them.

    Returns -1 when ``type_start`` is exactly what :func:`scan_records` would
    produce for ``words`` (starts at 0, ends at ``len(words)``, every step is the
    record size its kind and vlen give, every kind sizable), else the index of the
    first wrong entry.  Code that locates fields through the boundaries relies on
    this exact tiling (the compiled walks only check that each record lies inside
    the section and holds its fields).
    """
    import numpy as np

    sizes = sizes or KindSizes()
    ts = np.asarray(type_start)
    if ts.ndim != 1 or ts.dtype.kind not in "iu":
        return 0
    words = np.ascontiguousarray(words, dtype=np.uint32)
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    return scan.first_bad_start(words, ts, sizes.fixed_words, sizes.vlen_words, sizes.known)
