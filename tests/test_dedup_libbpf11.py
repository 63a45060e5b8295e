"""``dedup(..., libbpf_version="1.1")``: byte for byte what libbpf 1.1.2 ``btf__dedup`` writes.

Judge: the system ``libbpf.so.1`` (Debian 12: libbpf 1.1.2), via :mod:`tests.oracle`,
the libbpf whose BPF static linker we reproduce.  Its outputs for the committed
fixtures and the hand-built cases are committed in ``tests/expected/dedup_libbpf11.json``
(``python tests/expected/make_dedup_libbpf11.py``), so those checks run, and fail on a
difference, where the judge is absent; where it is present they also run live.

The only dedup difference between 1.1.2 and v1.6 is IS_EQUIV's fallback for a canonical
type already hypothesised to another candidate (see :mod:`btfdedup.engine.profiles`).
The hand-built cases of part (c) sit exactly on it: each is checked on both sides, the
1.1 profile against libbpf 1.1.2 and the default 1.6 profile against libbpf v1.6 (the
pylibbpf wheel; committed in ``tests/expected/dedup_libbpf11_v16.json``), and each
asserts which side merges.

Parts:

(a) hypothesis type graphs of :mod:`tests.strategies` (direct, merged, split), plus
    families whose later copies carry compiler-style duplicates of a type (two
    identical pointers, arrays, typedefs or structs where the first copy has one), so
    the fallback runs often;
(b) every committed fixture, as :mod:`tests.test_dedup_oracle` drives them;
(c) the hand-built cases where the two releases differ (or agree through the fallback);
(d) ``@pytest.mark.corpus``: the big vmlinux corpora.
"""

from __future__ import annotations

import base64
import contextlib
import json
import lzma
import os
import random
import struct
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from btfdedup.append import merge, merge_modules
from btfdedup.engine import LIBBPF_VERSIONS, DedupResult, dedup
from btfdedup.errors import BtfUsageError, DedupError
from btfdedup.format.constants import Kind
from btfdedup.io.elf import find_btf_sections
from btfdedup.io.load import load
from btfdedup.io.raw import parse_raw
from btfdedup.model.btf import Btf
from tests._btf_build import Builder
from tests.conftest import FIXTURES
from tests.expected import EXPECTED_DIR, LIBBPF_V16, Family, Judge, case_key, rel
from tests.oracle.libbpf import Libbpf, OracleError, OracleUnavailable
from tests.strategies import Cu, StringLayout, base_btfs, cu_sets, cus, encode, looped_btfs, raw_btfs, split_btfs

GENERATOR = "tests/expected/make_dedup_libbpf11.py"


def _libbpf_112() -> Libbpf:
    """The system libbpf, provided it is the 1.1 series this file pins."""
    lib = Libbpf.system()
    if lib.version != (1, 1):
        raise OracleUnavailable(f"system libbpf is {lib.version[0]}.{lib.version[1]}, not 1.1")
    return lib


def _describe_112(lib: Libbpf) -> str:
    real = os.path.basename(os.path.realpath(lib.path))
    full = real.split(".so.", 1)[1] if ".so." in real else "1.1"
    return f"libbpf {full} btf__dedup"


LIBBPF_112 = Judge("libbpf 1.1.2", _libbpf_112, _describe_112)
#: libbpf 1.1.2's btf__dedup of every fixture and hand-built case of this file
DEDUP_LIBBPF11 = Family("dedup_libbpf11", LIBBPF_112, GENERATOR)
#: libbpf v1.6's btf__dedup of the hand-built cases of part (c) (the other side)
DEDUP_LIBBPF11_V16 = Family("dedup_libbpf11_v16", LIBBPF_V16, GENERATOR)

SCALE = 10 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 1
COMMON: dict[str, Any] = dict(deadline=None, suppress_health_check=list(HealthCheck), derandomize=SCALE == 1)


def _ours11(btf: Btf, force_collisions: bool = False) -> bytes:
    return dedup(btf, force_collisions=force_collisions, libbpf_version="1.1").btf.to_bytes()


# ----------------------------------------------------------------- the keyword
def test_versions_accepted_and_rejected() -> None:
    assert LIBBPF_VERSIONS == ("1.1", "1.6", "1.7", "1.8")
    b = Builder()
    b.int_()
    b.int_()
    btf = parse_raw(b.blob())
    assert dedup(btf, libbpf_version="1.1").btf.to_bytes() == dedup(btf).btf.to_bytes()
    for bad in ("1.2", "1.9", "v1.6", "1", "", "1.6.0"):
        with pytest.raises(BtfUsageError, match="libbpf_version"):
            dedup(btf, libbpf_version=bad)
    with pytest.raises(BtfUsageError, match="reproduce_array_bug"):
        dedup(btf, libbpf_version="1.1", reproduce_array_bug=True)


