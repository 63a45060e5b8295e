"""Property-based fuzzing of :func:`btfdedup.io.raw.parse_raw`.

Hypothesis mutates small REAL blobs (the smallest committed compilation-unit
BTF, the same with a layout section and byte-swapped, and a kernel module's
split BTF on the 6.1 vmlinux base): byte overwrites, insertions, deletions,
hostile values in header fields and in type-record words (info: kind / vlen /
kind_flag; name offsets; type IDs), and stacks of several of these.

The property: the only exception that may escape is :class:`BtfFormatError`
(no IndexError, struct.error, ValueError, MemoryError, OverflowError, no hang,
no allocation beyond a small multiple of the input), and whatever is accepted
re-serialises and re-parses to the same bytes.  Runs deterministically
(``derandomize``) so CI sees the same examples every time; about 30 s.
"""

from __future__ import annotations

import lzma
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from btfdedup.io.raw import parse_raw
from btfdedup.model.btf import Btf

from .test_io_malformed import (
    BASE_61,
    CUS,
    MODULES,
    _bo,
    _check_accepted,
    _hdr,
    _parse_guarded,
    _swap_endian,
    _with_layout,
    hang_watchdog,  # noqa: F401 - autouse fixture: the hang watchdog applies here too
)

INTERESTING_U32 = [
    0, 1, 2, 3, 4, 8, 12, 24, 32, 0xFF, 0xFFFF, 0x10000, 0xFFFFFF, 0x1000000,
    0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 0xFFFFFFFC, 0xFFFFFFFF,
]


@dataclass(frozen=True)
class Seed:
    name: str
    data: bytes
    base: Btf | None


def _seeds() -> list[Seed]:
    if not CUS:
        return []
    cu = min(CUS, key=lambda p: p.stat().st_size).read_bytes()
    seeds = [Seed("cu", cu, None), Seed("cu+layout", _with_layout(cu), None), Seed("cu+be", _swap_endian(cu), None)]
    if MODULES and BASE_61.exists():
        base = parse_raw(lzma.decompress(BASE_61.read_bytes()), source=str(BASE_61))
        _ = base.kind  # warm the cached column split parses consult
        mod = min(MODULES, key=lambda p: p.stat().st_size if p.stat().st_size > 200 else 1 << 30)
        seeds.append(Seed("module", mod.read_bytes(), base))
    return seeds


SEEDS = _seeds()
pytestmark = pytest.mark.skipif(not SEEDS, reason="committed fixtures corpora/cus/*.btf missing")


def _u32(data: bytearray, off: int, value: int, bo: str) -> None:
    if 0 <= off and off + 4 <= len(data):
        data[off : off + 4] = (value & 0xFFFFFFFF).to_bytes(4, "little" if bo == "<" else "big")


@st.composite
def mutation(draw: st.DrawFn, seed: Seed) -> bytes:
    """One or a few mutations of ``seed.data``."""
    data = bytearray(seed.data)
    bo = _bo(seed.data)
    h = _hdr(seed.data)
    t0 = h["hdr_len"] + h["type_off"]
    n_words = h["type_len"] // 4
    value = st.one_of(st.sampled_from(INTERESTING_U32), st.integers(0, 0xFFFFFFFF))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["overwrite", "insert", "delete", "header", "word", "info", "truncate"]))
        n = len(data)
        if op == "overwrite" and n:
            pos = draw(st.integers(0, n - 1))
            chunk = draw(st.binary(min_size=1, max_size=8))
            data[pos : pos + len(chunk)] = chunk
            del data[n:]
        elif op == "insert":
            pos = draw(st.integers(0, n))
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete" and n:
            pos = draw(st.integers(0, n - 1))
            del data[pos : pos + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[draw(st.integers(0, n)) :]
        elif op == "header":
            field = draw(st.sampled_from([4, 8, 12, 16, 20, 24, 28]))
            orig = int.from_bytes(data[field : field + 4], "little" if bo == "<" else "big") if field + 4 <= n else 0
            v = draw(value) if draw(st.booleans()) else orig + draw(st.integers(-8, 8))
            _u32(data, field, v, bo)
        elif op in ("word", "info") and n_words:
            w = draw(st.integers(0, n_words - 1))
            if op == "info":
                # aim at an info word: kind (7 bits), vlen (24 bits), kind_flag
                kind = draw(st.integers(0, 127))
                vlen = draw(st.one_of(st.integers(0, 4), st.sampled_from([0xFFFF, 0x10000, 0xFFFFFF])))
                v = (draw(st.integers(0, 1)) << 31) | (kind << 24) | vlen
            else:
                v = draw(value)
            _u32(data, t0 + 4 * w, v, bo)
    return bytes(data)


def _check(seed: Seed, mutated: bytes) -> None:
    res = _parse_guarded(mutated, seed.base, source=seed.name)
    if isinstance(res, Btf):
        _check_accepted(res, mutated)
    else:
        assert seed.name in str(res)
        assert res.offset is not None or res.type_id is not None, res


FUZZ = settings(
    max_examples=900,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("seed", SEEDS, ids=[s.name for s in SEEDS])
def test_fuzz_parse_raw_only_raises_btf_format_error(seed: Seed) -> None:
    @FUZZ
    @given(mutated=mutation(seed))
    def run(mutated: bytes) -> None:
        _check(seed, mutated)

    run()


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(blob=st.binary(max_size=96), magic=st.sampled_from([b"\x9f\xeb\x01\x00", b"\xeb\x9f\x01\x00", b""]))
def test_fuzz_arbitrary_bytes_behind_a_btf_magic(blob: bytes, magic: bytes) -> None:
    """Arbitrary bytes, usually behind a valid magic/version so the header and
    section checks (not just the magic check) see them."""
    res = _parse_guarded(magic + blob, source="fuzz")
    if isinstance(res, Btf):
        _check_accepted(res, magic + blob)
