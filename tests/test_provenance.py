"""Provenance maps (``--map``): every input type's output ID, checked as a homomorphism.

A map is right when it preserves structure: for each input type ``i`` sent to ``o``,
the records of ``i`` and ``o`` agree word for word, where a type-ID field of ``i``
sent through the map equals the same field of ``o``, a string field names the same
bytes, and every other word is equal.  The one allowed difference is libbpf's FWD
resolution: a FWD may become the STRUCT/UNION of its name and flavour (an enum
forward the full ENUM/ENUM64 of its name).  A map that passes this for every input
type relates each input type to an output type of the same shape all the way down
(cycles included), i.e. it is structurally identical: the check agrees with the
dedup only through its output, not its code.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from btfdedup.format.constants import Kind
from btfdedup.io.load import load
from btfdedup.model.btf import Btf
from btfdedup.model.fields import str_fields, type_id_fields
from btfdedup.workflows.dedup import dedup_files
from btfdedup.workflows.inputs import load_input
from btfdedup.workflows.provenance import MAP_FORMATS, InputMap, input_maps, map_chunks

REPO = Path(__file__).resolve().parent.parent
CUS = sorted((REPO / "corpora" / "cus").glob("*.btf"))[:12]
MODULES = [REPO / "corpora" / "modules" / f"{n}.btf" for n in ("8021q", "dummy", "veth", "nls_utf8")]
VMLINUX_61 = REPO / "corpora" / "modules" / "vmlinux-6.1.btf.xz"


def btfdedup(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "btfdedup", *argv], capture_output=True, text=True)


def _fwd_resolved(in_kind: int, in_kflag: int, out_btf: Btf, o: int) -> bool:
    """Whether an input FWD/enum forward may have become output type ``o``."""
    out_kind = out_btf.kind_of(o)
    if in_kind == Kind.FWD:
        return out_kind == (Kind.UNION if in_kflag else Kind.STRUCT)
    return out_kind in (Kind.ENUM, Kind.ENUM64)


def assert_homomorphism(src: Btf, own_map: np.ndarray, out: Btf) -> None:
    """``own_map`` (output ID of each own type of ``src``) preserves structure."""
    assert len(own_map) == src.nr_types
    start = src.start_id
    whole = np.arange(src.type_cnt, dtype=np.int64)  # void and base IDs stay
    whole[start:] = own_map

    id_pos, id_owner = type_id_fields(src)
    st_pos, st_owner = str_fields(src)
    words = src.words
    kinds, kflags, vlens = src.kind, src.kind_flag, src.vlen
    for k in range(src.nr_types):
        i, o = start + k, int(own_map[k])
        rec_in = words[src.type_start[k]:src.type_start[k + 1]]
        rec_out = out.record(o)
        name_in = src.name(i)
        assert name_in == out.name(o), f"[{i}] {name_in!r} -> [{o}] {out.name(o)!r}"
        if (kinds[k] == Kind.FWD or (kinds[k] == Kind.ENUM and vlens[k] == 0)) and out.kind_of(o) != kinds[k]:
            assert _fwd_resolved(int(kinds[k]), int(kflags[k]), out, o), f"[{i}] forward -> [{o}] {out.kind_name(o)}"
            continue
        assert len(rec_in) == len(rec_out), f"[{i}] and [{o}] differ in shape"
        base_word = int(src.type_start[k])
        ids = id_pos[id_owner == k] - base_word
        strs = st_pos[st_owner == k] - base_word
        plain = np.ones(len(rec_in), dtype=bool)
        plain[ids] = False
        plain[strs] = False
        assert np.array_equal(rec_in[plain], rec_out[plain]), f"[{i}] -> [{o}]: a word differs"
        assert np.array_equal(whole[rec_in[ids].astype(np.int64)], rec_out[ids].astype(np.int64)), \
            f"[{i}] -> [{o}]: a referenced type is not sent where the output refers"
        for p in strs[1:]:
            assert src.str_at(int(rec_in[p])) == out.str_at(int(rec_out[p])), f"[{i}] -> [{o}]: a name differs"


def read_jsonl(path: Path) -> dict[str, dict[int, int]]:
    maps: dict[str, dict[int, int]] = {}
    for line in path.read_text().splitlines():
        row = json.loads(line)
        assert set(row) == {"input", "id", "output_id"}
        maps.setdefault(row["input"], {})[row["id"]] = row["output_id"]
    return maps


def as_own_map(src: Btf, rows: dict[int, int]) -> np.ndarray:
    assert sorted(rows) == list(range(src.start_id, src.type_cnt)), "every own type once, nothing else"
    return np.array([rows[i] for i in range(src.start_id, src.type_cnt)], dtype=np.int64)


@pytest.mark.parametrize("sort", [False, True], ids=["plain", "sorted"])
def test_dedup_map_round_trips_on_cus(tmp_path: Path, sort: bool) -> None:
    out, mp = tmp_path / "out.btf", tmp_path / "map.jsonl"
    r = btfdedup("dedup", *map(str, CUS), "-o", str(out), "--map", str(mp), *(["--sort"] if sort else []))
    assert r.returncode == 0, r.stderr
    result = load(str(out))
    maps = read_jsonl(mp)
    assert list(maps) == [str(c) for c in CUS]
    for c in CUS:
        src = load(str(c))
        assert_homomorphism(src, as_own_map(src, maps[str(c)]), result)
    # many inputs fold into fewer types: the map is onto the output
    assert {o for m in maps.values() for o in m.values()} | {0} == set(range(result.type_cnt))


def test_dedup_map_csv_equals_jsonl(tmp_path: Path) -> None:
    args = [*map(str, CUS[:3]), "-o", str(tmp_path / "o.btf")]
    assert btfdedup("dedup", *args, "--map", str(tmp_path / "m.jsonl")).returncode == 0
    assert btfdedup("dedup", *args, "--map", str(tmp_path / "m.csv"), "--map-format", "csv").returncode == 0
    with open(tmp_path / "m.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and list(rows[0]) == ["input", "id", "output_id"]
    from_csv: dict[str, dict[int, int]] = {}
    for row in rows:
        from_csv.setdefault(row["input"], {})[int(row["id"])] = int(row["output_id"])
    assert from_csv == read_jsonl(tmp_path / "m.jsonl")


def test_split_map_round_trips_on_modules(tmp_path: Path) -> None:
    """Shipped modules (split BTF, already deduplicated) and a standalone CU of the same
    kernel, whose types mostly collapse into base types."""
    mp = tmp_path / "map.jsonl"
    inputs = [*MODULES, CUS[0]]
    r = btfdedup("split", "--base", str(VMLINUX_61), "-o", str(tmp_path / "out"), *map(str, inputs),
                 "--map", str(mp))
    assert r.returncode == 0, r.stderr
    base = load(str(VMLINUX_61))
    maps = read_jsonl(mp)
    assert list(maps) == [str(m) for m in inputs]
    for m in inputs:
        src = load_input(str(m), base)  # split on the base, or standalone (the CU)
        out = load(str(tmp_path / "out" / f"{m.stem}.btf"), base=base)
        own = as_own_map(src, maps[str(m)])
        assert_homomorphism(src, own, out)
    cu_map = np.array(list(maps[str(CUS[0])].values()))
    assert (cu_map < base.type_cnt).mean() > 0.5, "the CU's types are mostly base types"


def test_python_api_carries_the_maps(tmp_path: Path) -> None:
    run = dedup_files([str(c) for c in CUS[:4]], str(tmp_path / "o.btf"), map_output=str(tmp_path / "m.jsonl"))
    assert run.input_maps is not None and [m.path for m in run.input_maps] == [str(c) for c in CUS[:4]]
    result = load(str(tmp_path / "o.btf"))
    for m in run.input_maps:
        src = load(m.path)
        assert m.first_id == 1 and m.output_ids.dtype == np.uint32
        assert_homomorphism(src, m.output_ids, result)
        assert m.output_id(src.type_cnt - 1) == int(m.output_ids[-1])
        with pytest.raises(IndexError, match="not one of its own types"):
            m.output_id(src.type_cnt)


def test_input_maps_offsets_each_input_after_the_previous() -> None:
    a, b = load(str(CUS[0])), load(str(CUS[1]))
    type_map = np.arange(1 + a.nr_types + b.nr_types, dtype=np.uint32) + 100
    ma, mb = input_maps([("a", a), ("b", b)], 1, type_map)
    assert int(ma.output_ids[0]) == 101 and int(mb.output_ids[0]) == 101 + a.nr_types
    with pytest.raises(ValueError, match="only"):
        input_maps([("a", a), ("b", b)], 1, type_map[:-1])


def test_map_chunks_formats() -> None:
    m = InputMap('we,ird "name"', 5, np.array([7, 8], dtype=np.uint32))
    assert b"".join(map_chunks([m], "jsonl")).decode().splitlines() == [
        '{"input": "we,ird \\"name\\"", "id": 5, "output_id": 7}',
        '{"input": "we,ird \\"name\\"", "id": 6, "output_id": 8}',
    ]
    assert b"".join(map_chunks([m], "csv")).decode().splitlines() == [
        "input,id,output_id", '"we,ird ""name""",5,7', '"we,ird ""name""",6,8']
    with pytest.raises(ValueError, match="unknown map format"):
        list(map_chunks([m], "xml"))