def test_top_level_dedup_takes_the_profiles() -> None:
    """btfdedup.dedup (the strategy dispatcher) reaches the engine with its libbpf_version."""
    import btfdedup
    from btfdedup.strategies import dedup as dispatching_dedup

    assert btfdedup.dedup is dispatching_dedup
    btf = parse_raw((Path(__file__).resolve().parent.parent / "corpora" / "cus" / "cu1412.btf").read_bytes())
    for v in ("1.1", "1.6"):
        assert btfdedup.dedup(btf, libbpf_version=v).btf.to_bytes() == dedup(btf, libbpf_version=v).btf.to_bytes()


# ------------------------------------------------------------- (a) hypothesis
_DUPLICABLE = frozenset({Kind.PTR, Kind.ARRAY, Kind.TYPEDEF, Kind.CONST, Kind.VOLATILE, Kind.STRUCT, Kind.UNION})


def _with_duplicate(cu: Cu, rnd: random.Random, j: int | None = None) -> Cu:
    """``cu`` plus a compiler-style duplicate of one of its types (slot ``j``, or a
    random one), appended as a new slot, with some of the STRUCT/UNION members that
    refer to the original re-pointed at the copy.

    The copy has the original's outgoing references, so every cycle through it maps
    to a cycle through the original (which passes through a struct): the result is
    as valid as ``cu``.  References to a later slot are only allowed to structs and
    unions, which is why only STRUCT/UNION members may be re-pointed (the copy is the
    last slot)."""
    out = [replace(t, elems=list(t.elems)) for t in cu]
    if j is None or out[j].kind not in _DUPLICABLE:
        cands = [i for i, t in enumerate(out) if t.kind in _DUPLICABLE]
        if not cands:
            return out
        j = rnd.choice(cands)
    out.append(replace(out[j], elems=list(out[j].elems)))
    dup_ref = len(out)  # encoded ref of the new last slot
    for t in out[:-1]:
        if t.kind in (Kind.STRUCT, Kind.UNION):
            t.elems = [(n, dup_ref if r == j + 1 and rnd.random() < 0.6 else r, off) for n, r, off in t.elems]
    return out


def _shared_member_type(cu: Cu, rnd: random.Random) -> tuple[Cu, int | None]:
    """``cu`` with two members of one STRUCT/UNION re-pointed at one duplicable type
    (returned as its slot), the shape in which a later copy's duplicate of that type
    gives one canonical type two candidates."""
    out = [replace(t, elems=list(t.elems)) for t in cu]
    composite = (Kind.STRUCT, Kind.UNION)
    holders = [i for i, t in enumerate(out) if t.kind in composite and len(t.elems) >= 2]
    if not holders:
        return out, None
    h = rnd.choice(holders)
    targets = [j for j, t in enumerate(out) if t.kind in _DUPLICABLE and j != h and (j < h or t.kind in composite)]
    if not targets:
        return out, None
    j = rnd.choice(targets)
    a, b = sorted(rnd.sample(range(len(out[h].elems)), 2))
    for m in (a, b):
        name, _r, off = out[h].elems[m]
        out[h].elems[m] = (name, j + 1, off)
    return out, j


def _without_value_cycles(cu: Cu) -> Cu:
    """``cu`` with every STRUCT/UNION member that holds a *later* struct or union by
    value re-pointed to slot 0 (the INT).

    Such members are the only way to build a by-value containment cycle (A holds B,
    B holds A), which no C type has; on one, libbpf 1.1.2's identical-structs check
    recurses until it overflows the stack (ours raises :class:`DedupError`, see
    :func:`test_value_cycle_in_identical_structs_is_refused`).  Members reaching a
    later struct through a pointer stay."""
    out = [replace(t, elems=list(t.elems)) for t in cu]
    composite = (Kind.STRUCT, Kind.UNION)
    for i, t in enumerate(out):
        if t.kind in composite:
            t.elems = [(n, 1 if r > i and out[r - 1].kind in composite else r, off) for n, r, off in t.elems]
    return out


