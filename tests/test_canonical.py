"""The ``canonical`` strategy's guarantees, each checked.

* never more types than ``libbpf`` (every committed fixture in corpora/; hypothesis
  inputs; the shared corpora in ``-m corpus``);
* byte-identical output over permutations of the inputs and of the types inside
  them;
* sound: every merged pair is structurally identical after forward resolution
  (:func:`check_sound` walks both in lockstep);
* BTF libbpf refuses with -ELOOP (reference loops passing no struct) deduplicated;
* whole-kernel outputs load with BPF_BTF_LOAD;
* split mode: base types never change, split types map onto base ones.
"""

from __future__ import annotations

import glob
import random
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import btfdedup
from btfdedup.errors import DedupError
from btfdedup.explain.flat import flatten
from btfdedup.format.constants import Kind
from btfdedup.model.btf import Btf
from btfdedup.model.permute import permute
from btfdedup.strategies import StrategyOptions, run
from tests._btf_build import FUNC_PROTO, Builder, info
from tests._kernel_helpers import bpf_ok  # noqa: F401  (fixture)
from tests.strategies import cu_sets, looped_btfs, raw_btfs

REPO = Path(__file__).resolve().parent.parent
CORPORA = REPO / "corpora"
CUS = sorted(glob.glob(str(CORPORA / "cus" / "*.btf")))
MODULES = [str(CORPORA / "modules" / f"{m}.btf") for m in
           ("8021q", "bfq", "cast_common", "crc-itu-t", "dummy", "ip_set", "nls_utf8", "sunrpc", "veth")]
HYP = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

def _is_forward(btf: Btf, t: int) -> bool:
    k = btf.kind_of(t)
    return k == Kind.FWD or (k in (Kind.ENUM, Kind.ENUM64) and btf[t].vlen == 0)


def check_sound(btf: Btf, type_map: np.ndarray, *, resolve_forwards: bool = True) -> int:
    """Walk every pair of ``btf``'s own types that ``type_map`` merges in lockstep and
    assert they are structurally identical (cycles: a pair met again is assumed equal);
    a forward may stand for a definition of its name mapped to the same output type.
    Returns how many pairs were checked."""
    flat = flatten(btf)
    blob = flat.blob
    tids: dict[int, list[int]] = {}
    strs: dict[int, list[int]] = {}
    for p, s in zip(flat.tid_pos.tolist(), flat.src.tolist(), strict=True):
        tids.setdefault(s, []).append(p)
    for p, s in zip(flat.str_pos.tolist(), flat.str_owner.tolist(), strict=True):
        strs.setdefault(s, []).append(p)

    def text(off: int) -> bytes:
        return blob[off:blob.index(b"\0", off)]

    def same(a: int, b: int) -> None:
        stack, seen = [(a, b)], set()
        while stack:
            x, y = stack.pop()
            if x == y or (x, y) in seen:
                continue
            seen.add((x, y))
            fx, fy = _is_forward(btf, x), _is_forward(btf, y)
            if (fx or fy) and resolve_forwards:
                # a forward stands for what its name declares: merged by the forward rule
                assert type_map[x] == type_map[y], f"forward pair [{x}]/[{y}] maps apart"
                assert text(int(flat.words[flat.start[x]])) == text(int(flat.words[flat.start[y]]))
                continue
            assert fx == fy, f"[{x}] and [{y}] merged: a forward and a definition"
            wx = flat.words[flat.start[x]:flat.start[x + 1]].tolist()
            wy = flat.words[flat.start[y]:flat.start[y + 1]].tolist()
            assert len(wx) == len(wy), f"[{x}] and [{y}] differ in length"
            special = set()
            for px, py in zip(strs.get(x, []), strs.get(y, []), strict=True):
                assert text(int(flat.words[px])) == text(int(flat.words[py])), f"[{x}]/[{y}]: strings differ"
                special.add(px - flat.start[x])
            for px, py in zip(tids.get(x, []), tids.get(y, []), strict=True):
                stack.append((int(flat.words[px]), int(flat.words[py])))
                special.add(px - flat.start[x])
            for i, (u, v) in enumerate(zip(wx, wy, strict=True)):
                assert i in special or u == v, f"[{x}]/[{y}] differ at word {i}"

    first: dict[int, int] = {}
    pairs = 0
    for t in range(btf.start_id, btf.type_cnt):
        out = int(type_map[t])
        if out in first and not (_is_forward(btf, t) or _is_forward(btf, first[out])):
            same(first[out], t)
            pairs += 1
        first.setdefault(out, t) if not _is_forward(btf, t) else None
    return pairs


