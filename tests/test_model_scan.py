"""The compiled walks of :mod:`btfdedup.model.scan` and the checked construction
around them (:meth:`Btf.from_words`, :mod:`btfdedup.model.build`).

The reader takes one pass for record boundaries, kinds and every field range
check; the precise two-pass check (:func:`first_bad_field`) runs only when that
pass saw something wrong.  These tests hold the one-pass answer to the two-pass
one on real fixtures and on fields pushed out of range, and check what the walks
do with arguments that lie (boundaries, tables).
"""

from __future__ import annotations

import glob
import random
from array import array

import numpy as np
import pytest

from btfdedup.errors import BtfFormatError
from btfdedup.format.header import decode_header
from btfdedup.io.raw import parse_raw
from btfdedup.model import fields, scan
from btfdedup.model.btf import Btf
from btfdedup.model.build import check_references
from btfdedup.model.fields import first_bad_field, str_fields, type_id_fields
from btfdedup.model.records import KindSizes, scan_records
from btfdedup.model.strings import StringTable
from tests.conftest import FIXTURES

CUS = sorted(glob.glob(str(FIXTURES / "cus" / "*.btf")))[:12]
TABLES = (fields.TID_FIRST, fields.TID_STRIDE, fields.TID_FIXED, fields.TID_PER_VLEN, fields.STR_STRIDE,
          fields.STR_PER_VLEN)


@pytest.fixture(scope="module")
def cus() -> list[Btf]:
    if not CUS:
        pytest.skip("corpora/cus/*.btf missing")
    return [parse_raw(open(p, "rb").read(), source=p) for p in CUS]


def test_one_pass_scan_matches_the_plain_scan(cus: list[Btf]) -> None:
    for btf in cus:
        plain = scan_records(btf.words)
        checked = scan_records(btf.words, str_end=btf.strings.end_off, start_id=btf.start_id)
        assert np.array_equal(plain.type_start, btf.type_start) and np.array_equal(checked.type_start, btf.type_start)
        assert np.array_equal(plain.kind, checked.kind)
        assert checked.fields_ok and not plain.fields_ok
        # The kind column the scan hands the Btf is the one computed from the info words.
        assert btf.kind.dtype == np.uint8
        assert np.array_equal(btf.kind, ((btf.info >> 24) & 0x7F).astype(np.uint8))


def test_one_pass_flags_every_out_of_range_field(cus: list[Btf]) -> None:
    """Each string or type-ID field pushed one past its limit: the one-pass check
    says "not ok", and the two-pass check then names exactly that field."""
    rng = random.Random(7)
    for btf in cus[:4]:
        spos, _ = str_fields(btf)
        tpos, _ = type_id_fields(btf)
        picks = [(int(q), btf.strings.end_off) for q in rng.sample(list(spos), min(40, len(spos)))]
        picks += [(int(q), btf.type_cnt) for q in rng.sample(list(tpos), min(40, len(tpos)))]
        for q, value in picks:
            words = btf.words.copy()
            words[q] = value
            got = scan_records(words, str_end=btf.strings.end_off, start_id=btf.start_id)
            assert not got.fields_ok, q
            bad = Btf(words, btf.type_start, btf.strings)
            what, _i, where = first_bad_field(bad)
            assert what in (scan.FIELD_STRING, scan.FIELD_TYPE_ID) and where == q
            with pytest.raises(BtfFormatError, match="outside the string section|refers to type ID"):
                Btf.from_words(words, btf.strings.data)


def test_field_walk_refuses_boundaries_that_do_not_hold_the_fields(cus: list[Btf]) -> None:
    """A hand-built Btf whose type_start lies: the field walk reports the record
    (FIELD_BOUNDARY) instead of reading past it, and the check says so in words."""
    btf = cus[0]
    n = len(btf.words)
    ts = btf.type_start
    last = btf.nr_types - 1
    for lie, bad_record in (
        (np.append(ts[:-1], n + 5), last),  # the last record runs past the section
        (np.full_like(ts, n), 0),  # every record starts at the end
        (np.concatenate([ts[:-2], [n - 1], ts[-1:]]), last),  # the last record is one word
        (np.full_like(ts, -1), 0),  # before the section
    ):
        obj = Btf(btf.words, np.ascontiguousarray(lie, dtype=np.int64), btf.strings)
        what, i, _q = first_bad_field(obj)
        assert (what, i) == (scan.FIELD_BOUNDARY, bad_record)
        with pytest.raises(BtfFormatError, match="record does not fit its boundaries"):
            check_references(obj)