@st.composite
def duplicate_families(draw: st.DrawFn) -> Btf:
    """A CU followed by copies of it carrying duplicated types (and sometimes the
    reverse order), back to back in one BTF: candidate graphs in which one canonical
    type meets two distinct candidates, so IS_EQUIV's fallback decides."""
    rnd = draw(st.randoms(use_true_random=False))
    first, shared = _shared_member_type(draw(cus(min_types=3, max_types=12)), rnd)
    first = _without_value_cycles(first)
    fam = [first]
    for _ in range(draw(st.integers(1, 3))):
        fam.append(_with_duplicate(rnd.choice(fam), rnd, shared))
    if draw(st.booleans()):
        fam.reverse()
    return encode(fam, StringLayout(rnd))


def _run_case(case: dict[str, Any]) -> tuple[Callable[[], bytes], Callable[[Libbpf], bytes]]:
    """(ours, judge) thunks for one generated case (see ``make_dedup_libbpf11.py``)."""
    kind, force = case["kind"], bool(case["force"])
    inputs = [base64.b64decode(x) for x in case["inputs"]]
    base_bytes = base64.b64decode(case["base"]) if "base" in case else None
    if kind in ("direct", "duplicates", "loop"):
        data = inputs[0]
        return (lambda: _ours11(parse_raw(data), force),
                lambda lib: lib.dedup_bytes(data, force_collisions=force))
    if kind == "merge":
        return (lambda: _ours11(merge([parse_raw(d) for d in inputs]), force),
                lambda lib: lib.merge_dedup_bytes(inputs, force_collisions=force))
    assert base_bytes is not None
    if kind == "split":
        return (lambda: _ours11(parse_raw(inputs[0], base=parse_raw(base_bytes)), force),
                lambda lib: lib.dedup_bytes(inputs[0], base=base_bytes, force_collisions=force))
    assert kind == "modules"

    def ours_modules() -> bytes:
        base = parse_raw(base_bytes)
        return _ours11(merge([parse_raw(m, base=base) for m in inputs], base))

    return ours_modules, lambda lib: lib.merge_modules_dedup_bytes(inputs, base_bytes)


def _load_corpus() -> list[dict[str, Any]]:
    if not CORPUS_PATH.exists():
        return []
    cases: list[dict[str, Any]] = json.loads(lzma.decompress(CORPUS_PATH.read_bytes()))["cases"]
    return cases


CORPUS_PATH = EXPECTED_DIR / "dedup_libbpf11_corpus.json.xz"
CORPUS = _load_corpus()


def _case_id(i: int) -> str:
    c = CORPUS[i]
    return f"{i:03d}-{c['kind']}{'-force' if c['force'] else ''}"


def test_corpus_is_committed() -> None:
    assert len(CORPUS) >= 200, f"{rel(CORPUS_PATH)} missing or short: run `python {GENERATOR}`"


@pytest.mark.parametrize("i", range(len(CORPUS)), ids=_case_id)
def test_corpus_matches_libbpf112(i: int) -> None:
    """One committed generated input: ours equals libbpf 1.1.2's committed (and live) output."""
    ours, judge = _run_case(CORPUS[i])
    DEDUP_LIBBPF11.check(f"{rel(CORPUS_PATH)}::{_case_id(i)}", ours, judge, ours_errors=DedupError)


#: libbpf 1.1.2 when installed; the live property tests exist only then
LIVE_LIB: Libbpf | None = LIBBPF_112.live()
F = TypeVar("F", bound=Callable[..., Any])


def live_oracle_only(test: F) -> F | None:
    """``test`` where libbpf 1.1.2 is installed, else nothing to collect (the committed
    corpus covers the properties then)."""
    return test if LIVE_LIB is not None else None


@pytest.fixture(scope="module")
def lib11() -> Libbpf:
    assert LIVE_LIB is not None
    return LIVE_LIB


def _compare(expect_fn: Callable[[], bytes], ours_fn: Callable[[], bytes]) -> None:
    try:
        expected = expect_fn()
    except OracleError as e:
        with pytest.raises(DedupError):
            ours_fn()
        assert e.errno > 0
        return
    assert ours_fn() == expected


@live_oracle_only
@settings(max_examples=150 * SCALE, **COMMON)
@given(btf=raw_btfs(), force=st.booleans(), big_endian=st.booleans())
def test_direct_dedup_matches_libbpf112(lib11: Libbpf, btf: Btf, force: bool, big_endian: bool) -> None:
    if big_endian:
        btf.byteorder = ">"
    data = btf.to_bytes()
    _compare(lambda: lib11.dedup_bytes(data, force_collisions=force), lambda: _ours11(parse_raw(data), force))


