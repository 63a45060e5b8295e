"""The structural checks behind :meth:`btfdedup.model.btf.Btf.from_words`.

Every rule libbpf's parser enforces on a type section and its strings, once the
bytes are decoded to native words: the string blob's framing, record boundaries
(the compiled scan of :mod:`btfdedup.model.scan`), and that every string offset
and type-ID field is in range, every FUNC naming a FUNC_PROTO.  Errors name the
file offset (``type_base_offset``/``str_base_offset`` say where the sections sat
in the file), the type ID and the rule.

The checks live in ``model`` because a :class:`Btf` is only ever built through
them; :mod:`btfdedup.io.raw` decodes bytes and hands the words over.  This module
does not import :mod:`btfdedup.model.btf` (which imports it): the objects it
checks are passed in.
"""

from __future__ import annotations

import struct
from array import array
from typing import TYPE_CHECKING, Any

from btfdedup.errors import BtfFormatError
from btfdedup.format.constants import (
    BTF_KIND_MAX,
    DEFAULT_LAYOUT,
    KIND_MASK,
    KIND_NAMES,
    KIND_SHIFT,
    LIBBPF_MAX_STR_OFFSET,
    NR_KIND_SLOTS,
    VLEN_MASK,
    Kind,
)
from btfdedup.model.fields import first_bad_field
from btfdedup.model.records import KindSizes, WordBuffer, first_bad_start, scan_records
from btfdedup.model.scan import (
    FIELD_BOUNDARY,
    FIELD_OK,
    FIELD_STRING,
    FIELD_TYPE_ID,
    SCAN_HEADER_OVERRUN,
    SCAN_OK,
    SCAN_UNKNOWN_KIND,
    first_bad_func,
)

if TYPE_CHECKING:
    import numpy as np

    from btfdedup.model.btf import Btf