def test_tables_the_proofs_exclude_are_refused(cus: list[Btf]) -> None:
    btf = cus[0]
    sizes = KindSizes()
    for bad in (np.zeros(5, dtype=np.int64), np.full(128, 64, dtype=np.int64), np.full(128, -1, dtype=np.int64)):
        with pytest.raises(ValueError):
            scan.scan(btf.words, bad, sizes.vlen_words, sizes.known)
        with pytest.raises(ValueError):
            scan.first_bad_start(btf.words, btf.type_start, sizes.fixed_words, bad, sizes.known)
        with pytest.raises(ValueError):
            scan.first_bad_field(btf.words, btf.type_start, btf.strings.end_off, btf.type_cnt, bad, *TABLES[1:])
        with pytest.raises(ValueError):
            scan.scan_checked(btf.words, sizes.fixed_words, sizes.vlen_words, sizes.known, 1, 1, *TABLES[:-1], bad)


def test_short_sections() -> None:
    sizes = KindSizes()
    for n_w, err in ((0, scan.SCAN_OK), (1, scan.SCAN_HEADER_OVERRUN), (2, scan.SCAN_HEADER_OVERRUN)):
        starts, kinds, n, got, where = scan.scan(np.zeros(n_w, dtype=np.uint32), sizes.fixed_words,
                                                 sizes.vlen_words, sizes.known)
        assert (n, got, where, list(starts), len(kinds)) == (0, err, 0, [0], 0)
    # an INT (4 words) cut after 3
    starts, kinds, n, got, where = scan.scan(np.array([0, 1 << 24, 4], dtype=np.uint32), sizes.fixed_words,
                                             sizes.vlen_words, sizes.known)
    assert (n, got, where) == (0, scan.SCAN_OVERRUN, 0)


def test_parse_uses_immutable_bytes_in_place(cus: list[Btf]) -> None:
    """Native-order ``bytes`` are never copied: the words are a read-only view of them."""
    data = open(CUS[0], "rb").read()
    btf = parse_raw(data)
    assert isinstance(btf.words_buffer, memoryview) and btf.words_buffer.obj is data
    assert np.shares_memory(btf.words, np.frombuffer(data, dtype=np.uint8))
    assert not btf.words.flags.writeable and btf.words.flags.c_contiguous
    assert btf.words.dtype == np.dtype(np.uint32)
    with pytest.raises(ValueError):
        btf.words[0] ^= 1


def test_parse_copies_a_mutable_buffer_once_into_native_writable_words(cus: list[Btf]) -> None:
    """A bytearray could change under the Btf: its type section is copied once."""
    data = bytearray(open(CUS[0], "rb").read())
    btf = parse_raw(data)
    # The one copy is the buffer the reader filled; the numpy words are a view of it.
    assert isinstance(btf.words_buffer, array) and np.shares_memory(btf.words, np.asarray(btf.words_buffer))
    assert btf.words.flags.writeable and btf.words.flags.c_contiguous
    btf.words[0] ^= 1
    assert btf.words_buffer[0] == btf.words[0]
    btf.words[0] ^= 1
    # Any buffer reads the same: bytes, bytearray, a memoryview, a strided one.
    wide = bytearray(2 * len(data))
    wide[::2] = data
    for buf in (bytearray(data), memoryview(data), memoryview(wide)[::2]):
        again = parse_raw(buf)
        assert np.array_equal(again.words, btf.words) and again.strings.data == btf.strings.data


def test_header_is_what_to_bytes_writes(cus: list[Btf]) -> None:
    for btf in cus[:3]:
        assert decode_header(btf.to_bytes()) == btf.header()


def test_from_words_checks_given_boundaries_and_keeps_them(cus: list[Btf]) -> None:
    btf = cus[1]
    again = Btf.from_words(btf.words, btf.strings.data, type_start=list(btf.type_start))
    assert again.type_start.dtype == np.int64 and np.array_equal(again.type_start, btf.type_start)
    assert np.array_equal(again.kind, btf.kind)
    with pytest.raises(BtfFormatError, match="type_start entry 0"):
        Btf.from_words(btf.words, btf.strings.data, type_start=btf.type_start + 1)


def test_strings_without_the_sizes_are_checked_before_the_walk() -> None:
    with pytest.raises(BtfFormatError, match="must start with a NUL"):
        Btf.from_words(np.zeros(0, dtype=np.uint32), b"x\0")
    with pytest.raises(BtfFormatError, match="does not end with a NUL"):
        Btf.from_words(np.zeros(0, dtype=np.uint32), b"\0x")
    empty = Btf.from_words(np.zeros(0, dtype=np.uint32), b"\0")
    assert empty.nr_types == 0 and len(empty.kind) == 0
    assert isinstance(empty.strings, StringTable)
