"""``load()`` over every input shape: raw, ELF, compressed, bytes, /sys/kernel/btf.

References: the committed split files are the modules' ``.BTF`` sections as
shipped; compressed files are made with the xz/zstd/gzip command-line tools;
/sys/kernel/btf/vmlinux is compared with bpftool's view of it."""

from __future__ import annotations

import gzip
import lzma
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from btfdedup.errors import BtfFormatError, BtfUsageError, ElfError
from btfdedup.io import sysfs
from btfdedup.io.load import SPLIT_HINT, load, looks_split
from btfdedup.model.btf import Btf
from tests.conftest import FIXTURES
from tests.expected import PARSE_V16, rel
from tests.oracle.libbpf import Libbpf, find_bpftool

MODULES = FIXTURES / "modules"
SPLIT_FILES = sorted(MODULES.glob("*.btf"))
SPLIT_FILES = [p for p in SPLIT_FILES if ".distilled" not in p.name]


@pytest.fixture(scope="module")
def vmlinux61() -> Btf:
    return load(MODULES / "vmlinux-6.1.btf.xz")


def test_xz_base_matches_shared_corpus_bytes(vmlinux61: Btf) -> None:
    with lzma.open(MODULES / "vmlinux-6.1.btf.xz") as f:
        raw = f.read()
    assert vmlinux61.to_bytes() == raw and vmlinux61.nr_types == 95246


@pytest.mark.parametrize("suffix", ["", ".xz", ".zst", ".gz"])
def test_ko_variants(suffix: str, vmlinux61: Btf) -> None:
    path = MODULES / f"8021q.ko{suffix}"
    btf = load(path, base=vmlinux61)
    assert btf.to_bytes() == (MODULES / "8021q.btf").read_bytes()
    assert btf.source == str(path) and btf.base is vmlinux61
    with pytest.raises(BtfUsageError) as ei:
        load(path)
    assert f"{path.name} [.BTF]: split BTF (.ko module): pass --base vmlinux" in str(ei.value)
    assert SPLIT_HINT in str(ei.value)


def test_base_given_as_path() -> None:
    btf = load(MODULES / "veth.btf", base=str(MODULES / "vmlinux-6.1.btf.xz"))
    assert btf.start_id == 95247 and btf.to_bytes() == (MODULES / "veth.btf").read_bytes()


@pytest.mark.parametrize("path", SPLIT_FILES, ids=lambda p: p.name)
def test_raw_split_files(path: Path, vmlinux61: Btf) -> None:
    data = path.read_bytes()
    assert looks_split(data)
    with pytest.raises(BtfUsageError, match="pass --base vmlinux"):
        load(path)
    btf = load(path, base=vmlinux61)
    assert btf.to_bytes() == data


def _libbpf_split(lib: Libbpf, data: bytes, base: bytes) -> bytes:
    """``btf__new_split`` then ``btf__raw_data``."""
    with lib.parse(base) as bh, lib.parse(data, bh) as h:
        return lib.raw_data(h)


def test_split_matches_libbpf(vmlinux61: Btf) -> None:
    with lzma.open(MODULES / "vmlinux-6.1.btf.xz") as f:
        base_bytes = f.read()
    for path in SPLIT_FILES:
        data = path.read_bytes()
        ours = load(path, base=vmlinux61)
        PARSE_V16.check(f"{rel(path)} on corpora/modules/vmlinux-6.1.btf.xz::btf__new_split,btf__raw_data",
                        ours.to_bytes(), lambda lib, d=data: _libbpf_split(lib, d, base_bytes),  # type: ignore[misc]
                        inputs=[data, base_bytes])


def test_base_blobs_do_not_look_split() -> None:
    for p in sorted((FIXTURES / "cus").glob("*.btf"))[:5] + [FIXTURES / "host" / "enum64.btf"]:
        assert not looks_split(p.read_bytes()), p
    assert not looks_split(b"")
    assert not looks_split(b"\x9f\xeb\x01\x00")