@live_oracle_only
@settings(max_examples=300 * SCALE, **COMMON)
@given(btf=duplicate_families(), force=st.booleans())
def test_duplicated_types_match_libbpf112(lib11: Libbpf, btf: Btf, force: bool) -> None:
    data = btf.to_bytes()
    _compare(lambda: lib11.dedup_bytes(data, force_collisions=force), lambda: _ours11(parse_raw(data), force))


@live_oracle_only
@settings(max_examples=100 * SCALE, **COMMON)
@given(btfs=cu_sets())
def test_merge_then_dedup_matches_libbpf112(lib11: Libbpf, btfs: list[Btf]) -> None:
    datas = [b.to_bytes() for b in btfs]
    merged = merge([parse_raw(d) for d in datas])
    _compare(lambda: lib11.merge_dedup_bytes(datas), lambda: _ours11(merged))


@live_oracle_only
@settings(max_examples=100 * SCALE, **COMMON)
@given(data=st.data(), dedup_base=st.booleans())
def test_split_dedup_matches_libbpf112(lib11: Libbpf, data: st.DataObject, dedup_base: bool) -> None:
    base_bytes = data.draw(base_btfs()).to_bytes()
    if dedup_base:
        with contextlib.suppress(OracleError):
            base_bytes = lib11.dedup_bytes(base_bytes)
    base = parse_raw(base_bytes)
    split_bytes = data.draw(split_btfs(base)).to_bytes()
    _compare(lambda: lib11.dedup_bytes(split_bytes, base=base_bytes),
             lambda: _ours11(parse_raw(split_bytes, base=base)))


@live_oracle_only
@settings(max_examples=50 * SCALE, **COMMON)
@given(data=st.data())
def test_merged_modules_dedup_matches_libbpf112(lib11: Libbpf, data: st.DataObject) -> None:
    base_bytes = data.draw(base_btfs()).to_bytes()
    base = parse_raw(base_bytes)
    mods = [data.draw(split_btfs(base, max_copies=2, max_types=8)).to_bytes()
            for _ in range(data.draw(st.integers(1, 3)))]
    merged = merge([parse_raw(m, base=base) for m in mods], base)
    _compare(lambda: lib11.merge_modules_dedup_bytes(mods, base_bytes), lambda: _ours11(merged))


@live_oracle_only
@settings(max_examples=25 * SCALE, **COMMON)
@given(btf=looped_btfs())
def test_reference_loops_fail_like_libbpf112(lib11: Libbpf, btf: Btf) -> None:
    data = btf.to_bytes()
    with pytest.raises(OracleError):
        lib11.dedup_bytes(data)
    with pytest.raises(DedupError):
        _ours11(parse_raw(data))


# ------------------------------------------------------------ (b) the fixtures
CUS = sorted((FIXTURES / "cus").glob("*.btf"))
MODULES = sorted(p for p in (FIXTURES / "modules").glob("*.btf") if ".distilled" not in p.name)
OBJECTS = sorted((FIXTURES / "bpf").glob("*.o")) + sorted((FIXTURES / "bpf-objects").glob("*.o"))


@cache
def _base_bytes() -> bytes:
    return lzma.decompress((FIXTURES / "modules" / "vmlinux-6.1.btf.xz").read_bytes())


@cache
def _base() -> Btf:
    return parse_raw(_base_bytes())


def test_fixture_cus_merged() -> None:
    datas = [p.read_bytes() for p in CUS]
    out = _ours11(merge([parse_raw(d) for d in datas]))
    DEDUP_LIBBPF11.check("corpora/cus/*.btf::add_btf,dedup", out, lambda lib: lib.merge_dedup_bytes(datas),
                         inputs=datas)


def test_fixture_cus_merged_then_parsed() -> None:
    datas = [p.read_bytes() for p in CUS]
    merged = merge([parse_raw(d) for d in datas]).to_bytes()
    DEDUP_LIBBPF11.check("corpora/cus/*.btf::add_btf,parse,dedup", _ours11(parse_raw(merged)),
                         lambda lib: lib.dedup_bytes(lib.merge_bytes(datas)), inputs=datas)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_fixture_module_on_base(path: Path) -> None:
    data = path.read_bytes()
    out = _ours11(parse_raw(data, base=_base()))
    DEDUP_LIBBPF11.check(f"{rel(path)}::dedup on vmlinux-6.1", out,
                         lambda lib: lib.dedup_bytes(data, base=_base_bytes()), inputs=[data, _base_bytes()])


