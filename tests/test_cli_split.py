"""``btfdedup split`` end to end: every output file judged against libbpf v1.6 doing
the same thing (split module: ``btf__new_split(mod, base)`` + ``btf__dedup``;
standalone: ``btf__new_empty_split(base)`` + ``btf__add_btf`` + ``btf__dedup``),
through :mod:`tests.oracle.libbpf`."""

from __future__ import annotations

import json
import lzma
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from btfdedup.cli.main import main
from btfdedup.io.raw import parse_raw
from btfdedup.workflows.split import module_name
from tests.conftest import FIXTURES, REPO
from tests.expected import DEDUP_V16, rel
from tests.oracle.libbpf import Libbpf, oracle_or_skip

MODDIR = FIXTURES / "modules"
NAMES = ("8021q", "bfq", "cast_common", "crc-itu-t", "dummy", "ip_set", "nls_utf8", "sunrpc", "veth")
MODULES = [str(MODDIR / f"{n}.btf") for n in NAMES]
CU = str(FIXTURES / "cus" / "cu1412.btf")


@pytest.fixture(scope="module")
def lib() -> Libbpf:
    """libbpf v1.6 live, for the big-corpus test only (no committed expectation)."""
    return oracle_or_skip("v16")


def _base_bytes() -> bytes:
    return lzma.decompress((MODDIR / "vmlinux-6.1.btf.xz").read_bytes())


def check_split_dedup(ours: bytes, path: str) -> None:
    """``ours`` against libbpf v1.6's split dedup of module ``path`` on the 6.1 base: the
    committed expectation of tests/test_dedup_oracle.py always, libbpf live where installed."""
    data = Path(path).read_bytes()
    DEDUP_V16.check(f"{rel(path)}::dedup on vmlinux-6.1", ours, lambda lib: lib.dedup_bytes(data, base=_base_bytes()),
                    inputs=[data, _base_bytes()])


@pytest.fixture(scope="module")
def base_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    src = MODDIR / "vmlinux-6.1.btf.xz"
    if not src.exists():
        pytest.skip("vmlinux-6.1.btf.xz fixture missing")
    out = tmp_path_factory.mktemp("base") / "vmlinux.btf"
    out.write_bytes(lzma.decompress(src.read_bytes()))
    return str(out)


def test_each_module_matches_libbpf(base_path: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["split", *MODULES, CU, "--base", base_path, "-o", str(out)]) == 0
    for name, path in zip(NAMES, MODULES, strict=True):
        check_split_dedup((out / f"{name}.btf").read_bytes(), path)
    cu = Path(CU).read_bytes()
    DEDUP_V16.check(f"{rel(CU)}::add_btf onto vmlinux-6.1,dedup", (out / "cu1412.btf").read_bytes(),
                    lambda lib: lib.merge_dedup_bytes([cu], base=_base_bytes()), inputs=[cu])
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[0] == "module"
    assert any(line.startswith("cu1412 (standalone)") for line in table)
    assert table[-2].startswith("total")
    assert table[-1].startswith(f"{len(NAMES) + 1} modules on a base of 95,246 types")


