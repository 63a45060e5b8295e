"""``dedup(split, prepared=prepare_base(base))``: many splits through one prepared base.

The prepared base keeps the candidate table as prep leaves it and puts it back after
every split (entries, per-key orientation, libbpf's grow count and bucket count), so
each split must come out exactly as a fresh dedup, and as libbpf v1.6 (the committed
expectations of tests/test_cli_split.py), whatever ran before it: a large module
whose inserts grew the table (and its key index) followed by small ones, the same
module twice, a standalone module merged onto the base, a failing module.
"""

from __future__ import annotations

import lzma
from pathlib import Path

import numpy as np
import pytest

from btfdedup.engine import PreparedBase, dedup, prepare_base
from btfdedup.errors import BtfUsageError, DedupError
from btfdedup.format.constants import KIND_SHIFT, Kind
from btfdedup.io.raw import parse_raw
from btfdedup.io.writer import btf_to_bytes
from btfdedup.model.btf import Btf
from btfdedup.workflows.split import dedup_against_base
from tests.conftest import FIXTURES
from tests.expected import DEDUP_V16, rel
from tests.test_cli_split import check_split_dedup

MODDIR = FIXTURES / "modules"
CU = FIXTURES / "cus" / "cu1412.btf"
#: small, large (grows libbpf's map and the key index), then small ones again, the
#: large one twice in a row, a standalone CU in between, and back to the first
ORDER = ("dummy", "sunrpc", "nls_utf8", "8021q", "ip_set", "sunrpc", "sunrpc", "cast_common", "cu1412", "bfq",
         "crc-itu-t", "veth", "sunrpc", "dummy")


@pytest.fixture(scope="module")
def base() -> Btf:
    src = MODDIR / "vmlinux-6.1.btf.xz"
    if not src.exists():
        pytest.skip("vmlinux-6.1.btf.xz fixture missing")
    return parse_raw(lzma.decompress(src.read_bytes()))


@pytest.fixture(scope="module")
def modules(base: Btf) -> dict[str, Btf]:
    mods = {n: parse_raw((MODDIR / f"{n}.btf").read_bytes(), base=base) for n in set(ORDER) - {"cu1412"}}
    mods["cu1412"] = parse_raw(CU.read_bytes())
    return mods


def _check_libbpf(name: str, ours: bytes) -> None:
    if name == "cu1412":
        cu = CU.read_bytes()
        base_bytes = lzma.decompress((MODDIR / "vmlinux-6.1.btf.xz").read_bytes())
        DEDUP_V16.check(f"{rel(CU)}::add_btf onto vmlinux-6.1,dedup", ours,
                        lambda lib: lib.merge_dedup_bytes([cu], base=base_bytes), inputs=[cu])
    else:
        check_split_dedup(ours, str(MODDIR / f"{name}.btf"))


def test_sequence_through_one_prepared_base(base: Btf, modules: dict[str, Btf]) -> None:
    prepared = prepare_base(base)
    fresh = {n: btf_to_bytes(dedup_against_base(m, base)) for n, m in modules.items()}
    for name in ORDER:
        ours = btf_to_bytes(dedup_against_base(modules[name], base, prepared=prepared))
        assert ours == fresh[name], f"{name}: prepared dedup differs from a fresh one"
        _check_libbpf(name, ours)
        assert not prepared.in_use


def test_result_matches_fresh_dedup(base: Btf, modules: dict[str, Btf]) -> None:
    """type_map, stats and output of a prepared dedup equal a fresh one's, after a
    large module went through the same prepared base."""
    prepared = prepare_base(base)
    dedup(modules["sunrpc"], prepared=prepared)
    for name in ("bfq", "sunrpc"):
        got = dedup(modules[name], prepared=prepared)
        want = dedup(modules[name])
        assert np.array_equal(got.type_map, want.type_map)
        assert got.stats["table_entries"] == want.stats["table_entries"]
        assert btf_to_bytes(got.btf) == btf_to_bytes(want.btf)


def test_debug_invariants_hold(base: Btf, modules: dict[str, Btf]) -> None:
    prepared = prepare_base(base)
    for name in ("sunrpc", "veth", "ip_set"):
        got = dedup(modules[name], prepared=prepared, debug=True)
        _check_libbpf(name, btf_to_bytes(got.btf))


def test_failure_gives_the_table_back(base: Btf, modules: dict[str, Btf]) -> None:
    """A split that fails mid-dedup (a CONST referring to itself: libbpf -ELOOP) leaves
    the prepared base usable and unchanged for the next split."""
    prepared = prepare_base(base)
    n = base.type_cnt
    loop = Btf.from_words(np.array([0, Kind.CONST << KIND_SHIFT, n], dtype=np.uint32), b"", base=base)
    dedup(modules["ip_set"], prepared=prepared)
    with pytest.raises(DedupError, match="reference loop"):
        dedup(loop, prepared=prepared)
    assert not prepared.in_use
    _check_libbpf("veth", btf_to_bytes(dedup(modules["veth"], prepared=prepared).btf))


def test_other_base_is_refused(base: Btf, modules: dict[str, Btf]) -> None:
    prepared = prepare_base(base)
    assert isinstance(prepared, PreparedBase)
    copy = parse_raw(lzma.decompress((MODDIR / "vmlinux-6.1.btf.xz").read_bytes()))
    on_copy = parse_raw((MODDIR / "veth.btf").read_bytes(), base=copy)
    with pytest.raises(BtfUsageError, match="prepared base"):
        dedup(on_copy, prepared=prepared)
    with pytest.raises(BtfUsageError, match="prepared base"):
        dedup(modules["cu1412"], prepared=prepared)


def test_unprepared_paths_unchanged(tmp_path: Path, modules: dict[str, Btf]) -> None:
    """Without a prepared base the strings phase indexes the base itself: same bytes."""
    _check_libbpf("8021q", btf_to_bytes(dedup(modules["8021q"]).btf))