def test_fixture_modules_merged_on_base() -> None:
    datas = [p.read_bytes() for p in MODULES]
    out = _ours11(merge_modules([parse_raw(d, base=_base()) for d in datas], _base()))
    DEDUP_LIBBPF11.check("corpora/modules/*.btf::module recipe,dedup on vmlinux-6.1", out,
                         lambda lib: lib.merge_modules_dedup_bytes(datas, _base_bytes()),
                         inputs=[*datas, _base_bytes()])


@pytest.mark.parametrize("path", OBJECTS, ids=lambda p: p.name)
def test_fixture_bpf_object(path: Path) -> None:
    """With .BTF.ext where libbpf 1.1.2 reads it (it refuses a foreign-endian .BTF.ext,
    an ability later releases added), and always without."""
    secs = find_btf_sections(path.read_bytes(), str(path))
    assert secs.btf is not None and secs.btf_ext is not None
    data, ext = secs.btf.data, secs.btf_ext.data
    btf = load(str(path))
    assert btf.ext is not None
    key = rel(path)
    DEDUP_LIBBPF11.check(f"{key}::dedup", _ours11(btf), lambda lib: lib.dedup_bytes(data), inputs=data)
    if "bpfeb" in path.name:
        return
    res = dedup(btf, ext=btf.ext, libbpf_version="1.1")
    assert res.ext is not None
    DEDUP_LIBBPF11.check(f"{key}::dedup with .BTF.ext:btf", res.btf.to_bytes(),
                         lambda lib: lib.dedup_ext_bytes(data, ext)[0], inputs=[data, ext])
    DEDUP_LIBBPF11.check(f"{key}::dedup with .BTF.ext:ext", res.ext.to_bytes(),
                         lambda lib: lib.dedup_ext_bytes(data, ext)[1], inputs=[data, ext])


def test_fixture_bpf_objects_merged() -> None:
    objs = [p for p in OBJECTS if "bpfeb" not in p.name]
    btfs = [load(str(p)) for p in objs]
    datas = [find_btf_sections(p.read_bytes()).btf.data for p in objs]  # type: ignore[union-attr]
    DEDUP_LIBBPF11.check("corpora/bpf{,-objects}/*.o (little-endian)::add_btf,dedup", _ours11(merge(btfs)),
                         lambda lib: lib.merge_dedup_bytes(datas), inputs=datas)


def test_fixture_host_enum64() -> None:
    data = find_btf_sections((FIXTURES / "host" / "enum64.o").read_bytes()).btf.data  # type: ignore[union-attr]
    btf = parse_raw(data)
    DEDUP_LIBBPF11.check("corpora/host/enum64.o::twice,add_btf,dedup", _ours11(merge([btf, btf])),
                         lambda lib: lib.merge_dedup_bytes([data, data]), inputs=[data, data])


def test_fixture_distilled_split() -> None:
    base_b = (FIXTURES / "modules" / "8021q.distilled.base.btf").read_bytes()
    data = (FIXTURES / "modules" / "8021q.distilled.btf").read_bytes()
    DEDUP_LIBBPF11.check("corpora/modules/8021q.distilled.btf::dedup on 8021q.distilled.base.btf",
                         _ours11(parse_raw(data, base=parse_raw(base_b))),
                         lambda lib: lib.dedup_bytes(data, base=base_b), inputs=[data, base_b])


# -------------------------------------------------- (c) where 1.1 and 1.6 differ
def _both_sides(blob: bytes) -> tuple[DedupResult, DedupResult]:
    """Dedup ``blob`` with both profiles; each must equal its own libbpf (live and committed)."""
    r11 = dedup(parse_raw(blob), libbpf_version="1.1")
    r16 = dedup(parse_raw(blob))
    DEDUP_LIBBPF11.check(case_key("dedup"), r11.btf.to_bytes(), lambda lib: lib.dedup_bytes(blob), inputs=blob)
    DEDUP_LIBBPF11_V16.check(case_key("dedup"), r16.btf.to_bytes(), lambda lib: lib.dedup_bytes(blob), inputs=blob)
    # the candidate order does not matter to either release
    r11f = dedup(parse_raw(blob), libbpf_version="1.1", force_collisions=True)
    assert r11f.btf.to_bytes() == r11.btf.to_bytes()
    return r11, r16


