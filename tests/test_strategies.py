"""The strategy registry, ``--strategy`` on dedup/split and the ``strategies`` verb."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pytest

import btfdedup
from btfdedup.cli.main import main
from btfdedup.errors import BtfUsageError
from btfdedup.strategies import available, get, names, run

CUS = sorted(glob.glob(str(Path(__file__).resolve().parent.parent / "corpora" / "cus" / "*.btf")))


def test_registry() -> None:
    assert names()[0] == "libbpf"
    assert set(names()) >= {"libbpf", "canonical", "hash"}
    assert all(e.guarantee for e in available())
    with pytest.raises(BtfUsageError, match="unknown dedup strategy"):
        get("nope")


def test_libbpf_strategy_is_the_engine() -> None:
    merged = btfdedup.merge([btfdedup.load(f) for f in CUS])
    assert run("libbpf", merged).btf.to_bytes() == btfdedup.dedup(merged).btf.to_bytes()


def test_strategies_verb(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["strategies"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == list(names())
    assert main(["strategies", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in data["strategies"]] == list(names())
    assert [s["default"] for s in data["strategies"]] == [n == "libbpf" for n in names()]


@pytest.mark.parametrize("strategy", ["canonical", "hash"])
def test_dedup_cli_strategy(tmp_path: Path, strategy: str) -> None:
    out = tmp_path / "out.btf"
    assert main(["dedup", *CUS, "-o", str(out), "--strategy", strategy]) == 0
    merged = btfdedup.merge([btfdedup.load(f) for f in CUS])
    assert out.read_bytes() == run(strategy, merged).btf.to_bytes()


def test_options_a_strategy_cannot_honour_are_usage_errors(tmp_path: Path) -> None:
    """--ext with a structural strategy, and --strategy with --link (the linker dedups by
    itself), are refused before any input is read (exit 2), not ignored."""
    import subprocess
    import sys

    obj = str(Path(__file__).resolve().parent.parent / "corpora" / "bpf" / "fwd_user.bpf.o")
    for extra, message in ((["--ext", "--strategy", "canonical"], "--ext needs --strategy libbpf"),
                           (["--link", "--strategy", "hash"], "--link does not combine with --strategy")):
        r = subprocess.run([sys.executable, "-m", "btfdedup", "dedup", obj, "-o", str(tmp_path / "o.btf"), *extra],
                           capture_output=True, text=True)
        assert r.returncode == 2 and message in r.stderr, r.stderr
        assert not (tmp_path / "o.btf").exists()