def canonical(btf: Btf) -> btfdedup.DedupResult:
    return run("canonical", btf)


def libbpf_count(btf: Btf) -> int | None:
    try:
        return run("libbpf", btf).btf.nr_types
    except DedupError:
        return None


def _fixture_inputs() -> list[tuple[str, Btf]]:
    out = [("cus", btfdedup.merge([btfdedup.load(f) for f in CUS]))]
    for f in sorted(glob.glob(str(CORPORA / "bpf" / "*.o"))) + sorted(glob.glob(str(CORPORA / "bpf-objects" / "*.o"))):
        out.append((Path(f).name, btfdedup.merge([btfdedup.load(f)])))
    objs = sorted(glob.glob(str(CORPORA / "bpf-objects" / "*.o")))
    out.append(("bpf-objects", btfdedup.merge([btfdedup.load(f) for f in objs])))
    out.append(("enum64", btfdedup.merge([btfdedup.load(str(CORPORA / "host" / "enum64.btf"))])))
    out.append(("vmlinux-6.18", btfdedup.load(str(CORPORA / "vmlinux-6.18.btf.xz"))))
    base = btfdedup.load(str(CORPORA / "modules" / "vmlinux-6.1.btf.xz"))
    for m in MODULES:
        out.append((Path(m).name, btfdedup.load(m, base=base)))
    return out


@pytest.fixture(scope="module")
def fixtures() -> list[tuple[str, Btf]]:
    return _fixture_inputs()


def test_never_more_types_than_libbpf_on_fixtures(fixtures: list[tuple[str, Btf]]) -> None:
    for name, btf in fixtures:
        want = libbpf_count(btf)
        got = canonical(btf)
        assert want is not None, name
        assert got.btf.nr_types <= want, f"{name}: canonical {got.btf.nr_types} > libbpf {want}"


def test_sound_on_fixtures(fixtures: list[tuple[str, Btf]]) -> None:
    for name, btf in fixtures:
        if btf.type_cnt > 20_000 and btf.base is None:
            continue  # the big already-deduped vmlinux: nothing to merge, too slow in Python
        res = canonical(btf)
        check_sound(btf, res.type_map)
        assert name


def test_outputs_are_valid_btf(fixtures: list[tuple[str, Btf]]) -> None:
    from btfdedup.verifier import validate

    for name, btf in fixtures:
        out = canonical(btf).btf
        again = btfdedup.load(out.to_bytes(), base=btf.base)
        assert again.to_bytes() == out.to_bytes(), name
        if not validate(btf):  # BPF objects' DATASECs have size 0 until libbpf opens them
            assert not validate(again), name


def test_permutations_of_inputs_give_the_same_bytes() -> None:
    cus = [btfdedup.load(f) for f in CUS]
    want = canonical(btfdedup.merge(cus)).btf.to_bytes()
    rnd = random.Random(7)
    for _ in range(3):
        order = cus[:]
        rnd.shuffle(order)
        assert canonical(btfdedup.merge(order)).btf.to_bytes() == want