def _structs(res: DedupResult, name: str) -> int:
    b = res.btf
    return sum(1 for i in range(b.start_id, b.type_cnt) if b.kind_name(i) == "STRUCT" and b.name(i) == name)


def _pair_blob(make_members: Callable[[Builder, int], tuple[int, int]], canon_first: bool = True) -> bytes:
    """CU 1: ``struct S {a; b;}`` whose two members share one type; CU 2: the same
    struct whose members have two distinct types built by ``make_members`` (one per
    member, like a compiler that emitted a type twice).  S2 is compared with S1 and
    S1's shared member type gets two candidates: the fallback decides."""
    b = Builder()

    def canon() -> None:
        i = b.int_("int")
        m1, _m2 = make_members(b, i)
        b.struct("S", 16, [("a", m1, 0), ("b", m1, 64)])

    def cand() -> None:
        i = b.int_("int")
        m1, m2 = make_members(b, i)
        b.struct("S", 16, [("a", m1, 0), ("b", m2, 64)])

    for part in (canon, cand) if canon_first else (cand, canon):
        part()
    return b.blob()


def test_duplicate_pointers_merge_only_in_16() -> None:
    blob = _pair_blob(lambda b, i: (b.ptr(i), b.ptr(i)))
    r11, r16 = _both_sides(blob)
    assert _structs(r11, "S") == 2  # 1.1: pointers never match by structure
    assert _structs(r16, "S") == 1  # 1.6: IDENTICAL follows the pointers


def test_duplicate_typedefs_merge_only_in_16() -> None:
    blob = _pair_blob(lambda b, i: (b.typedef("u32", i), b.typedef("u32", i)))
    r11, r16 = _both_sides(blob)
    assert (_structs(r11, "S"), _structs(r16, "S")) == (2, 1)


def test_duplicate_const_volatile_merge_only_in_16() -> None:
    blob = _pair_blob(lambda b, i: (b.const(b.volatile(i)), b.const(b.volatile(i))))
    r11, r16 = _both_sides(blob)
    assert (_structs(r11, "S"), _structs(r16, "S")) == (2, 1)


def test_arrays_of_duplicate_ints_merge_only_in_16() -> None:
    """1.1 needs identical arrays word for word; 1.6 compares the element types."""

    def arrays(b: Builder, i: int) -> tuple[int, int]:
        j = b.int_("int")  # a second, identical INT: distinct element IDs
        return b.array(i, i, 2), b.array(j, i, 2)

    r11, r16 = _both_sides(_pair_blob(arrays))
    assert (_structs(r11, "S"), _structs(r16, "S")) == (2, 1)


def test_identical_arrays_merge_in_both() -> None:
    r11, r16 = _both_sides(_pair_blob(lambda b, i: (b.array(i, i, 2), b.array(i, i, 2))))
    assert (_structs(r11, "S"), _structs(r16, "S")) == (1, 1)
    assert r11.btf.to_bytes() == r16.btf.to_bytes()


def _nested_blob(inner: Callable[[Builder, int], int]) -> bytes:
    """CU 1: ``struct S {struct T a; struct T b;}``; CU 2: the same with two copies
    T1, T2 of T (S comes first in each CU, so the T copies are still unmapped when S
    is compared).  ``inner(b, int)`` builds T's one member type."""
    b = Builder()
    i = b.int_("int")
    s = b.struct("S", 8, [("a", 0, 0), ("b", 0, 32)])
    t = b.struct("T", 4, [("x", inner(b, i), 0)])
    b.types[s - 1][4] = b.types[s - 1][7] = t
    i2 = b.int_("int")
    s2 = b.struct("S", 8, [("a", 0, 0), ("b", 0, 32)])
    t1 = b.struct("T", 4, [("x", inner(b, i2), 0)])
    t2 = b.struct("T", 4, [("x", inner(b, i2), 0)])
    b.types[s2 - 1][4] = t1
    b.types[s2 - 1][7] = t2
    return b.blob()


def test_identical_structs_merge_in_both() -> None:
    r11, r16 = _both_sides(_nested_blob(lambda b, i: i))
    assert (_structs(r11, "S"), _structs(r16, "S")) == (1, 1)


def test_identical_structs_with_identical_arrays_merge_in_both() -> None:
    r11, r16 = _both_sides(_nested_blob(lambda b, i: b.array(i, i, 4)))
    assert (_structs(r11, "S"), _structs(r16, "S")) == (1, 1)


