"""``btfdedup dedup`` end to end: output bytes judged against libbpf v1.6 doing the
same sequence of calls (``btf__new_empty[_split]`` + ``btf__add_btf`` per input,
then ``btf__dedup``; for ``--ext``, ``btf__parse_elf`` + ``btf__dedup`` with
``opts.btf_ext``), through :mod:`tests.oracle.libbpf`."""

from __future__ import annotations

import glob
import io
import json
import lzma
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from btfdedup.cli.main import main
from btfdedup.cli.output import ProgressLine, human_bytes
from btfdedup.io.raw import parse_raw
from tests.conftest import FIXTURES, REPO
from tests.expected import DEDUP_V16, rel
from tests.oracle.libbpf import Libbpf

CUS = sorted(glob.glob(str(FIXTURES / "cus" / "*.btf")))
OBJECTS = sorted(glob.glob(str(FIXTURES / "bpf-objects" / "*.o")))
MODULES = [str(FIXTURES / "modules" / f"{n}.btf") for n in ("veth", "8021q", "dummy", "nls_utf8")]


def _libbpf_v16(ours: bytes, how: str, paths: list[str], judge: Callable[[Libbpf, list[bytes]], bytes]) -> None:
    """``ours`` against libbpf v1.6's output for these fixture files: committed in
    tests/expected/dedup_v16.json (always), and live where the oracle is installed."""
    datas = [Path(p).read_bytes() for p in paths]
    names = "corpora/cus/*.btf" if paths == CUS else ",".join(rel(p) for p in paths)
    DEDUP_V16.check(f"{names}::{how}", ours, lambda lib: judge(lib, datas), inputs=datas)


def _base_bytes() -> bytes:
    return lzma.decompress((FIXTURES / "modules" / "vmlinux-6.1.btf.xz").read_bytes())


@pytest.fixture(scope="module")
def base_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    src = FIXTURES / "modules" / "vmlinux-6.1.btf.xz"
    if not src.exists():
        pytest.skip("vmlinux-6.1.btf.xz fixture missing")
    out = tmp_path_factory.mktemp("base") / "vmlinux.btf"
    out.write_bytes(lzma.decompress(src.read_bytes()))
    return str(out)


def _elf_btf(lib: Libbpf, path: str) -> bytes:
    h, _ = lib.parse_elf(path, want_ext=False)
    with h:
        return lib.raw_data(h)


def test_cu_directory_matches_libbpf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.btf"
    assert main(["dedup", str(FIXTURES / "cus"), "-o", str(out)]) == 0
    _libbpf_v16(out.read_bytes(), "add_btf,dedup", CUS, lambda lib, d: lib.merge_dedup_bytes(d))
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{len(CUS)} inputs: ") and "->" in line and line.endswith(str(out))


def test_inputs_keep_command_line_order(tmp_path: Path) -> None:
    order = [CUS[5], CUS[0], CUS[3]]
    out = tmp_path / "out.btf"
    assert main(["dedup", *order, "-o", str(out)]) == 0
    _libbpf_v16(out.read_bytes(), "add_btf,dedup", order, lambda lib, d: lib.merge_dedup_bytes(d))


def test_single_input_is_merged_first(tmp_path: Path) -> None:
    """One input gives the bytes of its merge into a fresh BTF, like libbpf's linker
    (without the copy: see tests/test_cli_dedup_single.py)."""
    out = tmp_path / "out.btf"
    assert main(["dedup", CUS[2], "-o", str(out)]) == 0
    _libbpf_v16(out.read_bytes(), "add_btf,dedup", [CUS[2]], lambda lib, d: lib.merge_dedup_bytes(d))


def test_bpf_objects(tmp_path: Path) -> None:
    if not OBJECTS:
        pytest.skip("no bpf-objects fixtures")
    out = tmp_path / "out.btf"
    assert main(["dedup", *OBJECTS, "-o", str(out), "--json"]) == 0
    _libbpf_v16(out.read_bytes(), "btf__parse_elf,add_btf,dedup", OBJECTS,
                lambda lib, _d: lib.merge_dedup_bytes([_elf_btf(lib, p) for p in OBJECTS]))


