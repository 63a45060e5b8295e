"""Raw BTF blob -> :class:`Btf`, with every structural rule libbpf's parser enforces.

The checks are vectorized over whole columns, so a malformed 133 MB blob is
rejected as fast as a good one is parsed, and every rejection names the byte
offset or type ID and the rule.

Like libbpf, the reader accepts bytes that no section covers (after the last
section or between sections).  It does not keep them: writing the object back
gives the blob of its sections only, which is what libbpf's ``btf__raw_data``
gives once the object has been modified in any way (dedup, added types).  For
an object it has not modified libbpf hands back its input buffer verbatim,
those bytes included; we deliberately do not, because the kernel refuses a
blob that carries them.  What was dropped is not silent: the reader records how
many bytes (``Btf.trailing_len``/``Btf.gap_len``), ``validate`` reports them in
the kernel's words ("Unsupported section found"), ``dump`` notes them on stderr
and ``stats`` counts them.
"""

from __future__ import annotations

import struct

import numpy as np

from btfdedup.errors import BtfFormatError
from btfdedup.format.constants import (
    BTF_KIND_MAX,
    DEFAULT_LAYOUT,
    KIND_NAMES,
    LIBBPF_MAX_STR_OFFSET,
    NR_KIND_SLOTS,
    Kind,
)
from btfdedup.format.header import BtfHeader, decode_header
from btfdedup.model.btf import Btf
from btfdedup.model.fields import first_bad_field
from btfdedup.model.records import (
    SCAN_HEADER_OVERRUN,
    SCAN_OK,
    SCAN_OVERRUN,
    SCAN_UNKNOWN_KIND,
    KindSizes,
    first_bad_start,
    scan_records,
)
from btfdedup.model.strings import StringTable


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


def parse_raw(data: bytes | bytearray | memoryview, base: Btf | None = None, source: str | None = None) -> Btf:
    """Parse one raw BTF blob; ``base`` makes it split BTF on that base."""
    data = bytes(data) if not isinstance(data, bytes) else data
    hdr = decode_header(data, source)
    if base is not None and base.byteorder != hdr.byteorder:
        raise BtfFormatError(
            f"split BTF is {_ORDER_NAME[hdr.byteorder]} but its base"
            f"{' ' + base.source if base.source else ''} is {_ORDER_NAME[base.byteorder]}: "
            "a split BTF must have its base's byte order",
            source=source,
            offset=0,
        )
    body = hdr.hdr_len
    t0 = body + hdr.type_off
    type_bytes = data[t0 : t0 + hdr.type_len]
    s0 = body + hdr.str_off
    str_bytes = data[s0 : s0 + hdr.str_len]
    layout_raw = b""
    layout: list[tuple[int, int]] | None = None
    if hdr.layout_len:
        l0 = body + hdr.layout_off
        layout_raw = data[l0 : l0 + hdr.layout_len]
        layout = parse_layout(layout_raw, hdr.byteorder, source, l0)
    # Decode to native order once; every later step works on native words.
    words = np.frombuffer(type_bytes, dtype=np.dtype(hdr.byteorder + "u4")).astype(np.uint32)
    btf = build_btf(
        words,
        str_bytes,
        base=base,
        byteorder=hdr.byteorder,
        hdr_len=hdr.hdr_len,
        layout=layout_raw,
        layout_table=layout,
        layout_off_hint=hdr.layout_off,
        version=hdr.version,
        source=source,
        type_base_offset=t0,
        str_base_offset=s0,
    )
    btf.trailing_len, btf.gap_len = unclaimed_bytes(hdr, len(data))
    return btf


def unclaimed_bytes(hdr: BtfHeader, size: int) -> tuple[int, int]:
    """``(trailing, gaps)``: bytes after the header of a ``size``-byte blob that no
    section covers, after the end of the last section and before or between sections.

    libbpf reads such a blob and ignores those bytes (see the module docstring for
    what it writes back); the kernel refuses it (``btf_check_sec_info``: the sections
    must add up to exactly the data after the header).  The reader therefore keeps
    the two counts on the :class:`Btf` so that ``validate``, ``dump`` and ``stats``
    can say what was dropped.  ``decode_header`` has already refused overlaps and
    sections past the end.
    """
    spans = [(hdr.type_off, hdr.type_len), (hdr.str_off, hdr.str_len), (hdr.layout_off, hdr.layout_len)]
    spans = [(off, length) for off, length in spans if length]
    end = max((off + length for off, length in spans), default=0)
    covered = sum(length for _off, length in spans)
    return size - hdr.hdr_len - end, end - covered


