"""Where the type-ID and string-offset fields of every record live, vectorized.

The order produced is libbpf's field-iterator order (``btf_iter.c``): type by type,
and inside a type, ascending position.  That order decides how the strings phase
of dedup numbers strings, so every consumer (reader checks, merge, dedup, remap,
validator) takes field positions from the tables here: vectorized through these
gathers, or record by record in the compiled walks (:mod:`btfdedup.model.scan`,
:mod:`btfdedup.append_walk`), which receive the same tables.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING

from btfdedup.format.constants import NR_KIND_SLOTS, Kind
from btfdedup.model import scan

if TYPE_CHECKING:
    import numpy as np

    from btfdedup.model.btf import Btf

    #: Type-ID fields of a record of kind ``k`` at word ``p``: ``p + TID_FIRST[k] +
    #: TID_STRIDE[k] * j`` for ``j < TID_FIXED[k] + TID_PER_VLEN[k] * vlen``.
    TID_FIRST: np.ndarray
    TID_STRIDE: np.ndarray
    TID_FIXED: np.ndarray
    TID_PER_VLEN: np.ndarray
    #: String fields besides ``name_off`` (at +0 for every kind): ``p + 3 +
    #: STR_STRIDE[k] * (j - 1)`` for ``1 <= j <= STR_PER_VLEN[k] * vlen``.
    STR_STRIDE: np.ndarray
    STR_PER_VLEN: np.ndarray
    #: Words per vlen element of STRUCT/UNION/ENUM/ENUM64/FUNC_PROTO/DATASEC.
    ELEM_WORDS: np.ndarray


def _tab(values: dict[Kind, int]) -> array[int]:
    out = array("q", bytes(8 * NR_KIND_SLOTS))
    for k, v in values.items():
        out[int(k)] = v
    return out


_SINGLE = (
    Kind.PTR,
    Kind.TYPEDEF,
    Kind.VOLATILE,
    Kind.CONST,
    Kind.RESTRICT,
    Kind.FUNC,
    Kind.VAR,
    Kind.DECL_TAG,
    Kind.TYPE_TAG,
    Kind.FWD,
)

#: The tables, indexed by kind, as int64 ``array.array`` buffers: what the compiled
#: walks take, without numpy (reading a BTF imports none).  The numpy names of the
#: same tables (``TID_FIRST``, ...) are views of these buffers, made on first use.
TABLES: dict[str, array[int]] = {
    "TID_FIRST": _tab(
        {**{k: 2 for k in _SINGLE}, Kind.ARRAY: 3, Kind.STRUCT: 4, Kind.UNION: 4, Kind.FUNC_PROTO: 2, Kind.DATASEC: 3}
    ),
    "TID_STRIDE": _tab({Kind.ARRAY: 1, Kind.STRUCT: 3, Kind.UNION: 3, Kind.FUNC_PROTO: 2, Kind.DATASEC: 3}),
    "TID_FIXED": _tab({**{k: 1 for k in _SINGLE}, Kind.ARRAY: 2, Kind.FUNC_PROTO: 1}),
    "TID_PER_VLEN": _tab({Kind.STRUCT: 1, Kind.UNION: 1, Kind.FUNC_PROTO: 1, Kind.DATASEC: 1}),
    "STR_STRIDE": _tab({Kind.STRUCT: 3, Kind.UNION: 3, Kind.ENUM: 2, Kind.ENUM64: 3, Kind.FUNC_PROTO: 2}),
    "STR_PER_VLEN": _tab({Kind.STRUCT: 1, Kind.UNION: 1, Kind.ENUM: 1, Kind.ENUM64: 1, Kind.FUNC_PROTO: 1}),
    "ELEM_WORDS": _tab(
        {Kind.STRUCT: 3, Kind.UNION: 3, Kind.ENUM: 2, Kind.ENUM64: 3, Kind.FUNC_PROTO: 2, Kind.DATASEC: 3}
    ),
}

#: The six field tables in the order the compiled walks take them.
FIELD_TABLES: tuple[array[int], ...] = tuple(
    TABLES[n] for n in ("TID_FIRST", "TID_STRIDE", "TID_FIXED", "TID_PER_VLEN", "STR_STRIDE", "STR_PER_VLEN")
)


def __getattr__(name: str) -> object:
    """The numpy views of :data:`TABLES` (``TID_FIRST``, ...), made on first use
    (PEP 562) so that only code that indexes them with arrays imports numpy."""
    if name not in TABLES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import numpy as np

    view = np.frombuffer(TABLES[name], dtype=np.int64)
    view.flags.writeable = False
    globals()[name] = view
    return view


def _view(name: str) -> np.ndarray:
    """The numpy view of table ``name`` (see :func:`__getattr__`)."""
    view = globals().get(name)
    return view if view is not None else __getattr__(name)  # type: ignore[return-value]


def ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-row ``counts``, the row index and the index within the row of each element."""
    import numpy as np

    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    j = np.arange(total, dtype=np.int64) - first[owner]
    return owner, j