def test_json(base_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["split", MODULES[0], CU, "--base", base_path, "-o", str(out), "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert doc["base_types"] == 95246
    mods = {m["module"]: m for m in doc["modules"]}
    base = parse_raw(Path(base_path).read_bytes())
    for name in ("8021q", "cu1412"):
        m = mods[name]
        written = parse_raw(Path(m["output"]).read_bytes(), base=base)
        assert m["types_after"] == written.nr_types
        assert m["bytes_after"] == Path(m["output"]).stat().st_size
    assert mods["cu1412"]["standalone"] is True and mods["8021q"]["standalone"] is False
    assert mods["8021q"]["bytes_before"] == Path(MODULES[0]).stat().st_size
    assert doc["total"]["types_after"] == sum(m["types_after"] for m in doc["modules"])


@pytest.mark.parametrize("ko", ["8021q.ko", "8021q.ko.xz", "8021q.ko.zst", "8021q.ko.gz"])
def test_module_containers(base_path: str, tmp_path: Path, ko: str) -> None:
    if not (MODDIR / ko).exists():
        pytest.skip(f"{ko} fixture missing")
    out = tmp_path / "out"
    assert main(["split", str(MODDIR / ko), "--base", base_path, "-o", str(out)]) == 0
    check_split_dedup((out / "8021q.btf").read_bytes(), str(MODDIR / "8021q.btf"))


def test_directory_input(base_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "mods"
    d.mkdir()
    for p in MODULES[:3]:
        shutil.copy(p, d)
    (d / "notes.txt").write_text("hello")
    out = tmp_path / "out"
    assert main(["split", str(d), "--base", base_path, "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.btf" for n in NAMES[:3])
    assert "skipped" in capsys.readouterr().err


def test_name_collision_is_refused(base_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "x"
    other.mkdir()
    shutil.copy(MODULES[0], other / "8021q.btf")
    assert main(["split", MODULES[0], str(other / "8021q.btf"), "--base", base_path, "-o", str(tmp_path / "o")]) == 1
    assert "would both be written" in capsys.readouterr().err


def test_outdir_is_a_file(base_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["split", MODULES[0], "--base", base_path, "-o", str(f)]) == 1
    assert "not a directory" in capsys.readouterr().err


def test_never_overwrites_an_input(base_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "d"
    d.mkdir()
    mod = d / "veth.btf"
    shutil.copy(MODDIR / "veth.btf", mod)
    before = mod.read_bytes()
    assert main(["split", str(mod), "--base", base_path, "-o", str(d)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert mod.read_bytes() == before


def test_base_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["split", MODULES[0], "-o", "/tmp/x"])
    assert e.value.code == 2


def test_module_name() -> None:
    assert module_name("/lib/modules/6.1/kernel/net/8021q/8021q.ko.xz") == "8021q"
    assert module_name("veth.ko") == "veth"
    assert module_name("x/bfq.btf") == "bfq"
    assert module_name("/sys/kernel/btf/nf_tables") == "nf_tables"
    assert module_name("prog.bpf.o") == "prog.bpf"


def test_subprocess_run(base_path: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = subprocess.run(
        [sys.executable, "-m", "btfdedup", "split", MODULES[-1], "--base", base_path, "-o", str(out), "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["modules"][0]["module"] == "veth"
    check_split_dedup((out / "veth.btf").read_bytes(), MODULES[-1])


@pytest.mark.corpus
def test_all_1121_modules(lib: Libbpf, corpora_dir: Path, tmp_path: Path) -> None:
    import tarfile

    d = corpora_dir / "modules-6.1"
    with tarfile.open(d / "split.tar.xz", "r:xz") as tf:
        tf.extractall(tmp_path, filter="data")
    out = tmp_path / "out"
    base_path = str(d / "vmlinux.btf")
    assert main(["split", str(tmp_path / "split"), "--base", base_path, "-o", str(out)]) == 0
    base = (d / "vmlinux.btf").read_bytes()
    files = sorted((tmp_path / "split").glob("*.btf"))  # the archive also holds a non-BTF file
    assert len(files) == 1121
    assert sorted(p.name for p in out.iterdir()) == [f.name for f in files]
    bad = [f.name for f in files if (out / f.name).read_bytes() != lib.dedup_bytes(f.read_bytes(), base=base)]
    assert not bad


def test_failing_module_leaves_no_output(base_path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed module after a good one fails the run before any output is
    written: OUTDIR is not created, the good module's output not left behind."""
    bad = tmp_path / "truncated.btf"
    bad.write_bytes(Path(MODULES[0]).read_bytes()[:100])
    out = tmp_path / "out"
    assert main(["split", MODULES[1], str(bad), "--base", base_path, "-o", str(out)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"btfdedup: error: {bad}")
    assert not out.exists()


def test_output_over_an_input_is_refused_before_writing(base_path: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """OUTDIR holding an input as ``<name>.btf`` is refused up front: the modules
    listed before it are not written either."""
    d = tmp_path / "d"
    d.mkdir()
    shutil.copy(MODDIR / "veth.btf", d / "veth.btf")
    assert main(["split", MODULES[0], str(d / "veth.btf"), "--base", base_path, "-o", str(d)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert sorted(p.name for p in d.iterdir()) == ["veth.btf"]
