"""Kinds, header layouts, encodings and limits of the BTF wire format.

Values follow ``include/uapi/linux/btf.h``.  ``info`` is decoded with the 2026
widths (24-bit vlen, 7-bit kind); older kernels reserve the extra bits, which the
validator checks per kernel version.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

BTF_MAGIC = 0xEB9F
#: The first two bytes of raw BTF in little- and big-endian byte order.
BTF_MAGIC_BYTES = (b"\x9f\xeb", b"\xeb\x9f")
BTF_VERSION = 1
BTF_HDR_LEN_CLASSIC = 24
BTF_HDR_LEN_LAYOUT = 32

BTF_MAX_TYPE = 0x000FFFFF
BTF_MAX_NAME_OFFSET = 0x00FFFFFF
BTF_MAX_VLEN = 0x00FFFFFF
BTF_MAX_VLEN_LEGACY = 0xFFFF
LIBBPF_MAX_STR_OFFSET = 0x7FFFFFFF

VLEN_MASK = 0x00FFFFFF
KIND_SHIFT = 24
KIND_MASK = 0x7F
KIND_FLAG_SHIFT = 31


class Kind(IntEnum):
    """``BTF_KIND_*``: the kind field of ``btf_type.info``."""

    UNKN = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


BTF_KIND_MAX = int(Kind.ENUM64)
#: The kernel's ``btf_type_is_modifier`` kinds (compiled code: ``kinds.pxd`` ``is_modifier``).
MODIFIER_KINDS = frozenset({Kind.TYPEDEF, Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG})
#: Number of slots in the per-kind lookup tables (kind is 7 bits wide).
NR_KIND_SLOTS = KIND_MASK + 1

KIND_NAMES: dict[int, str] = {int(k): k.name for k in Kind}

# INT data word
BTF_INT_SIGNED = 1 << 0
BTF_INT_CHAR = 1 << 1
BTF_INT_BOOL = 1 << 2


def int_encoding(word: int) -> int:
    """Encoding bits (``BTF_INT_*``) of an INT data word."""
    return (word >> 24) & 0x0F


def int_offset(word: int) -> int:
    """Bit offset of an INT data word."""
    return (word >> 16) & 0xFF


def int_bits(word: int) -> int:
    """Number of value bits of an INT data word."""
    return word & 0xFF


# FUNC linkage (vlen) and VAR linkage (tail word)
BTF_FUNC_STATIC = 0
BTF_FUNC_GLOBAL = 1
BTF_FUNC_EXTERN = 2
BTF_VAR_STATIC = 0
BTF_VAR_GLOBAL_ALLOCATED = 1
BTF_VAR_GLOBAL_EXTERN = 2


#: Words after the 12-byte header that every record of the kind carries, by kind number.
FIXED_TAIL_WORDS: dict[int, int] = {Kind.INT: 1, Kind.ARRAY: 3, Kind.VAR: 1, Kind.DECL_TAG: 1}
#: Words per vlen element, by kind number.
VLEN_WORDS: dict[int, int] = {
    Kind.STRUCT: 3,
    Kind.UNION: 3,
    Kind.ENUM: 2,
    Kind.FUNC_PROTO: 2,
    Kind.DATASEC: 3,
    Kind.ENUM64: 3,
}

#: The layout table libbpf writes for kinds 0..19: (info_sz, elem_sz) in bytes.
DEFAULT_LAYOUT: list[tuple[int, int]] = [
    (FIXED_TAIL_WORDS.get(k, 0) * 4, VLEN_WORDS.get(k, 0) * 4) for k in range(BTF_KIND_MAX + 1)
]

if TYPE_CHECKING:
    import numpy as np

    #: ``FIXED_TAIL_WORDS`` as an int64 array of ``NR_KIND_SLOTS`` entries.
    KIND_FIXED_TAIL_WORDS: np.ndarray
    #: ``VLEN_WORDS`` as an int64 array of ``NR_KIND_SLOTS`` entries.
    KIND_VLEN_WORDS: np.ndarray
    #: Kinds this library knows the layout of without a layout section (bool array).
    KIND_KNOWN: np.ndarray


def _kind_tables() -> dict[str, object]:
    """The per-kind lookup arrays of the record scan, indexed by kind number."""
    import numpy as np

    fixed = np.zeros(NR_KIND_SLOTS, dtype=np.int64)
    vlen = np.zeros(NR_KIND_SLOTS, dtype=np.int64)
    for k, v in FIXED_TAIL_WORDS.items():
        fixed[k] = v
    for k, v in VLEN_WORDS.items():
        vlen[k] = v
    known = np.zeros(NR_KIND_SLOTS, dtype=np.bool_)
    known[: BTF_KIND_MAX + 1] = True
    return {"KIND_FIXED_TAIL_WORDS": fixed, "KIND_VLEN_WORDS": vlen, "KIND_KNOWN": known}


def __getattr__(name: str) -> object:
    """The numpy lookup arrays, built on first use (PEP 562): the rest of this module,
    which the command line's start-up reads, does not need numpy."""
    if name not in ("KIND_FIXED_TAIL_WORDS", "KIND_VLEN_WORDS", "KIND_KNOWN"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    tables = _kind_tables()
    globals().update(tables)
    return tables[name]


#: Kinds whose size_or_type field is a type ID.
KINDS_WITH_TYPE_FIELD = frozenset(
    {
        Kind.PTR,
        Kind.TYPEDEF,
        Kind.VOLATILE,
        Kind.CONST,
        Kind.RESTRICT,
        Kind.FUNC,
        Kind.FUNC_PROTO,
        Kind.VAR,
        Kind.DECL_TAG,
        Kind.TYPE_TAG,
    }
)
#: Kinds whose size_or_type field is a byte size.
KINDS_WITH_SIZE = frozenset(
    {Kind.INT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.DATASEC, Kind.FLOAT, Kind.ENUM64}
)

# .BTF.ext
BTF_EXT_HDR_LEN_MIN = 24
BTF_EXT_HDR_LEN_CORE = 32
FUNC_INFO_REC_MIN = 8
LINE_INFO_REC_MIN = 16
CORE_RELO_REC_MIN = 16

#: The kernel refuses BPF_BTF_LOAD blobs larger than this.
KERNEL_BTF_MAX_SIZE = 16 * 1024 * 1024
