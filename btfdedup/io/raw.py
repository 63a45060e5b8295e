"""Raw BTF blob -> :class:`Btf`, with every structural rule libbpf's parser enforces.

This module decodes the bytes: the header and its sections (:mod:`btfdedup.format.header`),
the byte order, the layout section.  The type section, decoded to native words, and
the string section go to :meth:`Btf.from_words`, which builds the object and makes
the record and field checks (:mod:`btfdedup.model.build`, compiled walks), so a
malformed 133 MB blob is rejected as fast as a good one is parsed, and every
rejection names the byte offset or type ID and the rule.

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

import sys
from array import array

from btfdedup.errors import BtfFormatError
from btfdedup.format.header import BtfHeader, decode_header
from btfdedup.model.btf import Btf
from btfdedup.model.build import parse_layout
from btfdedup.model.records import U32

#: The header's byte order mark (``decode_header``'s ``byteorder``) of this machine.
_NATIVE = "<" if sys.byteorder == "little" else ">"


def parse_raw(data: bytes | bytearray | memoryview, base: Btf | None = None, source: str | None = None) -> Btf:
    """Parse one raw BTF blob; ``base`` makes it split BTF on that base.

    The bytes are decoded here (header, sections, byte order) and the object is
    built and checked by :meth:`Btf.from_words`.  The type section of immutable
    native-order ``bytes`` is used in place (a read-only view); otherwise it is copied
    once into native-order words (an ``array.array``).  Reading needs no numpy.  The
    string section is copied once into the string table.
    """
    immutable = isinstance(data, bytes)
    if not isinstance(data, bytes):
        view = memoryview(data)
        data = view.cast("B") if view.c_contiguous else view.tobytes()
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
    s0 = body + hdr.str_off
    str_bytes = bytes(data[s0 : s0 + hdr.str_len])
    layout_raw = b""
    layout: list[tuple[int, int]] | None = None
    if hdr.layout_len:
        l0 = body + hdr.layout_off
        layout_raw = bytes(data[l0 : l0 + hdr.layout_len])
        layout = parse_layout(layout_raw, hdr.byteorder, source, l0)
    # Native-order words every later step works on.  Immutable native-order bytes with an
    # aligned type section are used in place (a read-only view: nothing may write into a
    # parsed Btf's words; dedup and merge work on copies of their own); anything else is
    # decoded in one copy.
    words: memoryview | array[int]
    type_bytes = memoryview(data)[t0 : t0 + hdr.type_len // 4 * 4]
    if immutable and hdr.byteorder == _NATIVE and t0 % 4 == 0 and U32 == "I":
        words = type_bytes.cast("I")
    else:
        words = array(U32)
        words.frombytes(type_bytes)
        if hdr.byteorder != _NATIVE:
            words.byteswap()
    btf = Btf.from_words(
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


_ORDER_NAME = {"<": "little endian", ">": "big endian"}
