"""The string index (btfdedup/model/strindex.pxd): libbpf ``btf__find_str`` over a blob,
and the ``btf__add_str`` string set the merge and the static linker build on it.

Every answer is checked against a plain Python model of libbpf's semantics: only
string starts are indexed, the first copy of equal content wins, a string equal to
a base string takes the base offset, anything else is appended on first sight.
``collide=True`` gives every string the same hash, so the byte comparison alone has
to tell the strings of one long probe run apart.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from btfdedup.append import StringSet
from btfdedup.model.btf import Btf
from btfdedup.model.strindex import StringIndex
from btfdedup.model.strings import StringTable


def _blob(strings: list[bytes]) -> bytes:
    return b"".join(s + b"\0" for s in strings)


def _first_offsets(blob: bytes) -> dict[bytes, int]:
    """Content -> offset of its first string start (the model of the index)."""
    out: dict[bytes, int] = {}
    p = 0
    while p < len(blob):
        end = blob.index(b"\0", p)
        out.setdefault(blob[p:end], p)
        p = end + 1
    return out


#: shared prefixes, word-boundary lengths (the hash reads eight bytes a step) and duplicates
PREFIXES = [b"", b"a", b"ab", b"abc", b"abcdefg", b"abcdefgh", b"abcdefghi", b"abcdefgh" * 2, b"abcdefgh" * 2 + b"x",
            b"b", b"ab", b"", b"abcdefgh", b"x" * 40, b"x" * 41, b"x" * 39]


@pytest.mark.parametrize("collide", [False, True])
def test_find_answers_the_first_string_start(collide: bool) -> None:
    blob = _blob(PREFIXES)
    index = StringIndex(blob, collide=collide)
    model = _first_offsets(blob)
    assert index.count == len(model)
    for s, off in model.items():
        assert index.find(s) == off
    # suffixes and extensions of indexed strings are not string starts
    for s in (b"bc", b"c", b"bcdefgh", b"abcd", b"abcdefgh" * 3, b"x" * 42, b"y"):
        assert index.find(s) == -1
    assert index.find(b"a\0b") == -1  # a string never holds a NUL


@pytest.mark.parametrize("collide", [False, True])
def test_empty_blob_and_empty_string(collide: bool) -> None:
    empty = StringIndex(b"", collide=collide)
    assert empty.count == 0 and empty.find(b"") == -1 and empty.find(b"a") == -1
    only = StringIndex(b"\0", collide=collide)
    assert only.count == 1 and only.find(b"") == 0 and only.find(b"a") == -1
    later = StringIndex(b"a\0\0b\0", collide=collide)
    assert later.find(b"") == 2 and later.find(b"a") == 0 and later.find(b"b") == 3


@pytest.mark.parametrize(("n", "collide"), [(20000, False), (600, True)])
def test_growth_keeps_every_string(n: int, collide: bool) -> None:
    rng = random.Random(n)
    strings = [b"s%d_%s" % (i, b"q" * rng.randrange(0, 20)) for i in range(n)]
    strings += rng.sample(strings, n // 4)  # later duplicates lose to the first copy
    blob = _blob(strings)
    index = StringIndex(blob, collide=collide)
    model = _first_offsets(blob)
    assert index.count == len(model) and index.capacity >= 2 * index.count
    assert index.capacity & (index.capacity - 1) == 0
    for s, off in model.items():
        assert index.find(s) == off


def test_string_table_find_prefers_the_base() -> None:
    base = StringTable(_blob([b"", b"int", b"long", b"int"]))
    own = StringTable(_blob([b"long", b"char", b"char", b"int"]), base.end_off, base)
    assert own.find(b"int") == 1 and own.find(b"long") == 5
    assert own.find(b"char") == base.end_off + 5
    assert own.find(b"nt") == -1 and own.find(b"") == 0
    assert StringTable(b"\0").find(b"x") == -1


def _add_str_model(base: bytes | None, refs: list[tuple[bytes, int]]) -> tuple[list[int], bytes]:
    """``btf__add_str`` of the string at each (blob, offset), on a fresh BTF (split on
    ``base`` when given): the offsets it answers and the new string section."""
    index = _first_offsets(base) if base is not None else {b"": 0}
    start = len(base) if base is not None else 0
    out = bytearray() if base is not None else bytearray(b"\0")
    got = []
    for blob, off in refs:
        s = blob[off : blob.index(b"\0", off)]
        if s not in index:
            index[s] = start + len(out)
            out += s + b"\0"
        got.append(index[s])
    return got, bytes(out)


@pytest.mark.parametrize("with_base", [False, True])
def test_string_set_matches_add_str(with_base: bool) -> None:
    """Enough strings to grow the index and the output blob several times; references
    into the middle of strings (suffixes), duplicates, and for a split destination
    strings equal to base strings and suffixes of base strings."""
    rng = random.Random(7)
    pool = [b"name_%d" % rng.randrange(3000) + b"z" * rng.randrange(12) for _ in range(8000)]
    own = _blob([b"", *pool])
    own_offs = [0, *np.flatnonzero(np.frombuffer(own, dtype=np.uint8) == 0)[:-1].tolist()]
    base_blob = _blob([b"", b"int", *pool[:500], b"int"]) if with_base else None
    base = None
    if base_blob is not None:
        base = Btf.from_words(np.zeros(0, dtype=np.uint32), base_blob)
    start = len(base_blob) if base_blob is not None else 0
    refs: list[tuple[bytes, int]] = []  # (blob, offset in it) in the model
    offs: list[int] = []  # the same as global offsets of the source
    for _ in range(20000):
        if base_blob is not None and rng.random() < 0.3:
            o = rng.randrange(1, len(base_blob))  # any base offset: starts and suffixes
            refs.append((base_blob, o))
            offs.append(o)
        else:
            o = rng.choice(own_offs) + (1 if rng.random() < 0.2 else 0)
            refs.append((own, o))
            offs.append(start + o)
    want, want_blob = _add_str_model(base_blob, refs)
    strset = StringSet(base)
    arr = np.array(offs, dtype=np.int64)
    strset.intern_fields(arr, np.zeros(len(arr), dtype=np.int64),
                         [StringTable(own, start, base.strings if base is not None else None)])
    assert arr.tolist() == [w if o else 0 for w, o in zip(want, offs, strict=True)]
    assert strset.to_bytes() == want_blob
    assert strset.index.count >= len(set(want))