def test_permutations_of_types_give_the_same_bytes() -> None:
    merged = btfdedup.merge([btfdedup.load(f) for f in CUS])
    want = canonical(merged).btf.to_bytes()
    rnd = np.random.default_rng(11)
    for _ in range(3):
        perm = rnd.permutation(merged.nr_types) + 1
        shuffled = permute(merged, np.concatenate([[0], perm]))
        assert canonical(shuffled).btf.to_bytes() == want


def test_permutations_of_split_types_give_the_same_bytes() -> None:
    base = btfdedup.load(str(CORPORA / "modules" / "vmlinux-6.1.btf.xz"))
    mod = btfdedup.load(MODULES[0], base=base)
    want = canonical(mod).btf.to_bytes()
    perm = np.random.default_rng(3).permutation(mod.nr_types) + mod.start_id
    assert canonical(permute(mod, perm)).btf.to_bytes() == want


def _loop_btf(copies: int, through_proto: bool) -> Btf:
    """``copies`` copies of a reference loop no struct breaks: PTR -> TYPEDEF -> PTR,
    or PTR -> FUNC_PROTO(param: that PTR) (which the kernel accepts), each used by a
    struct."""
    b = Builder()
    i = b.int_()
    for _ in range(copies):
        first = len(b.types) + 1
        if through_proto:
            b.ptr(first + 1)
            b.add([0, info(FUNC_PROTO, 1), i, b.s("self"), first])
        else:
            b.ptr(first + 1)
            b.typedef("loop", first)
        b.struct("holder", 8, [("p", first, 0), ("i", i, 0)])
    return btfdedup.merge([Btf.from_words(np.frombuffer(b.type_bytes(), dtype=np.uint32).copy(), bytes(b.strs))])


@pytest.mark.parametrize("through_proto", [False, True])
def test_reference_loops_libbpf_refuses_are_deduplicated(through_proto: bool) -> None:
    btf = _loop_btf(3, through_proto)
    with pytest.raises(DedupError, match="loop"):
        run("libbpf", btf)
    res = canonical(btf)
    assert res.btf.nr_types == 4  # int, ptr, typedef or proto, holder
    check_sound(btf, res.type_map)
    assert canonical(_loop_btf(1, through_proto)).btf.to_bytes() == res.btf.to_bytes()


def test_reference_loop_output_loads(bpf_ok: None) -> None:  # noqa: F811
    from btfdedup.kernel import btf_load

    btf = _loop_btf(2, through_proto=True)
    btf_load(btf.to_bytes(), log_level=0).close()  # the kernel accepts the input ...
    btf_load(canonical(btf).btf.to_bytes(), log_level=0).close()  # ... and the output


def test_whole_kernel_output_loads(bpf_ok: None) -> None:  # noqa: F811
    from btfdedup.kernel import btf_load

    vmlinux = btfdedup.load(str(CORPORA / "vmlinux-6.18.btf.xz"))
    out = canonical(vmlinux).btf
    assert out.nr_types <= vmlinux.nr_types
    btf_load(out.to_bytes(), log_level=0).close()


def test_split_keeps_base_and_maps_onto_it() -> None:
    base = btfdedup.load(str(CORPORA / "modules" / "vmlinux-6.1.btf.xz"))
    for m in MODULES:
        mod = btfdedup.load(m, base=base)
        lib = run("libbpf", mod)
        res = canonical(mod)
        assert res.btf.base is base and res.btf.start_id == mod.start_id
        assert (res.type_map[:mod.start_id] == np.arange(mod.start_id)).all()
        onto_base = lib.type_map[mod.start_id:] < mod.start_id
        # every split type libbpf maps onto the base, canonical maps onto the base too,
        # onto a type of the same kind and name
        got = res.type_map[mod.start_id:][onto_base]
        assert (got < mod.start_id).all(), m
        want = lib.type_map[mod.start_id:][onto_base]
        for g, w in zip(got.tolist()[:200], want.tolist()[:200], strict=True):
            assert (base.kind_of(g), base.name(g)) == (base.kind_of(w), base.name(w))
        check_sound(mod, res.type_map)