def type_id_fields(btf: Btf, select: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Word positions (into ``btf.words``) of every type-ID field, and the local
    index of the type owning each, in libbpf iterator order.

    ``select``, a boolean mask over local type indices, restricts the gather.
    """
    import numpy as np
    tid_first, tid_stride, tid_fixed, tid_per_vlen = (_view(n) for n in ("TID_FIRST", "TID_STRIDE", "TID_FIXED", "TID_PER_VLEN"))

    kind = btf.kind.astype(np.int64)
    vlen = btf.vlen.astype(np.int64)
    counts = tid_fixed[kind] + tid_per_vlen[kind] * vlen
    if select is not None:
        counts = np.where(select, counts, 0)
    owner, j = ragged(counts)
    k = kind[owner]
    pos = btf.type_start[owner] + tid_first[k] + tid_stride[k] * j
    return pos, owner


def str_fields(btf: Btf, select: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Word positions of every string-offset field (name_off first, then member,
    param and enumerator names), and the owning local type index, in iterator order."""
    import numpy as np
    str_stride, str_per_vlen = _view("STR_STRIDE"), _view("STR_PER_VLEN")

    kind = btf.kind.astype(np.int64)
    vlen = btf.vlen.astype(np.int64)
    counts = 1 + str_per_vlen[kind] * vlen
    if select is not None:
        counts = np.where(select, counts, 0)
    owner, j = ragged(counts)
    k = kind[owner]
    pos = btf.type_start[owner] + np.where(j == 0, 0, 3 + str_stride[k] * (j - 1))
    return pos, owner


def elements(btf: Btf, kinds: tuple[Kind, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat view of the vlen elements of the given kinds.

    Returns ``(owner, index_in_type, first_word)``: for element e, its words are
    ``btf.words[first_word[e] : first_word[e] + ELEM_WORDS[kind]]``.
    """
    import numpy as np
    elem_words = _view("ELEM_WORDS")

    kind = btf.kind.astype(np.int64)
    sel = np.isin(kind, [int(k) for k in kinds])
    counts = np.where(sel, btf.vlen.astype(np.int64), 0)
    owner, j = ragged(counts)
    first = btf.type_start[owner] + 3 + elem_words[kind[owner]] * j
    return owner, j, first


def first_bad_field(btf: Btf) -> tuple[int, int, int]:
    """First field breaking a range rule, in iterator order (compiled walk).

    Returns ``(what, local_index, word_pos)``: what is 0 (all good), 1 (a string
    offset past the string section), 2 (a type ID past the last type) or 3 (record
    ``local_index`` does not lie inside the type section or cannot hold the fields
    its kind and vlen give: ``btf.type_start`` does not describe ``btf.words``,
    which a checked construction never lets through).
    """
    what, i, q = scan.first_bad_field(
        btf.words_buffer, btf.type_start_buffer, btf.strings.end_off, btf.type_cnt, *FIELD_TABLES
    )
    return what, i, q
