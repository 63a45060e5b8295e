"""``btfdedup dups``: duplicate (kind, name) groups and where their copies diverge.

Hand-built BTFs with known answers (FWD vs STRUCT two levels down, a member type
changed two levels down, identical copies, a split typedef identical to its base
twin as libbpf v1.7.0 leaves it), the command line (text, JSON, ``--graph``), and
on the big corpora: every typedef v1.7.0 copied from the base into the sample
modules is found and marked identical to its twin.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import btfdedup
from btfdedup.cli.main import main
from btfdedup.explain.dups import find_duplicates
from btfdedup.explain.rules import AMBIGUOUS_FWD, BASE_FWD, FOLLOWS, TYPEDEF_SPLIT_V17
from btfdedup.explain.walk import FWD_VS_FULL, IDENTICAL
from btfdedup.model.btf import Btf
from tests._btf_build import Builder
from tests.conftest import FIXTURES, REPO

EXPECTED = REPO / "tests" / "expected" / "explain"
BASE_61 = FIXTURES / "modules" / "vmlinux-6.1.btf.xz"


def fwd_vs_struct() -> Btf:
    """Two ``sk_buff``s whose ``dev`` points at two ``net_device``s whose ``xdp_prog``
    points at ``FWD bpf_prog`` in one and ``STRUCT bpf_prog`` in the other."""
    b = Builder()
    i = b.int_("int")
    prog = b.struct("bpf_prog", 4, [("len", i, 0)])
    fwd = b.fwd("bpf_prog")
    nd1 = b.struct("net_device", 8, [("xdp_prog", b.ptr(fwd), 0)])
    nd2 = b.struct("net_device", 8, [("xdp_prog", b.ptr(prog), 0)])
    b.struct("sk_buff", 16, [("len", i, 0), ("dev", b.ptr(nd1), 64)])
    b.struct("sk_buff", 16, [("len", i, 0), ("dev", b.ptr(nd2), 64)])
    return btfdedup.load(b.blob())


def test_fwd_vs_struct_two_levels_down() -> None:
    btf = fwd_vs_struct()
    groups = {g.name: g for g in find_duplicates(btf)}
    assert set(groups) == {"sk_buff", "net_device"}
    skb = groups["sk_buff"]
    (r,) = skb.reports
    assert r.cls == FWD_VS_FULL and not r.identical
    assert r.divergence is not None
    assert r.divergence.render(btf, btf) == (
        "STRUCT 'sk_buff' .dev → PTR → STRUCT 'net_device' .xdp_prog → PTR → FWD 'bpf_prog': "
        "FWD 'bpf_prog' vs STRUCT 'bpf_prog' [FWD vs full type]"
    )
    # The second sk_buff drags its PTR, its net_device, that one's PTR and the full bpf_prog.
    assert r.drag == 5
    # Sorted by drag: sk_buff first.
    assert [g.name for g in find_duplicates(btf)] == ["sk_buff", "net_device"]


def test_member_type_changed_two_levels_down() -> None:
    b = Builder()
    i, lng = b.int_("int"), b.int_("long", 8, 64)
    inner1 = b.struct("inner", 8, [("x", i, 0)])
    inner2 = b.struct("inner", 8, [("x", lng, 0)])
    mid1 = b.struct("mid", 8, [("i", inner1, 0)])
    mid2 = b.struct("mid", 8, [("i", inner2, 0)])
    b.struct("outer", 8, [("m", mid1, 0)])
    b.struct("outer", 8, [("m", mid2, 0)])
    btf = btfdedup.load(b.blob())
    groups = {g.name: g for g in find_duplicates(btf)}
    d = groups["outer"].reports[0].divergence
    assert d is not None
    assert [n.step for n in d.path] == ["", ".m", ".i", ".x"]
    assert (btf.name(d.path[-1].a), btf.name(d.path[-1].b)) == ("int", "long")
    assert d.differences[0].cls == "name" and d.differences[1].detail == "size 4 vs 8"


def test_identical_copies_are_missed_merges() -> None:
    b = Builder()
    i = b.int_("int")
    s1 = b.struct("s", 8, [("a", i, 0), ("next", 0, 32)])
    s2 = b.struct("s", 8, [("a", i, 0), ("next", 0, 32)])
    # self-references through pointers: a cycle the walk must close
    b.types[s1 - 1][4 + 3] = b.ptr(s1)
    b.types[s2 - 1][4 + 3] = b.ptr(s2)
    btf = btfdedup.load(b.blob())
    (g,) = find_duplicates(btf)
    (r,) = g.reports
    assert r.identical and r.cls == IDENTICAL and r.rule is None
    assert (g.copies, r.type_id, r.ref) == ([s1, s2], s2, s1)


def split_typedef_copy() -> Btf:
    """A base {int, typedef foo_t, struct s} and a split BTF holding a copy of foo_t
    and a PTR to it, as libbpf v1.7.0 leaves a module (its name_off is the base's)."""
    b = Builder()
    i = b.int_("int")
    td = b.typedef("foo_t", i)
    b.struct("s", 4, [("a", td, 0)])
    base = btfdedup.load(b.blob())
    name_off = base[td].name_off
    n = base.type_cnt
    words = [name_off, 8 << 24, i, 0, 2 << 24, n]
    return Btf.from_words(np.array(words, dtype=np.uint32), b"", base=base)


def test_split_typedef_identical_to_base_names_the_v17_rule() -> None:
    mod = split_typedef_copy()
    (g,) = find_duplicates(mod)
    assert (g.kind.name, g.name, g.copies, g.first_in_base) == ("TYPEDEF", "foo_t", [2, 4], True)
    (r,) = g.reports
    assert r.identical and r.rule == TYPEDEF_SPLIT_V17 and not r.in_base


def test_typedef_copy_whose_target_is_a_copy_follows_from_it() -> None:
    b = Builder()
    i = b.int_("int")
    td = b.typedef("foo_t", b.ptr(i))
    base = btfdedup.load(b.blob())
    n = base.type_cnt
    words = [0, 2 << 24, i, base[td].name_off, 8 << 24, n]  # split PTR copy, typedef → it
    mod = Btf.from_words(np.array(words, dtype=np.uint32), b"", base=base)
    (g,) = find_duplicates(mod)
    (r,) = g.reports
    assert r.identical and r.rule == FOLLOWS


def test_fwd_rules_ambiguous_name_and_base_fwd() -> None:
    b = Builder()
    i = b.int_("int")
    foo1 = b.struct("foo", 4, [("a", i, 0)])
    b.struct("foo", 8, [("a", i, 0), ("b", i, 32)])
    fwd = b.fwd("foo")
    b.struct("holder", 8, [("p", b.ptr(fwd), 0)])
    b.struct("holder", 8, [("p", b.ptr(foo1), 0)])
    btf = btfdedup.load(b.blob())
    (r,) = next(g for g in find_duplicates(btf) if g.name == "holder").reports
    assert r.cls == FWD_VS_FULL and r.rule == AMBIGUOUS_FWD
    # A base holder pointing at a base FWD, a split holder pointing at a split struct.
    b = Builder()
    i = b.int_("int")
    fwd = b.fwd("bar")
    b.struct("holder", 8, [("p", b.ptr(fwd), 0)])
    base = btfdedup.load(b.blob())
    n = base.type_cnt
    bar_off, holder_off = base[fwd].name_off, base[n - 1].name_off
    strings = b"p\0a\0"
    s0 = base.strings.end_off
    words = [bar_off, (4 << 24) | 1, 4, s0 + 2, i, 0,          # struct bar {int a}
             0, 2 << 24, n,                                    # PTR → bar
             holder_off, (4 << 24) | 1, 8, s0, n + 1, 0]       # struct holder {bar *p}
    mod = Btf.from_words(np.array(words, dtype=np.uint32), strings, base=base)
    (r,) = next(g for g in find_duplicates(mod) if g.name == "holder").reports
    assert r.cls == FWD_VS_FULL and r.rule == BASE_FWD, r


def test_filters_and_base_only_groups() -> None:
    btf = fwd_vs_struct()
    assert [g.name for g in find_duplicates(btf, kind=btfdedup.Kind.STRUCT, name="net_*")] == ["net_device"]
    assert find_duplicates(btf, kind=btfdedup.Kind.TYPEDEF) == []
    # Duplicates held by the base alone are the base's, not the split file's.
    empty = Btf.from_words(np.zeros(0, dtype=np.uint32), b"", base=btf)
    assert find_duplicates(empty) == []


def test_cli_text_json_and_graphs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "two.btf"
    f.write_bytes(fwd_vs_struct().to_bytes())
    assert main(["dups", str(f)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "STRUCT 'sk_buff': 2 copies [9], [11], drag 5"
    assert out[1].startswith("  [11] vs [9]: STRUCT 'sk_buff' .dev → PTR → STRUCT 'net_device'")
    assert out[-1] == "2 duplicated names, 2 extra copies (0 identical), 9 types dragged along"
    assert main(["dups", str(f), "--json", "--kind", "struct", "--graph", str(tmp_path / "g")]) == 0
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(d["name"], d["pairs"][0]["class"]) for d in docs] == [("sk_buff", FWD_VS_FULL), ("net_device", FWD_VS_FULL)]
    assert docs[0]["pairs"][0]["path"][-1]["b_type"] == "STRUCT 'bpf_prog'"
    graphml = tmp_path / "g" / "STRUCT-sk_buff-9-11.graphml"
    dot = (tmp_path / "g" / "STRUCT-sk_buff-9-11.dot").read_text()
    import networkx as nx

    g = nx.read_graphml(graphml)
    diverging = sorted(d["label"] for _, d in g.nodes(data=True) if d["diverges"])
    assert diverging == ["[2] STRUCT 'bpf_prog'", "[3] FWD 'bpf_prog'"]
    assert nx.shortest_path_length(g, "A:9", "A:3") == 4 and "color=red" in dot
    # PNG when Graphviz is installed, none otherwise
    assert (tmp_path / "g" / "STRUCT-sk_buff-9-11.png").exists() == (shutil.which("dot") is not None)


def test_cli_bad_kind_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dups", "corpora/cus/cu1412.btf", "--kind", "bogus"]) == 2
    assert "not a BTF kind" in capsys.readouterr().err


def test_committed_v17_module_every_typedef_copy(capsys: pytest.CaptureFixture[str]) -> None:
    """veth deduplicated by libbpf v1.7.0 (committed, so CI checks it without libbpf
    builds): every split typedef that the base also has is reported identical to its
    base twin, and the whole report equals the reviewed one."""
    path = EXPECTED / "veth.libbpf-1.7.btf"
    base = btfdedup.load(BASE_61)
    mod = btfdedup.load(path, base=base)
    base_typedefs = {base.name(t) for t in np.flatnonzero(base.kind == btfdedup.Kind.TYPEDEF) + base.start_id}
    twins = {t for t in range(mod.start_id, mod.type_cnt)
             if mod.kind_of(t) == btfdedup.Kind.TYPEDEF and mod.name(t) in base_typedefs}
    groups = find_duplicates(mod)
    assert {r.type_id for g in groups for r in g.reports} == twins and len(twins) == 178
    assert all(g.kind == btfdedup.Kind.TYPEDEF and g.first_in_base for g in groups)
    assert all(r.identical and r.rule in (TYPEDEF_SPLIT_V17, FOLLOWS) for g in groups for r in g.reports)
    assert main(["dups", "--json", "--base", str(BASE_61), str(path)]) == 0
    assert capsys.readouterr().out == (EXPECTED / "veth.libbpf-1.7.dups.jsonl").read_text()


@pytest.mark.corpus
def test_v17_sample_modules_list_every_base_typedef_copy(corpora_dir: Path) -> None:
    """libbpf v1.7.0 copies base typedefs into split BTF: each such copy is found and
    marked identical to its base twin, with the v1.7.0 rule when it points at the very
    target its twin does (else: it follows from its targets' own copies)."""
    base = btfdedup.load(corpora_dir / "modules-6.1" / "vmlinux.btf")
    sample = sorted((corpora_dir / "libbpf-versions" / "module-dedup-1.7-sample").glob("*.btf"))
    assert len(sample) == 9
    base_typedefs = {base.name(t) for t in np.flatnonzero(base.kind == btfdedup.Kind.TYPEDEF) + base.start_id}
    total = v17 = 0
    for path in sample:
        mod = btfdedup.load(path, base=base)
        groups = find_duplicates(mod, kind=btfdedup.Kind.TYPEDEF)
        # every split typedef whose name the base has as a typedef is in a group, identical to it
        own = [t for t in range(mod.start_id, mod.type_cnt) if mod.kind_of(t) == btfdedup.Kind.TYPEDEF]
        twins = [t for t in own if mod.name(t) in base_typedefs]
        reported = {r.type_id for g in groups for r in g.reports}
        assert set(twins) <= reported, path.name
        for g in groups:
            assert g.first_in_base, (path.name, g.name)
            for r in g.reports:
                assert r.identical and r.rule in (TYPEDEF_SPLIT_V17, FOLLOWS), (path.name, g.name, r)
                v17 += r.rule == TYPEDEF_SPLIT_V17
        total += len(twins)
    assert total > 100 and v17 > total // 2