def describe_unclaimed(trailing_len: int, gap_len: int) -> str | None:
    """``"8 bytes after the last section belong to no section"`` (None when both are 0):
    the one wording ``validate``, ``dump`` and ``stats`` use for bytes the reader dropped."""
    parts = []
    if trailing_len:
        parts.append(f"{trailing_len} byte{'s' if trailing_len != 1 else ''} after the last section")
    if gap_len:
        parts.append(f"{gap_len} byte{'s' if gap_len != 1 else ''} before or between sections")
    if not parts:
        return None
    return " and ".join(parts) + (" belong" if trailing_len + gap_len != 1 else " belongs") + " to no section"


def build_btf(
    words: np.ndarray,
    strings: bytes,
    *,
    base: Btf | None = None,
    type_start: np.ndarray | None = None,
    byteorder: str = "<",
    hdr_len: int = 24,
    layout: bytes = b"",
    layout_table: list[tuple[int, int]] | None = None,
    layout_off_hint: int = 0,
    version: int = 1,
    source: str | None = None,
    type_base_offset: int = 0,
    str_base_offset: int = 0,
    strs_deduped: bool | None = None,
    check: bool = True,
) -> Btf:
    """Assemble and check a :class:`Btf` from native words and a string blob.

    ``type_base_offset``/``str_base_offset`` are where the sections sat in the
    source file, so errors can name file offsets.
    """
    _check_strings(strings, base, source, str_base_offset)
    if layout_table is None and layout:
        # Callers rebuilding a parsed object pass its layout bytes only.
        layout_table = parse_layout(layout, byteorder, source, 0)
    sizes = KindSizes(layout_table)
    start_id = base.type_cnt if base is not None else 1
    if type_start is not None:
        # The compiled field walks index words through type_start without bounds
        # checks, so boundaries handed in by a caller are verified first.
        bad = first_bad_start(words, type_start, sizes)
        if bad >= 0:
            raise BtfFormatError(
                f"type_start entry {bad} does not match the record boundaries of the {len(words)}-word "
                "type section (records must tile it, each sized by its kind and vlen)",
                source=source,
                type_id=start_id + bad,
            )
    else:
        type_start, n, err, where = scan_records(words, sizes)
        if err != SCAN_OK:
            tid = start_id + n
            off = type_base_offset + 4 * where
            if err == SCAN_UNKNOWN_KIND:
                kind = (int(words[where + 1]) >> 24) & 0x7F
                raise BtfFormatError(
                    "kind 0 (UNKN) is not a valid record kind: ID 0 is void and is never stored"
                    if kind == 0
                    else f"unknown kind {kind} (kinds 1..{BTF_KIND_MAX} are known) and no layout section sizes it",
                    source=source,
                    offset=off,
                    type_id=tid,
                )
            if err == SCAN_HEADER_OVERRUN:
                raise BtfFormatError(
                    f"type section ends inside a type header ({4 * (len(words) - where)} of 12 bytes left)",
                    source=source,
                    offset=off,
                    type_id=tid,
                )
            assert err == SCAN_OVERRUN
            info = int(words[where + 1])
            kind = (info >> 24) & 0x7F
            raise BtfFormatError(
                f"{KIND_NAMES.get(kind, 'UNKNOWN')} with vlen {info & 0xFFFFFF} runs past the end of the "
                f"type section ({4 * (len(words) - where)} bytes left)",
                source=source,
                offset=off,
                type_id=tid,
            )
    btf = Btf(
        words,
        np.asarray(type_start, dtype=np.int64),
        StringTable(strings, base.strings.end_off if base is not None else 0, base.strings if base is not None else None),
        base=base,
        byteorder=byteorder,
        hdr_len=hdr_len,
        layout=layout,
        layout_off_hint=layout_off_hint,
        version=version,
        source=source,
        strs_deduped=strs_deduped,
    )
    if check:
        check_references(btf, type_base_offset)
    return btf


