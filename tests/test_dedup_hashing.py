"""Static dedup keys: compiled per-record form vs numpy closed form vs the formula by hand.

The hand computation follows libbpf's ``hash_combine`` (``h * 31 + v`` mod 2**64,
starting from 0) field by field, in Python integers.
"""

from __future__ import annotations

import lzma

import numpy as np

from btfdedup.engine.hashing import static_keys, static_keys_numpy
from btfdedup.io.raw import parse_raw
from tests._btf_build import Builder
from tests.conftest import FIXTURES

_MASK = (1 << 64) - 1


def _combine(h: int, *vals: int) -> int:
    for v in vals:
        h = (h * 31 + v) & _MASK
    return h


def _keys(blob: bytes) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
    btf = parse_raw(blob)
    pos = btf.type_start[:-1]
    recs = [btf.words[btf.type_start[i] : btf.type_start[i + 1]].tolist() for i in range(btf.nr_types)]
    return static_keys(btf.words, pos, btf.kind), static_keys_numpy(btf.words, pos, btf.kind), recs


def test_keys_by_hand() -> None:
    b = Builder()
    i = b.int_("int")
    b.struct("s", 8, [("a", i, 0), ("b", i, 32)])
    b.struct("e", 0, [])
    b.enum("en", 4, [("A", 1)])
    b.array(i, i, 3)
    b.func_proto(i, [("x", i)])
    b.ptr(i)
    b.var("v", i)
    fast, closed, recs = _keys(b.blob())
    want = [
        _combine(0, *recs[0][:4]),
        _combine(0, *recs[1][:3], recs[1][3], recs[1][5], recs[1][6], recs[1][8]),
        _combine(0, *recs[2][:3]),
        recs[3][0],
        _combine(0, *recs[4][:6]),
        _combine(0, *recs[5][:3], recs[5][3], recs[5][4]),
        _combine(0, *recs[6][:3]),
        0,
    ]
    assert fast.tolist() == want
    assert closed.tolist() == want


def test_compiled_and_closed_form_agree_on_real_base() -> None:
    btf = parse_raw(lzma.decompress((FIXTURES / "modules" / "vmlinux-6.1.btf.xz").read_bytes()))
    pos = btf.type_start[:-1]
    assert np.array_equal(static_keys(btf.words, pos, btf.kind), static_keys_numpy(btf.words, pos, btf.kind))