def test_structs_with_duplicate_pointers_merge_only_in_16() -> None:
    r11, r16 = _both_sides(_nested_blob(lambda b, i: b.ptr(i)))
    assert (_structs(r11, "S"), _structs(r16, "S")) == (2, 1)


def _chain_blob(levels: int) -> bytes:
    """CU 1: ``struct X {C0 a; C0 b;}`` with C0 { C1 } ... C(n-1) { int }; CU 2: the
    same with two separate copies of the whole C chain, one per member."""
    b = Builder()

    def chain(i: int) -> int:
        first = len(b.types) + 1
        for k in range(levels):
            nxt = first + k + 1 if k + 1 < levels else i
            b.struct(f"c{k}", 4, [("m", nxt, 0)])
        return first

    i = b.int_("int")
    x = b.struct("X", 8, [("a", 0, 0), ("b", 0, 32)])
    c = chain(i)
    b.types[x - 1][4] = b.types[x - 1][7] = c
    i2 = b.int_("int")
    x2 = b.struct("X", 8, [("a", 0, 0), ("b", 0, 32)])
    b.types[x2 - 1][4] = chain(i2)
    b.types[x2 - 1][7] = chain(i2)
    return b.blob()


def test_deep_identical_structs_merge_only_in_11() -> None:
    """1.1's identical-structs recursion has no depth limit; 1.6's IDENTICAL stops at 16."""
    r11, r16 = _both_sides(_chain_blob(17))
    assert (_structs(r11, "X"), _structs(r16, "X")) == (1, 2)


def test_value_cycle_in_identical_structs_is_refused() -> None:
    """``struct A {struct B b;}; struct B {struct A a;}`` (no C compiler emits it)
    twice in the candidate CU: libbpf 1.1.2's identical-structs recursion never ends
    (it crashes on stack overflow, so it cannot be run as the judge here); ours
    refuses with a DedupError.  v1.6's depth limit returns "not identical"."""
    b = Builder()
    b.int_("int")
    x = b.struct("X", 8, [("a", 0, 0), ("b", 0, 32)])
    a = b.struct("A", 4, [("b", 0, 0)])
    bb = b.struct("B", 4, [("a", a, 0)])
    b.types[a - 1][4] = bb
    b.types[x - 1][4] = b.types[x - 1][7] = a
    b.int_("int")
    x2 = b.struct("X", 8, [("a", 0, 0), ("b", 0, 32)])
    copies = []
    for _ in range(2):
        a2 = b.struct("A", 4, [("b", 0, 0)])
        b2 = b.struct("B", 4, [("a", a2, 0)])
        b.types[a2 - 1][4] = b2
        copies.append(a2)
    b.types[x2 - 1][4], b.types[x2 - 1][7] = copies
    blob = b.blob()
    with pytest.raises(DedupError, match="cycle"):
        dedup(parse_raw(blob), libbpf_version="1.1")
    r16 = dedup(parse_raw(blob))
    DEDUP_LIBBPF11_V16.check(case_key("dedup"), r16.btf.to_bytes(), lambda lib: lib.dedup_bytes(blob), inputs=blob)
    assert _structs(r16, "X") == 2


def test_shallow_identical_structs_merge_in_both() -> None:
    r11, r16 = _both_sides(_chain_blob(15))
    assert (_structs(r11, "X"), _structs(r16, "X")) == (1, 1)


def test_duplicates_in_the_canonical_cu_do_not_use_the_fallback() -> None:
    """The reverse order: the canonical S has the two member types, the candidate one;
    no hypothetical slot gets a second candidate, so both releases merge."""
    r11, r16 = _both_sides(_pair_blob(lambda b, i: (b.ptr(i), b.ptr(i)), canon_first=False))
    assert (_structs(r11, "S"), _structs(r16, "S")) == (1, 1)


