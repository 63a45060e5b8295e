"""``btfdedup equiv``: the same BTF up to renumbering of type IDs and string offsets.

* every committed fixture of ``corpora/`` is renumbered at random here (its own
  types permuted, its own strings reordered, written as new raw BTF by code of this
  test, not by the package's writer) and must be found equivalent to the original,
  with a map that is checked here, independently of the package's own
  verification, to be a bijection under which every record is equal;
* hand-built pairs that differ (FWD vs STRUCT deep down, one more copy of a type,
  a swapped member type) are not equivalent and the witness says where;
* symmetric duplicates (identical copies) need individualization and still verify;
* the command line: exit 0/1/2, ``--map`` JSON lines;
* on the big corpora: libbpf v1.6's and master's vmlinux outputs are equivalent
  (they differ only in header bytes), v1.6's and v1.7.0's module outputs are not.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

import btfdedup
from btfdedup.cli.main import main
from btfdedup.errors import BtfError, MissingBaseError
from btfdedup.explain.equiv import equivalence
from btfdedup.model import fields
from btfdedup.model.btf import Btf
from tests._btf_build import Builder
from tests.conftest import FIXTURES

BASE = FIXTURES / "modules" / "vmlinux-6.1.btf.xz"


def renumber(btf: Btf, seed: int) -> tuple[bytes, np.ndarray]:
    """``btf``'s own types in a random order and its own strings in a random order, as
    raw little-endian BTF bytes (classic header), and the old → new type ID map of the
    chain (base IDs map to themselves)."""
    rng = np.random.default_rng(seed)
    s0, n = btf.start_id, btf.nr_types
    order = rng.permutation(n)                      # new row k holds old row order[k]
    new_id = np.arange(btf.type_cnt, dtype=np.int64)
    new_id[s0 + order] = s0 + np.arange(n)
    words = btf.words.astype(np.int64).copy()
    pos, _ = fields.type_id_fields(btf)
    words[pos] = new_id[words[pos]]
    # strings: every own offset referenced, in a random order, in a fresh blob
    spos, _ = fields.str_fields(btf)
    offs = words[spos]
    start = btf.strings.start_off
    own = np.unique(offs[(offs >= start) & (offs != 0)])
    own = own[rng.permutation(len(own))]
    blob = bytearray(b"" if btf.is_split else b"\0")
    new_off: dict[int, int] = {0: 0}
    for o in own.tolist():
        new_off[o] = start + len(blob)
        blob += btf.strings.get(o) + b"\0"
    words[spos] = [new_off.get(o, o) for o in offs.tolist()]
    ts = btf.type_start
    types = b"".join(
        struct.pack(f"<{ts[i + 1] - ts[i]}I", *words[ts[i] : ts[i + 1]].tolist()) for i in order.tolist()
    )
    hdr = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(blob))
    return hdr + types + bytes(blob), new_id


def check_map(a: Btf, b: Btf, a_to_b: np.ndarray) -> None:
    """Independently of the package: ``a_to_b`` is a bijection of the chains fixing void,
    and every type of A, seen through the map, is its image in B."""
    assert len(a_to_b) == a.type_cnt == b.type_cnt and a_to_b[0] == 0
    assert sorted(a_to_b.tolist()) == list(range(b.type_cnt))
    m = a_to_b.tolist()

    def key(btf: Btf, t: int, mapped: bool) -> tuple[object, ...]:
        v = btf[t]
        f = (lambda x: m[x]) if mapped else (lambda x: x)
        return (
            v.kind, v.name, v.kind_flag, v.vlen, v.size, None if v.type is None else f(v.type),
            tuple((x.name, f(x.type), x.bits_offset, x.bitfield_size) for x in v.members),
            tuple((x.name, f(x.type)) for x in v.params), v.values,
            tuple((f(x.type), x.offset, x.size) for x in v.vars), v.int_info,
            None if v.array is None else (f(v.array.type), f(v.array.index_type), v.array.nelems),
            v.linkage, v.component_idx,
        )

    for t in range(1, a.type_cnt):
        assert key(a, t, True) == key(b, m[t], False), t


def _fixture_inputs() -> list[tuple[str, str | None]]:
    """Every committed file of corpora/ that holds BTF, with the base it needs."""
    out: list[tuple[str, str | None]] = []
    for p in sorted(FIXTURES.rglob("*")):
        if not p.is_file() or p.suffix in (".c", ".h", ".py", ".sh", ".md"):
            continue
        rel = str(p.relative_to(FIXTURES))
        if rel.endswith(".distilled.ko"):
            out.append((rel, None))  # carries its distilled base in .BTF.base
        elif rel == "modules/8021q.distilled.btf":
            out.append((rel, "modules/8021q.distilled.base.btf"))
        elif rel.startswith("modules/") and "vmlinux" not in rel and "distilled.base" not in rel:
            out.append((rel, "modules/vmlinux-6.1.btf.xz"))
        else:
            out.append((rel, None))
    return out


FIXTURE_INPUTS = _fixture_inputs()


def _load(rel: str, base_rel: str | None) -> Btf | None:
    base = btfdedup.load(FIXTURES / base_rel) if base_rel else None
    try:
        return btfdedup.load(FIXTURES / rel, base=base)
    except MissingBaseError:
        return btfdedup.load(FIXTURES / rel, base=btfdedup.load(BASE))
    except BtfError:
        return None


def test_fixture_list_is_not_empty() -> None:
    rels = [r for r, _ in FIXTURE_INPUTS]
    assert "vmlinux-6.18.btf.xz" in rels and "modules/veth.btf" in rels and "bpf/fwd_owner.bpf.o" in rels
    assert len(rels) >= 60


@pytest.mark.parametrize(("rel", "base_rel"), FIXTURE_INPUTS, ids=[r for r, _ in FIXTURE_INPUTS])
def test_renumbered_fixture_is_equivalent(rel: str, base_rel: str | None) -> None:
    a = _load(rel, base_rel)
    assert a is not None, f"{rel}: every committed fixture holds BTF"
    blob, truth = renumber(a, seed=len(rel))
    b = btfdedup.load(blob, base=a.base)
    r = equivalence(a, b)
    assert r.equivalent, r.witness
    assert r.a_to_b is not None
    if a.type_cnt <= 20_000:
        check_map(a, b, r.a_to_b)
    else:
        # Large ones: the map is the known renumbering, except among identical
        # copies (any of them may take any of their places); those are checked as above.
        moved = np.flatnonzero(r.a_to_b != truth)
        assert len(moved) < 1000
        check_map_subset(a, b, r.a_to_b, moved.tolist())


def check_map_subset(a: Btf, b: Btf, a_to_b: np.ndarray, ids: list[int]) -> None:
    """:func:`check_map` on some types only (plus the bijection)."""
    assert sorted(a_to_b.tolist()) == list(range(b.type_cnt))
    for t in ids:
        va, vb = a[t], b[int(a_to_b[t])]
        assert (va.kind, va.name, va.size, len(va.members)) == (vb.kind, vb.name, vb.size, len(vb.members))
        for x, y in zip(va.members, vb.members, strict=True):
            assert (x.name, int(a_to_b[x.type]), x.bits_offset) == (y.name, y.type, y.bits_offset)


def _pair(extra_copy: bool = False, fwd: bool = False) -> Btf:
    b = Builder()
    i = b.int_("int")
    prog = b.struct("bpf_prog", 4, [("len", i, 0)])
    target = b.fwd("bpf_prog") if fwd else prog
    nd = b.struct("net_device", 8, [("xdp_prog", b.ptr(target), 0)])
    b.struct("sk_buff", 16, [("len", i, 0), ("dev", b.ptr(nd), 64)])
    if extra_copy:
        b.struct("bpf_prog", 4, [("len", i, 0)])
    return btfdedup.load(b.blob())


def test_fwd_deep_down_is_not_equivalent() -> None:
    r = equivalence(_pair(), _pair(fwd=True))
    assert not r.equivalent and r.a_to_b is None
    assert "FWD" in r.witness and "STRUCT 'bpf_prog'" in r.witness


def test_one_more_copy_is_not_equivalent_and_says_so() -> None:
    r = equivalence(_pair(), _pair(extra_copy=True))
    assert not r.equivalent
    assert r.witness.startswith("STRUCT 'bpf_prog': 1 in A [2], 2 in B [2, 7]")
    assert r.witness.endswith("the first two copies in B are structurally identical")


def test_swapped_member_types_witness_is_a_path() -> None:
    def build(swap: bool) -> Btf:
        b = Builder()
        i, c = b.int_("int"), b.int_("char", 1, 8)
        inner = b.struct("inner", 8, [("a", c if swap else i, 0), ("b", i if swap else c, 32)])
        b.struct("outer", 8, [("in", inner, 0)])
        return btfdedup.load(b.blob())

    r = equivalence(build(False), build(True))
    assert not r.equivalent
    assert ".a → INT 'int': INT 'int' vs INT 'char'" in r.witness, r.witness


def test_identical_copies_need_individualization() -> None:
    """Two identical copies of a struct, each used by its own named referrer: the
    refinement alone cannot tell the copies apart (in-edges do, through their users);
    two unused identical copies can only be told apart by individualizing them."""
    b = Builder()
    i = b.int_("int")
    for _ in range(2):
        b.struct("twin", 4, [("x", i, 0)])
    a = btfdedup.load(b.blob())
    blob, _ = renumber(a, seed=1)
    bb = btfdedup.load(blob)
    r = equivalence(a, bb)
    assert r.equivalent and r.individualized >= 1
    assert r.a_to_b is not None
    check_map(a, bb, r.a_to_b)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = btfdedup.load(FIXTURES / "bpf" / "fwd_owner.bpf.o")
    blob, _ = renumber(src, seed=7)
    fb = tmp_path / "renumbered.btf"
    fb.write_bytes(blob)
    mp = tmp_path / "map.jsonl"
    assert main(["equiv", str(FIXTURES / "bpf" / "fwd_owner.bpf.o"), str(fb), "--map", str(mp)]) == 0
    assert capsys.readouterr().out.startswith(f"equivalent: {len(src)} types, ")
    rows = [json.loads(line) for line in mp.read_text().splitlines()]
    assert [r["a"] for r in rows] == list(range(1, src.type_cnt))
    check_map(src, btfdedup.load(fb), np.array([0] + [r["b"] for r in rows]))
    assert main(["equiv", str(FIXTURES / "bpf" / "fwd_owner.bpf.o"), str(FIXTURES / "bpf" / "fwd_user.bpf.o")]) == 1
    assert capsys.readouterr().out.startswith("not equivalent: ")
    assert main(["equiv", str(fb), str(tmp_path / "missing")]) == 2
    assert main(["equiv", str(fb), str(fb), "--base", str(BASE), "--base-a", str(BASE)]) == 2


@pytest.mark.corpus
def test_libbpf_versions(corpora_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """v1.6 and master write the same vmlinux BTF (only the header differs); v1.6 and
    v1.7.0 do not write the same module BTF (v1.7.0 copies base typedefs)."""
    v16 = corpora_dir / "vmlinux-6.1-raw" / "vmlinux-dedup.libbpf.btf"
    master = corpora_dir / "libbpf-versions" / "vmlinux-dedup.libbpf-master.btf.xz"
    assert main(["equiv", str(v16), str(master), "--map", str(tmp_path / "m.jsonl")]) == 0
    assert capsys.readouterr().out.startswith("equivalent: 94762 types, 0 renumbered")
    base = corpora_dir / "modules-6.1" / "vmlinux.btf"
    m16 = corpora_dir / "modules-6.1" / "modules-all-dedup.libbpf.btf"
    m17 = corpora_dir / "libbpf-versions" / "modules-all-dedup.libbpf-1.7.btf.xz"
    assert main(["equiv", "--base", str(base), str(m16), str(m17)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("not equivalent: TYPEDEF '") and "structurally identical" in out


def test_split_on_different_bases_says_so() -> None:
    """The same split types on two bases whose ``struct x`` differ: not equivalent, and
    the witness is in the bases ("different base")."""
    def base(size: int) -> Btf:
        b = Builder()
        i = b.int_("int")
        b.struct("x", size, [("a", i, 0)])
        return btfdedup.load(b.blob())

    mods = []
    for size in (4, 8):
        bb = base(size)
        n = bb.type_cnt
        words = [0, 2 << 24, 2]  # PTR → struct x
        mods.append(Btf.from_words(np.array(words, dtype=np.uint32), b"", base=bb))
        assert mods[-1].start_id == n
    r = equivalence(mods[0], mods[1])
    assert not r.equivalent
    assert r.witness == "A [2] vs B [2]: STRUCT 'x': size 4 vs 8 [size]; both types are base types, and the two bases differ [different base]"


def _ptr_cycles(lengths: list[int]) -> Btf:
    """Anonymous PTR cycles of the given lengths: every type looks the same to colour
    refinement (one out-edge, one in-edge, same record), whatever the lengths."""
    b = Builder()
    first = 1
    for n in lengths:
        for j in range(n):
            b.ptr(first + (j + 1) % n)
        first += n
    return btfdedup.load(b.blob())


def test_refinement_blind_spot_is_searched_exactly() -> None:
    """Two 3-cycles against one 6-cycle: refinement sees no difference, the exact search
    finds that no bijection exists; a renumbered copy of two 3-cycles is found equivalent."""
    r = equivalence(_ptr_cycles([3, 3]), _ptr_cycles([6]))
    assert not r.equivalent and "exhaustive search" in r.witness
    a = _ptr_cycles([3, 3])
    blob, _ = renumber(a, seed=3)
    b = btfdedup.load(blob)
    r = equivalence(a, b)
    assert r.equivalent and r.a_to_b is not None
    check_map(a, b, r.a_to_b)