def test_json_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.btf"
    assert main(["dedup", *CUS[:4], "-o", str(out), "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    produced = parse_raw(out.read_bytes())
    assert doc["types_out"] == produced.nr_types
    assert doc["bytes_out"] == out.stat().st_size
    assert doc["types_in"] == sum(parse_raw(Path(p).read_bytes()).nr_types for p in CUS[:4])
    assert doc["bytes_in"] == sum(os.path.getsize(p) for p in CUS[:4])
    assert doc["inputs"] == 4 and doc["output"] == str(out) and doc["split"] is False
    assert doc["seconds"] >= 0


def test_directory_skips_files_without_btf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    shutil.copy(CUS[1], d / "b.btf")
    shutil.copy(CUS[0], d / "sub" / "a.btf")
    (d / "README").write_text("not BTF\n")
    shutil.copy(FIXTURES / "bpf" / "types.bpf.c", d / "types.bpf.c")
    out = tmp_path / "out.btf"
    assert main(["dedup", str(d), "-o", str(out)]) == 0
    # sorted by path: in/b.btf < in/sub/a.btf
    _libbpf_v16(out.read_bytes(), "add_btf,dedup", [CUS[1], CUS[0]], lambda lib, d: lib.merge_dedup_bytes(d))
    err = capsys.readouterr().err
    assert "skipped" in err and "README" in err and "types.bpf.c" in err


def test_directory_with_corrupt_btf_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "in"
    d.mkdir()
    data = bytearray(Path(CUS[0]).read_bytes())
    data[12:16] = (0xFFFFFF).to_bytes(4, "little")  # type_len past the end
    (d / "bad.btf").write_bytes(bytes(data))
    assert main(["dedup", str(d), "-o", str(tmp_path / "out.btf")]) == 1
    assert "btfdedup: error:" in capsys.readouterr().err
    assert not (tmp_path / "out.btf").exists()


def test_modules_on_base(base_path: str, tmp_path: Path) -> None:
    out = tmp_path / "mods.btf"
    assert main(["dedup", *MODULES, "--base", base_path, "-o", str(out)]) == 0
    _libbpf_v16(out.read_bytes(), "module recipe,dedup on vmlinux-6.1", MODULES,
                lambda lib, d: lib.merge_modules_dedup_bytes(d, _base_bytes()))


def test_standalone_inputs_on_base(base_path: str, tmp_path: Path) -> None:
    out = tmp_path / "cus.btf"
    assert main(["dedup", *CUS[:3], "--base", base_path, "-o", str(out)]) == 0
    _libbpf_v16(out.read_bytes(), "add_btf onto vmlinux-6.1,dedup", CUS[:3],
                lambda lib, d: lib.merge_dedup_bytes(d, base=_base_bytes()))


def test_force_collisions_same_bytes(tmp_path: Path) -> None:
    out = tmp_path / "out.btf"
    assert main(["dedup", *CUS[:6], "-o", str(out), "--force-collisions"]) == 0
    _libbpf_v16(out.read_bytes(), "add_btf,dedup,force", CUS[:6],
                lambda lib, d: lib.merge_dedup_bytes(d, force_collisions=True))


@pytest.mark.parametrize("obj", ["types.bpf.o", "maps.bpf.o", "tags.bpf.o"])
def test_ext_dedup_matches_libbpf(tmp_path: Path, obj: str) -> None:
    path = str(FIXTURES / "bpf" / obj)
    out = tmp_path / "out.btf"
    assert main(["dedup", path, "--ext", "-o", str(out)]) == 0

    def libbpf(lib: Libbpf, want_ext: bool) -> bytes:
        h, e = lib.parse_elf(path)
        assert e is not None
        with h, e:
            lib.dedup(h, ext=e)
            return lib.btf_ext_raw_data(e) if want_ext else lib.raw_data(h)

    _libbpf_v16(out.read_bytes(), "btf__parse_elf,dedup with .BTF.ext:btf", [path], lambda lib, _d: libbpf(lib, False))
    _libbpf_v16((tmp_path / "out.btf.ext").read_bytes(), "btf__parse_elf,dedup with .BTF.ext:ext", [path],
                lambda lib, _d: libbpf(lib, True))


def test_ext_needs_one_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    objs = [str(FIXTURES / "bpf" / "types.bpf.o"), str(FIXTURES / "bpf" / "maps.bpf.o")]
    assert main(["dedup", *objs, "--ext", "-o", str(tmp_path / "o.btf")]) == 2  # a usage error
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("btfdedup: error: --ext needs exactly one input (got 2)")
    assert os.listdir(tmp_path) == []


def test_ext_needs_btf_ext(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dedup", CUS[0], "--ext", "-o", str(tmp_path / "o.btf")]) == 1
    assert "no .BTF.ext" in capsys.readouterr().err


def test_never_overwrites_an_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = tmp_path / "a.btf"
    shutil.copy(CUS[0], a)
    before = a.read_bytes()
    assert main(["dedup", str(a), CUS[1], "-o", str(a)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert a.read_bytes() == before


def test_missing_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dedup", str(tmp_path / "nope.btf"), "-o", str(tmp_path / "o.btf")]) != 0
    assert "no such file" in capsys.readouterr().err


def test_directory_without_btf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.txt").write_text("hello")
    assert main(["dedup", str(tmp_path / "in"), "-o", str(tmp_path / "o.btf")]) != 0
    assert "no input carries BTF" in capsys.readouterr().err


def test_no_progress_when_stderr_is_not_a_tty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dedup", *CUS, "-o", str(tmp_path / "o.btf")]) == 0
    assert capsys.readouterr().err == ""


def test_progress_line_on_a_terminal() -> None:
    buf = io.StringIO()
    p = ProgressLine(buf, delay=0.0, enabled=True)
    p.update("btfdedup: loading 1/2")
    p.done()
    assert "loading 1/2" in buf.getvalue() and buf.getvalue().endswith("\r\x1b[K")
    quiet = io.StringIO()
    q = ProgressLine(quiet, delay=0.0)  # StringIO is not a TTY
    q.update("x")
    q.done()
    assert quiet.getvalue() == ""


def test_human_bytes() -> None:
    assert human_bytes(512) == "512 B"
    assert human_bytes(4113171) == "3.9 MiB"


def test_subprocess_run(tmp_path: Path) -> None:
    out = tmp_path / "out.btf"
    r = subprocess.run(
        [sys.executable, "-m", "btfdedup", "dedup", *CUS[:5], "-o", str(out), "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["types_out"] == parse_raw(out.read_bytes()).nr_types
    assert r.stderr == ""
    _libbpf_v16(out.read_bytes(), "add_btf,dedup", CUS[:5], lambda lib, d: lib.merge_dedup_bytes(d))


@pytest.mark.corpus
def test_all_cus_match_reference(corpora_dir: Path, tmp_path: Path) -> None:
    import tarfile

    d = tmp_path / "cus"
    with tarfile.open(corpora_dir / "vmlinux-6.1-raw" / "cus.tar.xz") as tf:
        tf.extractall(tmp_path, filter="data")
    out = tmp_path / "out.btf"
    assert main(["dedup", str(d), "-o", str(out)]) == 0
    assert out.read_bytes() == (corpora_dir / "vmlinux-6.1-raw" / "cus-dedup.libbpf.btf").read_bytes()


@pytest.mark.corpus
def test_bpf_object_corpora_match_reference(corpora_dir: Path, tmp_path: Path) -> None:
    d = corpora_dir / "bpf-objects"
    for listing, folder, ref in (("list_libbpf_tools.txt", "libbpf-tools", "libbpf-tools-dedup.libbpf.btf"),
                                 ("list_xdp.txt", "xdp-tools", "xdp-tools-dedup.libbpf.btf")):
        names = (d / listing).read_text().split()
        paths = [str(d / folder / os.path.basename(n)) for n in names]
        out = tmp_path / ref
        assert main(["dedup", *paths, "-o", str(out)]) == 0
        assert out.read_bytes() == (d / ref).read_bytes(), ref


def test_output_in_missing_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dedup", CUS[0], "-o", str(tmp_path / "nope" / "o.btf")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_output_is_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dedup", CUS[0], "-o", str(tmp_path)]) == 1
    assert "is a directory" in capsys.readouterr().err


def test_directory_with_unusable_elf_is_noted_and_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A stripped debug object (.BTF of type NOBITS) inside a directory input is
    not BTF-bearing: skipped with a note, the other inputs still merged."""
    from elftools.elf.elffile import ELFFile

    src = FIXTURES / "bpf" / "maps.bpf.o"
    data = bytearray(src.read_bytes())
    with open(src, "rb") as f:
        elf = ELFFile(f)
        idx = next(i for i, s in enumerate(elf.iter_sections()) if s.name == ".BTF")
        shoff, shentsize = elf["e_shoff"], elf["e_shentsize"]
    struct.pack_into("<I", data, shoff + idx * shentsize + 4, 8)  # sh_type = SHT_NOBITS
    d = tmp_path / "in"
    d.mkdir()
    (d / "a_stripped.o").write_bytes(bytes(data))
    shutil.copy(CUS[0], d / "b.btf")
    out = tmp_path / "out.btf"
    assert main(["dedup", str(d), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "skipped" in err and "a_stripped.o" in err and "SHT_NOBITS" in err
    _libbpf_v16(out.read_bytes(), "add_btf,dedup", [CUS[0]], lambda lib, d: lib.merge_dedup_bytes(d))


def test_unwritable_output_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A pseudo file system refuses the temporary file: one error line naming the
    output, exit 1, no traceback."""
    if not os.path.isdir("/proc/self"):
        pytest.skip("needs /proc to have an unwritable directory even as root")
    assert main(["dedup", CUS[0], "-o", "/proc/btfdedup-out.btf"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("btfdedup: error: /proc/btfdedup-out.btf: cannot write")


def test_ext_output_is_not_written_when_out_is_an_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``-o`` naming the input is refused before OUT.ext is written, not after."""
    obj = tmp_path / "types.bpf.o"
    shutil.copy(FIXTURES / "bpf" / "types.bpf.o", obj)
    assert main(["dedup", str(obj), "--ext", "-o", str(obj)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert not (tmp_path / "types.bpf.o.ext").exists()


def test_no_btf_error_names_a_skipped_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.txt").write_text("hello")
    assert main(["dedup", str(tmp_path / "in"), "-o", str(tmp_path / "o.btf")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"btfdedup: error: no input carries BTF (1 file skipped; {tmp_path / 'in' / 'x.txt'}: "
                   "neither raw BTF nor ELF)"]