def parse_layout(raw: bytes, byteorder: str, source: str | None, offset: int) -> list[tuple[int, int]]:
    """Decode the layout section into ``(info_sz, elem_sz)`` per kind.

    Sizes must be multiples of 4 (records stay word aligned), and an entry for a
    kind this library knows must give that kind's real sizes: a layout that lies
    about a known kind would make other readers walk the records differently.
    """
    out: list[tuple[int, int]] = []
    for i in range(min(len(raw) // 4, NR_KIND_SLOTS)):
        info_sz, elem_sz, _flags = struct.unpack_from(byteorder + "BBH", raw, 4 * i)
        if info_sz % 4 or elem_sz % 4:
            raise BtfFormatError(
                f"layout entry for kind {i}: info_sz {info_sz} / elem_sz {elem_sz} are not multiples of 4",
                source=source,
                offset=offset + 4 * i,
            )
        if i <= BTF_KIND_MAX and (info_sz, elem_sz) != DEFAULT_LAYOUT[i]:
            want_info, want_elem = DEFAULT_LAYOUT[i]
            raise BtfFormatError(
                f"layout entry for kind {i} ({KIND_NAMES[i]}) says info_sz {info_sz} / elem_sz {elem_sz}, "
                f"but {KIND_NAMES[i]} records have info_sz {want_info} / elem_sz {want_elem}",
                source=source,
                offset=offset + 4 * i,
            )
        out.append((info_sz, elem_sz))
    return out


def check_strings(strings: bytes, base: Btf | None, source: str | None, offset: int) -> None:
    """The string blob's framing: not past libbpf's offset limit, NUL first (base BTF) and last."""
    if len(strings) - 1 > LIBBPF_MAX_STR_OFFSET:
        raise BtfFormatError(
            f"string section is {len(strings)} bytes; offsets past {LIBBPF_MAX_STR_OFFSET:#x} are not allowed",
            source=source,
            offset=offset,
        )
    if base is None and (not strings or strings[0] != 0):
        raise BtfFormatError(
            "string section must start with a NUL byte (offset 0 is the empty name)"
            if strings
            else "string section is empty; a base BTF needs at least the empty string",
            source=source,
            offset=offset,
        )
    if strings and strings[-1] != 0:
        raise BtfFormatError(
            "string section does not end with a NUL byte", source=source, offset=offset + len(strings) - 1
        )


def record_boundaries(
    words: WordBuffer,
    type_start: array[int] | np.ndarray | None,
    sizes: KindSizes,
    *,
    source: str | None,
    start_id: int,
    type_base_offset: int,
    str_end: int | None = None,
) -> tuple[Any, array[int] | None, bool]:
    """``(type_start, kind, fields_ok)`` of the records tiling ``words`` (native,
    contiguous uint32); ``type_start`` is the caller's as a contiguous int64 numpy
    array when given, else the scan's ``array.array``.

    Without ``type_start`` the records are scanned, which also yields the kind
    column and, given ``str_end``, range-checks the fields in the same pass
    (``fields_ok``: see :func:`~btfdedup.model.records.scan_records`); boundaries a
    caller hands in are checked against the words instead (``kind`` is then None,
    ``fields_ok`` False).  Either way a record that does not fit is refused.
    """
    if type_start is not None:
        import numpy as np

        ts = np.ascontiguousarray(type_start, dtype=np.int64)
        bad = first_bad_start(words, ts, sizes)
        if bad >= 0:
            raise BtfFormatError(
                f"type_start entry {bad} does not match the record boundaries of the {len(words)}-word "
                "type section (records must tile it, each sized by its kind and vlen)",
                source=source,
                type_id=start_id + bad,
            )
        return ts, None, False
    found = scan_records(words, sizes, str_end=str_end, start_id=start_id)
    if found.err == SCAN_OK:
        return found.type_start, found.kind, found.fields_ok
    where = found.err_word
    tid = start_id + found.n
    off = type_base_offset + 4 * where
    if found.err == SCAN_HEADER_OVERRUN:
        raise BtfFormatError(
            f"type section ends inside a type header ({4 * (len(words) - where)} of 12 bytes left)",
            source=source,
            offset=off,
            type_id=tid,
        )
    info = int(words[where + 1])
    kind = (info >> KIND_SHIFT) & KIND_MASK
    if found.err == SCAN_UNKNOWN_KIND:
        raise BtfFormatError(
            "kind 0 (UNKN) is not a valid record kind: ID 0 is void and is never stored"
            if kind == 0
            else f"unknown kind {kind} (kinds 1..{BTF_KIND_MAX} are known) and no layout section sizes it",
            source=source,
            offset=off,
            type_id=tid,
        )
    raise BtfFormatError(
        f"{KIND_NAMES.get(kind, 'UNKNOWN')} with vlen {info & VLEN_MASK} runs past the end of the "
        f"type section ({4 * (len(words) - where)} bytes left)",
        source=source,
        offset=off,
        type_id=tid,
    )


def _wrong_base_hint(btf: Btf) -> str:
    """Suffix for range errors in split BTF: the usual cause is the wrong base."""
    if btf.base is None:
        return ""
    where = f" {btf.base.source}" if btf.base.source else ""
    return f" (is the base{where}, with {btf.base.type_cnt - 1} types, the one this split BTF was built on?)"


def _type_field_name(kind: int, word: int) -> str:
    """Which type-ID field of a record sits ``word`` words after its start."""
    if kind == Kind.ARRAY:
        return "element type" if word == 3 else "index type"
    if kind in (Kind.STRUCT, Kind.UNION):
        return f"member {(word - 4) // 3} type"
    if kind == Kind.FUNC_PROTO:
        return "return type" if word == 2 else f"parameter {(word - 4) // 2} type"
    if kind == Kind.DATASEC:
        return f"variable {(word - 3) // 3} type"
    return "type"


def check_references(btf: Btf, type_base_offset: int = 0, *, fields_ok: bool = False) -> None:
    """Every name offset names a string and every type-ID field names a type.

    This is the structural sanity libbpf checks at parse time; semantic rules
    (what a kind may point to) belong to :mod:`btfdedup.verifier`.  ``fields_ok``:
    the scan already found every field in range, so only the FUNC rule is left.
    """
    source = btf.source
    if btf.nr_types == 0:
        return
    what, i, q = first_bad_field(btf) if not fields_ok else (FIELD_OK, -1, -1)
    if what == FIELD_BOUNDARY:
        raise BtfFormatError(
            f"record does not fit its boundaries (type_start {int(btf.type_start[i])}..{int(btf.type_start[i + 1])} "
            f"in a {len(btf.words)}-word type section)",
            source=source,
            type_id=btf.start_id + i,
        )
    if what == FIELD_STRING:
        off = int(btf.words[q])
        field = "name_off" if q == btf.type_start[i] else "member/param/enumerator name_off"
        raise BtfFormatError(
            f"{KIND_NAMES.get(int(btf.kind[i]), 'UNKNOWN')} {field} {off} is outside the string "
            f"section (strings end at {btf.strings.end_off}){_wrong_base_hint(btf)}",
            source=source,
            offset=type_base_offset + 4 * q,
            type_id=btf.start_id + i,
        )
    if what == FIELD_TYPE_ID:
        raise BtfFormatError(
            f"{KIND_NAMES.get(int(btf.kind[i]), 'UNKNOWN')} {_type_field_name(int(btf.kind[i]), q - int(btf.type_start[i]))} "
            f"refers to type ID {int(btf.words[q])}, "
            f"but the last type ID is {btf.type_cnt - 1}{_wrong_base_hint(btf)}",
            source=source,
            offset=type_base_offset + 4 * q,
            type_id=btf.start_id + i,
        )
    # libbpf: a FUNC must point at a FUNC_PROTO (compiled walk over the FUNC records).
    base_kinds = btf.base.all_kinds_buffer() if btf.base is not None else b"\0"
    i, target, kind = first_bad_func(btf.words_buffer, btf.type_start_buffer, btf.kind_buffer, btf.start_id, base_kinds)
    if i >= 0:
        raise BtfFormatError(
            f"FUNC refers to type [{target}], which is "
            f"{KIND_NAMES.get(kind, 'UNKNOWN') if target else 'void'}, "
            f"not a FUNC_PROTO{_wrong_base_hint(btf)}",
            source=source,
            offset=type_base_offset + 4 * (int(btf.type_start_buffer[i]) + 2),
            type_id=btf.start_id + i,
        )