def test_split_strategy_cli(tmp_path: Path) -> None:
    from btfdedup.cli.main import main

    base = str(CORPORA / "modules" / "vmlinux-6.1.btf.xz")
    assert main(["split", *MODULES[:3], "--base", base, "-o", str(tmp_path / "out"), "--strategy", "canonical"]) == 0
    b = btfdedup.load(base)
    for m in MODULES[:3]:
        got = btfdedup.load(str(tmp_path / "out" / Path(m).name), base=b)
        assert got.to_bytes() == canonical(btfdedup.load(m, base=b)).btf.to_bytes()


@HYP
@given(btfs=cu_sets())
def test_hypothesis_permutation_invariant_sound(btfs: list[Btf]) -> None:
    merged = btfdedup.merge(btfs)
    res = canonical(merged)
    check_sound(merged, res.type_map)
    assert canonical(btfdedup.merge(btfs[::-1])).btf.to_bytes() == res.btf.to_bytes()


@HYP
@given(btfs=cu_sets())
def test_hypothesis_never_more_types_than_libbpf(btfs: list[Btf]) -> None:
    merged = btfdedup.merge(btfs)
    want = libbpf_count(merged)
    if want is not None:
        assert canonical(merged).btf.nr_types <= want


@HYP
@given(btf=raw_btfs())
def test_hypothesis_raw_never_more_types_than_libbpf(btf: Btf) -> None:
    want = libbpf_count(btf)
    if want is not None:
        assert canonical(btf).btf.nr_types <= want


@HYP
@given(btf=raw_btfs())
def test_hypothesis_raw(btf: Btf) -> None:
    res = canonical(btf)
    check_sound(btf, res.type_map)


@HYP
@given(btf=looped_btfs())
def test_hypothesis_loops_libbpf_refuses(btf: Btf) -> None:
    res = canonical(btf)
    check_sound(btf, res.type_map)


def test_ext_is_refused() -> None:
    from btfdedup.errors import BtfUsageError

    obj = btfdedup.load(str(CORPORA / "bpf" / "maps.bpf.o"))
    with pytest.raises(BtfUsageError, match="BTF.ext"):
        run("canonical", obj, StrategyOptions(ext=obj.ext))


@pytest.mark.corpus
def test_corpus_vmlinux_raw(corpora_dir: Path, bpf_ok: None, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    from btfdedup.kernel import btf_load

    raw = btfdedup.load(str(corpora_dir / "vmlinux-6.1-raw" / "vmlinux-raw.btf.xz"))
    t = time.perf_counter()
    res = canonical(raw)
    secs = time.perf_counter() - t
    ref = btfdedup.load(str(corpora_dir / "vmlinux-6.1-raw" / "vmlinux-dedup.libbpf.btf"))
    assert res.btf.nr_types <= ref.nr_types
    btf_load(res.btf.to_bytes(), log_level=0).close()
    with capsys.disabled():
        print(f"\nvmlinux-raw: canonical {res.btf.nr_types} types / {len(res.btf.to_bytes())} bytes in "
              f"{secs:.1f} s; libbpf {ref.nr_types} / {len(ref.to_bytes())}")


@pytest.mark.corpus
def test_corpus_modules(corpora_dir: Path) -> None:
    import tarfile

    base = btfdedup.load(str(corpora_dir / "modules-6.1" / "vmlinux.btf"))
    with tarfile.open(corpora_dir / "modules-6.1" / "split.tar.xz") as tar:
        names = sorted(m for m in tar.getnames() if m.endswith(".btf"))[::40]
        for name in names:
            f = tar.extractfile(name)
            assert f is not None
            data = f.read()
            mod = btfdedup.load(data, base=base)
            lib = run("libbpf", mod).btf.nr_types
            assert canonical(mod).btf.nr_types <= lib, name