def _compress(tool: list[str], data: bytes) -> bytes:
    exe = shutil.which(tool[0])
    if exe is None:
        pytest.skip(f"{tool[0]} not installed")
    return subprocess.run([exe, *tool[1:]], input=data, capture_output=True, check=True).stdout


@pytest.mark.parametrize("tool", [["xz", "-c"], ["zstd", "-c", "-q"], ["gzip", "-c", "-n"]], ids=lambda t: t[0])
def test_compressed_raw_and_elf(tool: list[str], tmp_path: Path) -> None:
    raw = (FIXTURES / "cus" / "cu1412.btf").read_bytes()
    obj = (FIXTURES / "bpf" / "types.bpf.o").read_bytes()
    for name, data in (("cu.btf", raw), ("types.o", obj)):
        p = tmp_path / (name + "." + tool[0])
        p.write_bytes(_compress(tool, data))
        got = load(p)
        assert got.to_bytes() == load(data).to_bytes()
        assert load(p.read_bytes()).to_bytes() == got.to_bytes()  # bytes input is decompressed too
    elf_btf = load(tmp_path / f"types.o.{tool[0]}")
    assert elf_btf.ext is not None


def test_bytes_input_raw_and_elf() -> None:
    raw = (FIXTURES / "cus" / "cu1413.btf").read_bytes()
    assert load(raw).to_bytes() == raw
    assert load(bytearray(raw)).to_bytes() == raw
    assert load(memoryview(raw)).to_bytes() == raw
    elf = load((FIXTURES / "bpf" / "maps.bpf.o").read_bytes())
    assert elf.ext is not None and elf.source == "<bytes>"


def test_unknown_format_and_missing_files(tmp_path: Path) -> None:
    p = tmp_path / "junk.bin"
    p.write_bytes(b"hello world, not BTF")
    with pytest.raises(BtfFormatError, match=r"junk.bin, offset 0x0: neither raw BTF"):
        load(p)
    with pytest.raises(BtfUsageError, match="no such file"):
        load(tmp_path / "absent.btf")
    with pytest.raises(BtfUsageError, match="is a directory"):
        load(tmp_path)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(BtfFormatError, match="neither raw BTF"):
        load(empty)