_ORDER_NAME = {"<": "little endian", ">": "big endian"}


def _wrong_base_hint(btf: Btf) -> str:
    """Suffix for range errors in split BTF: the usual cause is the wrong base."""
    if btf.base is None:
        return ""
    where = f" {btf.base.source}" if btf.base.source else ""
    return f" (is the base{where}, with {btf.base.type_cnt - 1} types, the one this split BTF was built on?)"


def _kinds_of(btf: Btf, ids: np.ndarray) -> np.ndarray:
    """Kinds of the given in-range type IDs across the base chain (0 for void).

    Touches only the asked-for IDs, so checking a small split BTF does not
    allocate a column the size of its base.
    """
    out = np.zeros(len(ids), dtype=np.uint8)
    b: Btf | None = btf
    while b is not None:
        mine = (ids >= b.start_id) & (ids < b.type_cnt)
        if mine.any():
            out[mine] = b.kind[ids[mine] - b.start_id]
        b = b.base
    return out


def _check_strings(strings: bytes, base: Btf | None, source: str | None, offset: int) -> None:
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


def check_references(btf: Btf, type_base_offset: int = 0) -> None:
    """Every name offset names a string and every type-ID field names a type.

    This is the structural sanity libbpf checks at parse time; semantic rules
    (what a kind may point to) belong to :mod:`btfdedup.verifier`.
    """
    source = btf.source
    if btf.nr_types == 0:
        return
    what, i, q = first_bad_field(btf)
    if what == 1:
        off = int(btf.words[q])
        field = "name_off" if q == btf.type_start[i] else "member/param/enumerator name_off"
        raise BtfFormatError(
            f"{KIND_NAMES.get(int(btf.kind[i]), 'UNKNOWN')} {field} {off} is outside the string "
            f"section (strings end at {btf.strings.end_off}){_wrong_base_hint(btf)}",
            source=source,
            offset=type_base_offset + 4 * q,
            type_id=btf.start_id + i,
        )
    if what == 2:
        raise BtfFormatError(
            f"{KIND_NAMES.get(int(btf.kind[i]), 'UNKNOWN')} {_type_field_name(int(btf.kind[i]), q - int(btf.type_start[i]))} "
            f"refers to type ID {int(btf.words[q])}, "
            f"but the last type ID is {btf.type_cnt - 1}{_wrong_base_hint(btf)}",
            source=source,
            offset=type_base_offset + 4 * q,
            type_id=btf.start_id + i,
        )
    # libbpf: a FUNC must point at a FUNC_PROTO.
    func = np.flatnonzero(btf.kind == Kind.FUNC)
    if len(func):
        targets = btf.size_type[func].astype(np.int64)
        kinds = _kinds_of(btf, targets)
        bad_f = np.flatnonzero(kinds != Kind.FUNC_PROTO)
        if len(bad_f):
            i = int(func[bad_f[0]])
            raise BtfFormatError(
                f"FUNC refers to type [{int(targets[bad_f[0]])}], which is "
                f"{KIND_NAMES.get(int(kinds[bad_f[0]]), 'UNKNOWN') if targets[bad_f[0]] else 'void'}, "
                f"not a FUNC_PROTO{_wrong_base_hint(btf)}",
                source=source,
                offset=type_base_offset + 4 * int(btf.type_start[i] + 2),
                type_id=btf.start_id + i,
            )


def header_of(btf: Btf) -> BtfHeader:
    """The header :func:`btfdedup.io.writer.btf_to_bytes` writes for ``btf``."""
    type_len = btf.type_len
    layout_len = len(btf.layout)
    has_layout_fields = btf.hdr_len >= 32
    return BtfHeader(
        byteorder=btf.byteorder,
        version=btf.version,
        flags=0,
        hdr_len=btf.hdr_len,
        type_off=0,
        type_len=type_len,
        str_off=type_len + layout_len,
        str_len=len(btf.strings),
        layout_off=(type_len if layout_len else btf.layout_off_hint) if has_layout_fields else 0,
        layout_len=layout_len if has_layout_fields else 0,
    )
