"""Parallel and distributed dedup (``--workers``, ``--executor dask``): the same bytes.

``canonical`` is order-independent, so reducing groups of inputs in worker processes
and combining them must give exactly the one-process output, and the provenance map
must be the same file; the judge is the one-process run of the same strategy, itself
checked against libbpf's type counts and for soundness in tests/test_canonical.py.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from btfdedup.errors import CommandLineError
from btfdedup.workflows.parallel import EXECUTORS, check_options, groups

REPO = Path(__file__).resolve().parent.parent
CUS = REPO / "corpora" / "cus"
MODULES = REPO / "corpora" / "modules"


def btfdedup(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "btfdedup", *argv], capture_output=True, text=True)


@pytest.fixture(scope="module")
def one_process(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    d = tmp_path_factory.mktemp("one")
    r = btfdedup("dedup", str(CUS), "-o", str(d / "o.btf"), "--strategy", "canonical", "--map", str(d / "m"))
    assert r.returncode == 0, r.stderr
    return (d / "o.btf").read_bytes(), (d / "m").read_bytes()


@pytest.mark.parametrize("workers", [2, 3, 5])
def test_local_workers_give_the_same_bytes(tmp_path: Path, one_process: tuple[bytes, bytes], workers: int) -> None:
    r = btfdedup("dedup", str(CUS), "-o", str(tmp_path / "o.btf"), "--strategy", "canonical",
                 "--workers", str(workers), "--map", str(tmp_path / "m"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o.btf").read_bytes() == one_process[0]
    assert (tmp_path / "m").read_bytes() == one_process[1]


def test_sorted_parallel_output_equals_sorted_one_process(tmp_path: Path) -> None:
    outs = []
    for w in ("1", "2"):
        r = btfdedup("dedup", str(CUS), "-o", str(tmp_path / f"o{w}"), "--strategy", "canonical", "--sort",
                     "--workers", w, "--map", str(tmp_path / f"m{w}"))
        assert r.returncode == 0, r.stderr
        outs.append(((tmp_path / f"o{w}").read_bytes(), (tmp_path / f"m{w}").read_bytes()))
    assert outs[0] == outs[1]


def test_split_inputs_on_a_base(tmp_path: Path) -> None:
    """Modules on a base: the workers read the base from its file; base IDs stay."""
    base = str(MODULES / "vmlinux-6.1.btf.xz")
    mods = [str(MODULES / f"{n}.btf") for n in ("8021q", "veth", "dummy", "nls_utf8", "sunrpc")]
    res = []
    for w in ("1", "2"):
        r = btfdedup("dedup", *mods, "--base", base, "-o", str(tmp_path / f"o{w}"), "--strategy", "canonical",
                     "--workers", w, "--map", str(tmp_path / f"m{w}"))
        assert r.returncode == 0, r.stderr
        res.append(((tmp_path / f"o{w}").read_bytes(), (tmp_path / f"m{w}").read_bytes()))
    assert res[0] == res[1]


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                    reason="Dask's distributed is not installed (pip install 'btfdedup[dask]')")
def test_dask_local_cluster_gives_the_same_bytes(tmp_path: Path, one_process: tuple[bytes, bytes]) -> None:
    r = btfdedup("dedup", str(CUS), "-o", str(tmp_path / "o.btf"), "--strategy", "canonical",
                 "--executor", "dask", "--workers", "2", "--map", str(tmp_path / "m"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o.btf").read_bytes() == one_process[0]
    assert (tmp_path / "m").read_bytes() == one_process[1]


@pytest.mark.parametrize("extra, message", [
    (["--workers", "2"], "parallel and distributed runs take canonical"),
    (["--strategy", "canonical", "--workers", "0"], "--workers 0: needs at least 1"),
    (["--strategy", "canonical", "--scheduler", "tcp://127.0.0.1:1"], "it needs --executor dask"),
    (["--strategy", "canonical", "--workers", "2", "--keep-going"], "not with --ext, --keep-going"),
    (["--strategy", "canonical", "--executor", "ray"], "invalid choice"),
])
def test_option_errors(tmp_path: Path, extra: list[str], message: str) -> None:
    r = btfdedup("dedup", str(CUS), "-o", str(tmp_path / "o.btf"), *extra)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert not (tmp_path / "o.btf").exists()


def test_check_options() -> None:
    assert check_options("canonical", 1, "local", None) is False
    assert check_options("canonical", 2, "local", None) is True
    assert check_options("canonical", 1, "dask", None) is True
    with pytest.raises(CommandLineError):
        check_options("hash", 2, "local", None)


def test_groups_are_ordered_runs_of_similar_size() -> None:
    files = sorted(str(p) for p in CUS.glob("*.btf"))
    for n in (1, 2, 3, 7, 40):
        parts = groups(files, n)
        assert [f for g in parts for f in g] == files
        assert 1 <= len(parts) <= min(n, len(files)) and all(parts)


def test_executor_choices_are_the_executors() -> None:
    from btfdedup.cli.choices import EXECUTOR_CHOICES

    assert EXECUTOR_CHOICES == EXECUTORS


def _cu(*, foo_member: str | None, fwd_user: bool) -> bytes:
    """A CU with ``struct foo { <int|long> x; }`` (or none) and, with ``fwd_user``,
    ``struct user { struct foo *p; }`` where foo is only declared."""
    from tests._btf_build import Builder

    b = Builder()
    i = b.int_("int", 4, 32) if foo_member != "long" else b.int_("long", 8, 64)
    if foo_member is not None:
        b.struct("foo", 4 if foo_member != "long" else 8, [("x", i, 0)])
    if fwd_user:
        p = b.ptr(b.fwd("foo"))
        b.struct("user", 8, [("p", p, 0)])
    return b.blob()


def test_a_forward_resolved_in_one_group_only_falls_back(tmp_path: Path) -> None:
    """Group 1 sees one ``struct foo`` and resolves its forward; all inputs hold two
    different ``struct foo``: the forward must stay, so the run is redone in one
    process, says so, and writes the one-process bytes."""
    inputs = []
    for n, (member, user) in enumerate([("int", True), ("int", False), ("long", False), ("long", False)]):
        f = tmp_path / f"cu{n}.btf"
        f.write_bytes(_cu(foo_member=member, fwd_user=user))
        inputs.append(str(f))
    one = btfdedup("dedup", *inputs, "-o", str(tmp_path / "one.btf"), "--strategy", "canonical")
    assert one.returncode == 0, one.stderr
    two = btfdedup("dedup", *inputs, "-o", str(tmp_path / "two.btf"), "--strategy", "canonical", "--workers", "2")
    assert two.returncode == 0, two.stderr
    assert "redone in one process" in two.stderr and "struct foo" in two.stderr
    assert (tmp_path / "one.btf").read_bytes() == (tmp_path / "two.btf").read_bytes()


@pytest.mark.corpus
def test_kernel_cus_two_workers_same_bytes_as_one(corpora_dir: Path, tmp_path: Path) -> None:
    """The 2,172 CUs of a 6.1 kernel: ``--workers 2`` writes the one-process bytes and
    map, without falling back (no forward name resolves in a group against the rest)."""
    import tarfile

    d = tmp_path / "cus"
    with tarfile.open(corpora_dir / "vmlinux-6.1-raw" / "cus.tar.xz") as tf:
        tf.extractall(d, filter="data")
    files = sorted(str(p) for p in d.rglob("*.btf"))
    assert len(files) == 2172
    runs = []
    for w in ("1", "2"):
        r = btfdedup("dedup", *files, "-o", str(tmp_path / f"o{w}"), "--strategy", "canonical", "--workers", w,
                     "--map", str(tmp_path / f"m{w}"))
        assert r.returncode == 0, r.stderr
        assert "redone in one process" not in r.stderr
        runs.append(((tmp_path / f"o{w}").read_bytes(), (tmp_path / f"m{w}").read_bytes()))
    assert runs[0] == runs[1]
