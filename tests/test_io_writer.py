""":class:`btfdedup.io.writer.OutputSet`: staged files appear together at commit, made
durable once for the whole set, never over a protected input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from btfdedup.errors import BtfUsageError
from btfdedup.io import writer
from btfdedup.io.writer import OutputSet, input_identities


def _count(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    calls: list[int] = []
    real = getattr(os, name)

    def counting(*args: int) -> None:
        calls.append(1)
        real(*args)

    monkeypatch.setattr(writer.os, name, counting)
    return calls


def test_batch_is_flushed_once_before_the_renames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    syncs = _count(monkeypatch, "sync")
    fsyncs = _count(monkeypatch, "fsync")
    out = tmp_path / "out"
    with OutputSet() as s:
        s.make_dir(str(out))
        for i in range(5):
            s.add(str(out / f"m{i}.btf"), bytes([i]) * 10)
        assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".btfdedup-")) == []
        assert not syncs and not fsyncs
        s.commit()
    assert len(syncs) == 1 and not fsyncs
    assert sorted(p.name for p in out.iterdir()) == [f"m{i}.btf" for i in range(5)]
    assert (out / "m3.btf").read_bytes() == b"\x03" * 10


def test_single_file_is_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    syncs = _count(monkeypatch, "sync")
    fsyncs = _count(monkeypatch, "fsync")
    writer.write_output(str(tmp_path / "one.btf"), b"abc")
    assert len(fsyncs) == 1 and not syncs
    assert (tmp_path / "one.btf").read_bytes() == b"abc"


def test_protected_input_by_any_name(tmp_path: Path) -> None:
    src = tmp_path / "in.btf"
    src.write_bytes(b"input")
    os.link(src, tmp_path / "hard.btf")
    (tmp_path / "sym.btf").symlink_to(src)
    assert input_identities([str(src), "-", str(tmp_path / "missing")]) == {(src.stat().st_dev, src.stat().st_ino)}
    with OutputSet([str(src)]) as s:
        for name in ("hard.btf", "sym.btf", "in.btf"):
            with pytest.raises(BtfUsageError, match="refusing to overwrite input file"):
                s.add(str(tmp_path / name), b"x")
        s.add(str(tmp_path / "new.btf"), b"x")
        s.commit()
    assert src.read_bytes() == b"input"
    assert (tmp_path / "new.btf").read_bytes() == b"x"


def test_failure_discards_the_batch(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), OutputSet() as s:
        s.make_dir(str(out))
        s.add(str(out / "a.btf"), b"a")
        raise RuntimeError("a module failed")
    assert not out.exists()
