"""``--keep-going`` on ``split`` and directory ``dedup``: bad inputs are reported one
line each, the good ones are written, exit 1; without it a batch is all-or-nothing."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO

MODDIR = FIXTURES / "modules"
BASE = str(MODDIR / "vmlinux-6.1.btf.xz")


def btfdedup_command() -> list[str]:
    script = shutil.which("btfdedup", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "btfdedup"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*btfdedup_command(), *args], capture_output=True, text=True, cwd=REPO, timeout=300)


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    """A good module, a malformed BTF file and a module with a distilled base."""
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(MODDIR / "veth.btf", d / "veth.btf")
    (d / "broken.btf").write_bytes((MODDIR / "8021q.btf").read_bytes()[:100])
    shutil.copy(MODDIR / "8021q.distilled.ko", d / "8021q.distilled.ko")
    return d


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("btfdedup: error: ")]


def check_failures(stderr: str, d: Path) -> None:
    lines = error_lines(stderr)
    assert len(lines) == 2, stderr
    # In sorted path order, as the directory is read.
    assert lines[0].startswith(f"btfdedup: error: {d / '8021q.distilled.ko'}")
    assert "base" in lines[0]
    assert lines[1].startswith(f"btfdedup: error: {d / 'broken.btf'}")


def test_split_keep_going(batch: Path, tmp_path: Path) -> None:
    ref = tmp_path / "ref"
    r = run("split", str(batch / "veth.btf"), "--base", BASE, "-o", str(ref))
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    r = run("split", str(batch), "--base", BASE, "-o", str(out), "--keep-going")
    assert r.returncode == 1
    check_failures(r.stderr, batch)
    assert sorted(os.listdir(out)) == ["veth.btf"]
    assert (out / "veth.btf").read_bytes() == (ref / "veth.btf").read_bytes()
    assert "1 module on a base" in r.stdout


def test_split_without_keep_going_writes_nothing(batch: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run("split", str(batch), "--base", BASE, "-o", str(out))
    assert r.returncode == 1
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith(f"btfdedup: error: {batch / '8021q.distilled.ko'}")
    assert not out.exists()


def test_split_keep_going_json(batch: Path, tmp_path: Path) -> None:
    r = run("split", str(batch), "--base", BASE, "-o", str(tmp_path / "out"), "--keep-going", "--json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert [m["module"] for m in doc["modules"]] == ["veth"]
    assert [f["file"] for f in doc["failed"]] == [str(batch / "8021q.distilled.ko"), str(batch / "broken.btf")]
    assert all(f["error"].startswith(f["file"]) for f in doc["failed"])


def test_dedup_keep_going(batch: Path, tmp_path: Path) -> None:
    ref = tmp_path / "ref.btf"
    r = run("dedup", str(batch / "veth.btf"), "--base", BASE, "-o", str(ref))
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out.btf"
    r = run("dedup", str(batch), "--base", BASE, "-o", str(out), "--keep-going", "--json")
    assert r.returncode == 1
    check_failures(r.stderr, batch)
    assert out.read_bytes() == ref.read_bytes()
    doc = json.loads(r.stdout)
    assert doc["inputs"] == 1 and len(doc["failed"]) == 2


def test_dedup_without_keep_going_writes_nothing(batch: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.btf"
    r = run("dedup", str(batch), "--base", BASE, "-o", str(out))
    assert r.returncode == 1
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("btfdedup: error: ")
    assert not out.exists() and os.listdir(tmp_path) == ["in"]


def test_all_inputs_bad(tmp_path: Path) -> None:
    """Nothing left to write: each failure reported, then the run fails, nothing written."""
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.btf").write_bytes(b"\x9f\xeb\x01\x00" + b"\0" * 10)
    out = tmp_path / "out"
    for verb in (["split", "--base", BASE], ["dedup"]):
        r = run(*verb, str(d), "-o", str(out), "--keep-going")
        assert r.returncode == 1
        lines = error_lines(r.stderr)
        assert len(lines) == 2 and lines[0].startswith(f"btfdedup: error: {d / 'a.btf'}"), r.stderr
        assert "no " in lines[1] and "left" in lines[1]
        assert not out.exists()


def looped_btf() -> bytes:
    """Well-formed raw BTF that loads but cannot be deduplicated: ``const`` [1]
    refers to itself (libbpf's dedup fails with -ELOOP)."""
    strings = b"\0"
    record = struct.pack("<III", 0, 10 << 24, 1)  # BTF_KIND_CONST, type = 1
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(record), len(record), len(strings))
    return header + record + strings


@pytest.mark.parametrize("verb", [["split", "--base", BASE], ["dedup", "--base", BASE], ["dedup"]],
                         ids=["split", "dedup-on-base", "dedup"])
def test_dedup_error_is_pinned_on_its_input(verb: list[str], tmp_path: Path) -> None:
    """An input that loads but fails the dedup (alone or merged with the others) is
    the one reported and left out; the result of the others is what they give alone."""
    d = tmp_path / "in"
    d.mkdir()
    good = MODDIR / "veth.btf" if "--base" in verb else FIXTURES / "cus" / "cu1412.btf"
    shutil.copy(good, d / "good.btf")
    (d / "loop.btf").write_bytes(looped_btf())
    ref, out = tmp_path / "ref", tmp_path / "out"
    r = run(*verb, str(d / "good.btf"), "-o", str(ref))
    assert r.returncode == 0, r.stderr
    r = run(*verb, str(d), "-o", str(out), "--keep-going")
    assert r.returncode == 1
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and lines[0].startswith(f"btfdedup: error: {d / 'loop.btf'}: "), r.stderr
    assert "loop" in lines[0].split(": ", 3)[-1]
    if verb[0] == "split":
        assert os.listdir(out) == ["good.btf"]
        assert (out / "good.btf").read_bytes() == (ref / "good.btf").read_bytes()
    else:
        assert out.read_bytes() == ref.read_bytes()
    r = run(*verb, str(d), "-o", str(tmp_path / "none"))
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1, r.stderr
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("verb", [["split", "--base", BASE], ["dedup", "--base", BASE]], ids=["split", "dedup"])
def test_missing_input_in_order(verb: list[str], batch: Path, tmp_path: Path) -> None:
    """A named input that does not exist is one more bad input; failures are reported
    in input order, whichever step found them (here: the missing file, found first,
    named last)."""
    missing = tmp_path / "missing.btf"
    out = tmp_path / "out"
    r = run(*verb, str(batch / "broken.btf"), str(MODDIR / "veth.btf"), str(missing), "-o", str(out),
            "--keep-going")
    assert r.returncode == 1
    lines = error_lines(r.stderr)
    assert len(lines) == 2, r.stderr
    assert lines[0].startswith(f"btfdedup: error: {batch / 'broken.btf'}")
    assert lines[1] == f"btfdedup: error: {missing}: no such file or directory"
    assert (out / "veth.btf").is_file() if verb[0] == "split" else out.is_file()