def test_map_format_choices_are_the_formats() -> None:
    from btfdedup.cli.choices import MAP_FORMAT_CHOICES

    assert MAP_FORMAT_CHOICES == MAP_FORMATS


@pytest.mark.parametrize("extra, message", [
    (["--link"], "--link does not combine with --map"),
    (["--map-format", "xml"], "invalid choice"),
])
def test_map_usage_errors(tmp_path: Path, extra: list[str], message: str) -> None:
    obj = str(REPO / "corpora" / "bpf-objects" / sorted(p.name for p in (REPO / "corpora" / "bpf-objects").glob("*.o"))[0])
    r = btfdedup("dedup", obj, "-o", str(tmp_path / "o.btf"), "--map", str(tmp_path / "m.jsonl"), *extra)
    assert r.returncode == 2 and message in r.stderr
    assert not (tmp_path / "m.jsonl").exists() and not (tmp_path / "o.btf").exists()


def test_map_may_not_be_the_output(tmp_path: Path) -> None:
    out = str(tmp_path / "o.btf")
    r = btfdedup("dedup", str(CUS[0]), "-o", out, "--map", out)
    assert r.returncode == 2 and "the same file as a BTF output" in r.stderr


def test_sort_map_is_the_permutation(tmp_path: Path) -> None:
    """``sort --map``: the map is a bijection onto the own IDs and preserves structure."""
    src_path = CUS[0]
    out, mp = tmp_path / "sorted.btf", tmp_path / "m.csv"
    r = btfdedup("sort", str(src_path), "-o", str(out), "--map", str(mp), "--map-format", "csv")
    assert r.returncode == 0, r.stderr
    with open(mp, newline="") as f:
        rows = {int(row["id"]): int(row["output_id"]) for row in csv.DictReader(f)}
    src = load(str(src_path))
    own = as_own_map(src, rows)
    assert sorted(own.tolist()) == list(range(1, src.type_cnt))
    assert_homomorphism(src, own, load(str(out)))


def test_the_check_catches_a_wrong_map(tmp_path: Path) -> None:
    """The structure check is a real judge: two output IDs swapped in a right map fail it."""
    run = dedup_files([str(c) for c in CUS[:2]], str(tmp_path / "o.btf"), map_output=str(tmp_path / "m.jsonl"))
    assert run.input_maps is not None
    m = run.input_maps[1]
    src, out = load(m.path), load(str(tmp_path / "o.btf"))
    rnd = np.random.default_rng(7)
    caught = 0
    for _ in range(20):
        bad = m.output_ids.copy()
        i, j = rnd.choice(len(bad), size=2, replace=False)
        if bad[i] == bad[j]:
            continue
        bad[i], bad[j] = bad[j], bad[i]
        with pytest.raises(AssertionError):
            assert_homomorphism(src, bad, out)
        caught += 1
    assert caught > 10