def test_split_duplicate_pointers_on_a_base() -> None:
    """The same difference in split dedup: the canonical S is a base type."""
    b = Builder()
    i = b.int_("int")
    p = b.ptr(i)
    b.struct("S", 16, [("a", p, 0), ("b", p, 64)])
    base_blob = b.blob()
    base = parse_raw(base_blob)
    n_base, base_str_len = len(b.types), len(b.strs)
    # the split types continue the same builder: IDs after the base's, names reused
    p1 = b.ptr(i)
    p2 = b.ptr(i)
    b.struct("S", 16, [("a", p1, 0), ("b", p2, 64)])
    split_types = b"".join(struct.pack(f"<{len(w)}I", *w) for w in b.types[n_base:])
    split_strs = bytes(b.strs[base_str_len:])
    head = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(split_types), len(split_types), len(split_strs))
    split_blob = head + split_types + split_strs
    r11 = dedup(parse_raw(split_blob, base=base), libbpf_version="1.1")
    r16 = dedup(parse_raw(split_blob, base=base))
    DEDUP_LIBBPF11.check(case_key("split dedup"), r11.btf.to_bytes(),
                         lambda lib: lib.dedup_bytes(split_blob, base=base_blob), inputs=[split_blob, base_blob])
    DEDUP_LIBBPF11_V16.check(case_key("split dedup"), r16.btf.to_bytes(),
                             lambda lib: lib.dedup_bytes(split_blob, base=base_blob), inputs=[split_blob, base_blob])
    assert (_structs(r11, "S"), _structs(r16, "S")) == (1, 0)


# ------------------------------------------------------ (d) the big corpora
@pytest.mark.corpus
def test_corpus_vmlinux_raw_112(corpora_dir: Path) -> None:
    """3,408,970 raw vmlinux 6.1 types: the corpora's libbpf reference output (1.1.2 and
    v1.6 agree on it), and libbpf 1.1.2 live when installed."""
    raw = lzma.decompress((corpora_dir / "vmlinux-6.1-raw" / "vmlinux-raw.btf.xz").read_bytes())
    ours = _ours11(parse_raw(raw))
    assert ours == (corpora_dir / "vmlinux-6.1-raw" / "vmlinux-dedup.libbpf.btf").read_bytes()
    lib = LIBBPF_112.live()
    if lib is not None:
        assert ours == lib.dedup_bytes(raw)


@pytest.mark.corpus
def test_corpus_cus_merged_112(corpora_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The 2,172 vmlinux 6.1 CUs merged then deduped, against the corpora's reference."""
    import tarfile

    dest = tmp_path_factory.mktemp("libbpf11-cus")
    with tarfile.open(corpora_dir / "vmlinux-6.1-raw" / "cus.tar.xz") as tf:
        tf.extractall(dest, filter="data")
    files = sorted(dest.rglob("*.btf"))
    datas = [f.read_bytes() for f in files]
    ours = _ours11(merge([parse_raw(d) for d in datas]))
    assert ours == (corpora_dir / "vmlinux-6.1-raw" / "cus-dedup.libbpf.btf").read_bytes()
    lib = LIBBPF_112.live()
    if lib is not None:
        assert ours == lib.merge_dedup_bytes(datas)


@pytest.mark.corpus
def test_corpus_modules_112(corpora_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The 1,121 modules of 6.1 merged on the base (the corpora's reference, and libbpf
    1.1.2 live), and each module split-deduped on the base against libbpf 1.1.2 live."""
    import tarfile

    d = corpora_dir / "modules-6.1"
    dest = tmp_path_factory.mktemp("libbpf11-split")
    with tarfile.open(d / "split.tar.xz") as tf:
        tf.extractall(dest, filter="data")
    mods = [(dest / n).read_bytes() for n in (d / "split_list.txt").read_text().split()]
    base_b = (d / "vmlinux.btf").read_bytes()
    base = parse_raw(base_b)
    ours = _ours11(merge_modules([parse_raw(m, base=base) for m in mods], base))
    assert ours == (d / "modules-all-dedup.libbpf.btf").read_bytes()
    lib = LIBBPF_112.live()
    if lib is None:
        return
    assert ours == lib.merge_modules_dedup_bytes(mods, base_b)
    bad = [i for i, m in enumerate(mods) if _ours11(parse_raw(m, base=base)) != lib.dedup_bytes(m, base=base_b)]
    assert bad == []


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("listing", "sub", "ref"),
    [
        ("list_libbpf_tools.txt", "libbpf-tools", "libbpf-tools-dedup.libbpf.btf"),
        ("list_xdp.txt", "xdp-tools", "xdp-tools-dedup.libbpf.btf"),
    ],
)
def test_corpus_bpf_object_lists_112(corpora_dir: Path, listing: str, sub: str, ref: str) -> None:
    d = corpora_dir / "bpf-objects"
    paths = [d / sub / Path(n).name for n in (d / listing).read_text().split()]
    assert _ours11(merge([load(str(p)) for p in paths])) == (d / ref).read_bytes()
