"""The Btf model on inputs the corpora do not cover: the 2026 layout section and
header, widened vlen/kind bits, multi-level split BTF, and byte order handling."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from btfdedup import Btf, BtfFormatError, Kind, load
from btfdedup.format.constants import DEFAULT_LAYOUT
from btfdedup.io.raw import parse_raw


def _info(kind: int, vlen: int = 0, kflag: int = 0) -> int:
    return (kflag << 31) | (kind << 24) | vlen


def _blob(words: list[int], strings: bytes, *, hdr_len: int = 24, layout: bytes = b"", bo: str = "<") -> bytes:
    types = struct.pack(f"{bo}{len(words)}I", *words)
    tl, ll = len(types), len(layout)
    hdr = struct.pack(bo + "HBBIIIII", 0xEB9F, 1, 0, hdr_len, 0, tl, tl + ll, len(strings))
    if hdr_len >= 32:
        hdr += struct.pack(bo + "II", tl if ll else 0, ll)
    return hdr.ljust(hdr_len, b"\0") + types + layout + strings


STRS = b"\0int\0s\0a\0new_kind\0"
INT_OFF, S_OFF, A_OFF, NEW_OFF = 1, 5, 7, 9


def _layout_table(extra: dict[int, tuple[int, int]], bo: str = "<") -> bytes:
    rows = list(DEFAULT_LAYOUT) + [(0, 0)] * (max(extra, default=0) + 1 - len(DEFAULT_LAYOUT))
    for k, v in extra.items():
        rows[k] = v
    return b"".join(struct.pack(bo + "BBH", i, e, 0) for i, e in rows)


def test_layout_section_sizes_an_unknown_kind_and_round_trips() -> None:
    # [1] int, [2] kind 20 sized by the layout section: 4-byte info + vlen x 8-byte elems,
    # [3] struct s { int a; }
    words = [INT_OFF, _info(1), 4, 32]
    words += [NEW_OFF, _info(20, 2), 0, 0xAAAA, 1, 2, 3, 4]
    words += [S_OFF, _info(4, 1), 4, A_OFF, 1, 0]
    data = _blob(words, STRS, hdr_len=32, layout=_layout_table({20: (4, 8)}))
    btf = parse_raw(data)
    assert btf.nr_types == 3
    assert list(btf.kind) == [1, 20, 4]
    assert btf.name(3) == "s"
    assert btf.to_bytes() == data


def test_unknown_kind_without_layout_names_type_and_offset() -> None:
    words = [INT_OFF, _info(1), 4, 32, NEW_OFF, _info(20, 2), 0, 0xAAAA, 1, 2, 3, 4]
    with pytest.raises(BtfFormatError, match=r"type \[2\].*offset 0x28.*unknown kind 20"):
        parse_raw(_blob(words, STRS))


def test_header_32_without_layout_round_trips() -> None:
    data = _blob([INT_OFF, _info(1), 4, 32], STRS, hdr_len=32)
    assert parse_raw(data).to_bytes() == data


def test_wide_vlen_uses_24_bits() -> None:
    # An enum with vlen 0x10001 needs the 2026 24-bit vlen to be sized right.
    n = 0x10001
    words = [INT_OFF, _info(Kind.ENUM, n), 4]
    for i in range(n):
        words += [A_OFF, i]
    btf = parse_raw(_blob(words, STRS))
    assert int(btf.vlen[0]) == n
    assert btf.nr_types == 1


def test_big_endian_blob_decodes_to_the_same_types() -> None:
    words = [INT_OFF, _info(1), 4, (1 << 24) | 32, S_OFF, _info(4, 1), 4, A_OFF, 1, 0]
    le, be = _blob(words, STRS), _blob(words, STRS, bo=">")
    a, b = parse_raw(le), parse_raw(be)
    assert b.byteorder == ">"
    assert np.array_equal(a.words, b.words)
    assert b.to_bytes() == be


def test_multi_level_split_ids_and_strings_continue() -> None:
    base = parse_raw(_blob([INT_OFF, _info(1), 4, 32], STRS))
    s1_strings = b"mid\0"
    # split 1: [2] typedef mid -> int
    s1 = Btf.from_words(np.array([base.strings.end_off, _info(Kind.TYPEDEF), 1], dtype=np.uint32), s1_strings, base=base)
    assert s1.start_id == 2 and s1.name(2) == "mid"
    top_off = s1.strings.end_off
    # split 2: [3] const -> 2, [4] typedef top -> 3, [5] ptr -> int (a base type)
    words2 = [0, _info(Kind.CONST), 2, top_off, _info(Kind.TYPEDEF), 3, 0, _info(Kind.PTR), 1]
    s2 = Btf.from_words(np.array(words2, dtype=np.uint32), b"top\0", base=s1)
    assert s2.start_id == 3 and s2.type_cnt == 6
    assert s2.name(4) == "top" and s2.name(2) == "mid" and s2.name(1) == "int"
    assert s2.kind_of(1) == Kind.INT
    again = load(s2.to_bytes(), base=s1)
    assert again.to_bytes() == s2.to_bytes()
    # A type ID past the top level is rejected, naming the type.
    bad = Btf.from_words
    with pytest.raises(BtfFormatError, match=r"type \[3\].*type ID 9"):
        bad(np.array([0, _info(Kind.PTR), 9], dtype=np.uint32), b"", base=s1)


def _libbpf_swapped(data: bytes, base: bytes | None = None) -> bytes:
    """libbpf's own big-endian image of ``data`` (btf__set_endianness + raw data)."""
    import ctypes

    from tests.oracle.libbpf import Libbpf, OracleUnavailable

    try:
        lib = Libbpf.v16()
    except OracleUnavailable as e:
        pytest.skip(f"libbpf v1.6 oracle unavailable: {e}")
    c = lib._c
    c.btf__set_endianness.argtypes = [ctypes.c_void_p, ctypes.c_int]
    c.btf__set_endianness.restype = ctypes.c_int
    bh = lib.parse(base) if base is not None else None
    try:
        h = lib.parse(data, bh)
        try:
            assert c.btf__set_endianness(h.p, 1) == 0  # BTF_BIG_ENDIAN
            return h.raw_data()
        finally:
            h.free()
    finally:
        if bh is not None:
            bh.free()


def _swapped(btf: Btf) -> Btf:
    return Btf(btf.words, btf.type_start, btf.strings, base=btf.base, byteorder=">", hdr_len=btf.hdr_len)


def test_big_endian_writer_matches_libbpf_on_real_btf() -> None:
    """Judge: libbpf v1.6 writing the same BTF in big endian, byte for byte."""
    from tests.conftest import FIXTURES
    from tests.expected import PARSE_V16, rel

    paths = sorted((FIXTURES / "cus").glob("*.btf"))[:5]
    if not paths:
        pytest.skip("no CU fixtures under corpora/cus")
    for p in paths:
        data = p.read_bytes()
        be = _swapped(parse_raw(data)).to_bytes()
        PARSE_V16.check(f"{rel(p)}::btf__new,btf__set_endianness(big),btf__raw_data", be,
                        lambda _lib, d=data: _libbpf_swapped(d), inputs=data)  # type: ignore[misc]
        # ... and reading the big-endian bytes back gives the little-endian original.
        back = parse_raw(be)
        assert back.byteorder == ">"
        assert Btf(back.words, back.type_start, back.strings, hdr_len=back.hdr_len).to_bytes() == data
