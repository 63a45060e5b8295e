"""The ``hash`` strategy: sound (merged pairs identical, walked in lockstep, no
forward merged into a definition) and deterministic (same bytes run after run)."""

from __future__ import annotations

import glob
from pathlib import Path

from hypothesis import HealthCheck, given, settings

import btfdedup
from btfdedup.model.btf import Btf
from btfdedup.strategies import run
from tests.strategies import cu_sets, looped_btfs
from tests.test_canonical import check_sound

CUS = sorted(glob.glob(str(Path(__file__).resolve().parent.parent / "corpora" / "cus" / "*.btf")))


def test_sound_and_deterministic_on_cus() -> None:
    merged = btfdedup.merge([btfdedup.load(f) for f in CUS])
    a, b = run("hash", merged), run("hash", merged)
    assert a.btf.to_bytes() == b.btf.to_bytes()
    assert a.btf.nr_types <= merged.nr_types
    assert check_sound(merged, a.type_map, resolve_forwards=False) > 0
    assert a.btf.nr_types >= run("canonical", merged).btf.nr_types


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(btfs=cu_sets())
def test_hypothesis_sound_deterministic(btfs: list[Btf]) -> None:
    merged = btfdedup.merge(btfs)
    res = run("hash", merged)
    check_sound(merged, res.type_map, resolve_forwards=False)
    assert run("hash", merged).btf.to_bytes() == res.btf.to_bytes()


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(btf=looped_btfs())
def test_hypothesis_loops(btf: Btf) -> None:
    check_sound(btf, run("hash", btf).type_map, resolve_forwards=False)
