"""CLI contract on bad input across verbs: one error line per failure, nothing half-written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from btfdedup.cli.main import main
from tests.conftest import FIXTURES

CU = FIXTURES / "cus" / "cu1412.btf"


def test_stats_reports_every_good_file_and_each_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "empty.btf"
    bad.write_bytes(b"")
    assert main(["stats", "--json", str(CU), str(bad), str(CU)]) == 1
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 2
    assert err.count("btfdedup: error:") == 1 and "empty.btf" in err


def test_json_dump_with_bad_id_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dump", "--json", "--id", "1", "--id", "99999999", str(CU)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("btfdedup: error:") and "99999999" in err


def test_dash_reads_standard_input() -> None:
    """``-`` is standard input; the dump equals the one of the named file."""
    run = [sys.executable, "-m", "btfdedup", "dump"]
    named = subprocess.run([*run, str(CU)], capture_output=True, check=True).stdout
    piped = subprocess.run([*run, "-"], input=CU.read_bytes(), capture_output=True, check=True).stdout
    assert piped == named and named.startswith(b"[1] ")