def test_corrupt_compressed_inputs(tmp_path: Path) -> None:
    good = lzma.compress((FIXTURES / "cus" / "cu1412.btf").read_bytes())
    cases = {
        "cut.xz": good[: len(good) // 2],
        "bad.gz": gzip.compress(b"\x9f\xeb" + b"\0" * 40)[:-9] + b"\xff" * 9,
        "bad.zst": b"\x28\xb5\x2f\xfd" + b"\xff" * 20,
    }
    for name, data in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(BtfFormatError, match=name):
            load(p)


def test_elf_errors_surface_as_elf_error(tmp_path: Path) -> None:
    p = tmp_path / "short.o"
    p.write_bytes((FIXTURES / "bpf" / "types.bpf.o").read_bytes()[:100])
    with pytest.raises(ElfError, match="short.o"):
        load(p)


# --------------------------------------------------------------- /sys/kernel/btf
def test_sysfs_module_gets_vmlinux_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file under the sysfs BTF directory is read on that directory's vmlinux
    (simulated with the 6.1 vmlinux and a module file in a temporary directory)."""
    d = tmp_path / "btf"
    d.mkdir()
    with lzma.open(MODULES / "vmlinux-6.1.btf.xz") as f:
        (d / "vmlinux").write_bytes(f.read())
    shutil.copy(MODULES / "8021q.btf", d / "8021q")
    monkeypatch.setattr(sysfs, "SYSFS_BTF_DIR", str(d))
    monkeypatch.setattr(sysfs, "VMLINUX_PATH", str(d / "vmlinux"))
    monkeypatch.setattr(sysfs, "_vmlinux_cache", {})
    assert sysfs.is_sysfs_module(str(d / "8021q")) and not sysfs.is_sysfs_module(str(d / "vmlinux"))
    btf = load(d / "8021q")
    assert btf.base is not None and btf.base.source == str(d / "vmlinux")
    assert btf.to_bytes() == (MODULES / "8021q.btf").read_bytes()
    assert load(d / "8021q").base is btf.base  # parsed once
    assert load(d / "vmlinux").base is None
    os.unlink(d / "vmlinux")
    monkeypatch.setattr(sysfs, "_vmlinux_cache", {})
    with pytest.raises(BtfUsageError, match="vmlinux: No such file"):
        load(d / "8021q")


def test_real_sysfs_vmlinux() -> None:
    path = Path(sysfs.VMLINUX_PATH)
    if not path.exists():
        pytest.skip("no /sys/kernel/btf/vmlinux on this machine")
    btf = load(path)
    assert btf.to_bytes() == path.read_bytes()
    # The running kernel's BTF differs between machines, so bpftool's view of it cannot
    # be committed; it is compared where bpftool is installed.
    bpftool = find_bpftool()
    if bpftool is not None:
        out = subprocess.run([bpftool, "btf", "dump", "file", str(path)], capture_output=True, text=True, check=True)
        last = [ln for ln in out.stdout.splitlines() if ln.startswith("[")][-1]
        assert int(last[1 : last.index("]")]) == btf.type_cnt - 1


def test_real_sysfs_modules() -> None:
    mods = (
        [p for p in Path(sysfs.SYSFS_BTF_DIR).glob("*") if p.name != "vmlinux"]
        if Path(sysfs.SYSFS_BTF_DIR).is_dir()
        else []
    )
    if not mods:
        pytest.skip("no module BTF under /sys/kernel/btf (no modules with BTF loaded)")
    for m in mods[:10]:
        btf = load(m)
        assert btf.base is not None and btf.to_bytes() == m.read_bytes()


_DECOMPRESS = {"xz": ["xz", "-dc"], "zstd": ["zstd", "-dc", "-q"], "gzip": ["gzip", "-dc"]}
_COMPRESS = {"xz": ["xz", "-c"], "zstd": ["zstd", "-c", "-q"], "gzip": ["gzip", "-c", "-n"]}


@pytest.mark.parametrize("kind", ["xz", "zstd", "gzip"])
def test_decompression_agrees_with_the_cli_tools(kind: str) -> None:
    """Concatenated streams, zero padding, truncation and trailing garbage:
    we produce what ``<tool> -dc`` prints, and fail where it fails."""
    from btfdedup.io.compressed import maybe_decompress

    a = (FIXTURES / "cus" / "cu1412.btf").read_bytes()
    b = (FIXTURES / "modules" / "8021q.ko").read_bytes()
    ca, cb = _compress(_COMPRESS[kind], a), _compress(_COMPRESS[kind], b)
    exe = shutil.which(_DECOMPRESS[kind][0])
    assert exe is not None
    cases = {
        "single": ca,
        "concatenated": ca + cb,
        "truncated": ca[: len(ca) // 2],
        "cut-last-byte": ca[:-1],
        "garbage": ca + b"garbage!",
    }
    if kind != "gzip":  # gzip(1) warns about trailing zeros but still succeeds with exit status 2
        cases["zero-padded"] = ca + b"\0" * 8
        cases["zero-padded-3"] = ca + b"\0" * 3
    for label, data in cases.items():
        ref = subprocess.run([exe, *_DECOMPRESS[kind][1:]], input=data, capture_output=True)
        try:
            got = maybe_decompress(data, label)
        except BtfFormatError as e:
            assert ref.returncode != 0, (label, str(e))
            assert label in str(e)
            continue
        assert ref.returncode == 0, label
        assert got == ref.stdout, label
