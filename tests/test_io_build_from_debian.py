"""``corpora/build_from_debian.py`` without the network: its extraction steps on
committed fixtures, and the whole pipeline on a hand-made ``.deb``.

The fake package holds what a Debian kernel image package holds: a compressed
``boot/vmlinuz-<kver>`` whose payload is an ELF vmlinux carrying the real 6.1
vmlinux ``.BTF`` (``corpora/modules/vmlinux-6.1.btf.xz``), and
``lib/modules/<kver>/kernel/...`` with the committed ``8021q.ko`` (plain and
xz-compressed, as distributions ship modules) and a broken module.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import lzma
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from btfdedup import load
from btfdedup.io.raw import parse_raw

from .conftest import FIXTURES

SCRIPT = FIXTURES / "build_from_debian.py"
KO = FIXTURES / "modules" / "8021q.ko"
KO_XZ = FIXTURES / "modules" / "8021q.ko.xz"
KO_BTF = FIXTURES / "modules" / "8021q.btf"
BASE_61 = FIXTURES / "modules" / "vmlinux-6.1.btf.xz"
HOST_O = FIXTURES / "host" / "enum64.o"
KVER = "6.1.0-99-test-amd64"


def _need(*paths: Path) -> None:
    for p in paths:
        if not p.exists():
            pytest.skip(f"committed fixture missing: {p}")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed")
    return path


@pytest.fixture(scope="module")
def bfd() -> ModuleType:
    _need(SCRIPT)
    spec = importlib.util.spec_from_file_location("build_from_debian", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["build_from_debian"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def base_raw() -> bytes:
    _need(BASE_61)
    return lzma.decompress(BASE_61.read_bytes())


def _vmlinux_elf(tmp_path: Path, btf: bytes) -> bytes:
    """A small ELF whose .BTF is ``btf`` (the committed host object, .BTF replaced)."""
    _need(HOST_O)
    objcopy = shutil.which("llvm-objcopy") or shutil.which("objcopy")
    if objcopy is None:
        pytest.skip("llvm-objcopy/objcopy not installed")
    (tmp_path / "base.btf").write_bytes(btf)
    out = tmp_path / "vmlinux"
    subprocess.run([objcopy, f"--update-section=.BTF={tmp_path / 'base.btf'}", str(HOST_O), str(out)], check=True)
    return out.read_bytes()


def _module_tree(root: Path) -> Path:
    _need(KO, KO_XZ, KO_BTF)
    mods = root / "lib" / "modules" / KVER / "kernel"
    (mods / "net" / "8021q").mkdir(parents=True)
    shutil.copy(KO, mods / "net" / "8021q" / "8021q.ko")
    (mods / "drivers").mkdir()
    shutil.copy(KO_XZ, mods / "drivers" / "vlan_xz.ko.xz")
    (mods / "drivers" / "broken.ko").write_bytes(b"\x7fELF" + b"\0" * 60)
    (mods / "drivers" / "README").write_text("not a module")
    return mods


def test_btf_section_of_committed_objects(bfd: ModuleType) -> None:
    _need(KO, KO_BTF, HOST_O)
    assert bfd.btf_section(KO.read_bytes(), str(KO)) == KO_BTF.read_bytes()
    host = bfd.btf_section(HOST_O.read_bytes(), str(HOST_O))
    assert host is not None and parse_raw(host).to_bytes() == host


def test_extract_modules_writes_shipped_sections(bfd: ModuleType, base_raw: bytes, tmp_path: Path) -> None:
    base = parse_raw(base_raw, source="vmlinux-6.1.btf")
    _module_tree(tmp_path)
    res = bfd.extract_modules(tmp_path, KVER, base, tmp_path / "split")
    assert res.written == ["8021q.btf", "vlan_xz.btf"]
    for name in res.written:
        assert (tmp_path / "split" / name).read_bytes() == KO_BTF.read_bytes()
    assert list(res.skipped) == [f"lib/modules/{KVER}/kernel/drivers/broken.ko"]
    assert "ElfError" in res.skipped[f"lib/modules/{KVER}/kernel/drivers/broken.ko"]
    assert res.types == 2 * load(str(KO_BTF), base=base).nr_types


@pytest.mark.parametrize("how", ["gzip", "xz", "zstd", "lz4"])
def test_vmlinux_from_compressed_kernel_image(bfd: ModuleType, how: str, tmp_path: Path) -> None:
    """A bzImage-like file: setup code, false magic matches, then the compressed ELF."""
    _need(HOST_O)
    elf = HOST_O.read_bytes()
    if how == "gzip":
        payload = gzip.compress(elf)
    elif how == "xz":
        payload = lzma.compress(elf, preset=1)
    elif how == "zstd":
        zstandard = pytest.importorskip("zstandard")
        payload = zstandard.ZstdCompressor().compress(elf)
    else:
        lz4 = _tool("lz4")
        (tmp_path / "vmlinux").write_bytes(elf)
        subprocess.run([lz4, "-l", "-q", "-f", str(tmp_path / "vmlinux"), str(tmp_path / "v.lz4")], check=True)
        payload = (tmp_path / "v.lz4").read_bytes()
    junk = b"MZ" + b"\x90" * 500 + b"\x1f\x8b\x08 not gzip" + b"\xfd7zXZ\x00 not xz" + b"BZh9 nope" + b"\0" * 100
    image = junk + payload + b"\0" * 64
    out, found = bfd.vmlinux_from_vmlinuz(image)
    assert out == elf and found == how
    with pytest.raises(bfd.BuildError, match="no ELF vmlinux"):
        bfd.vmlinux_from_vmlinuz(junk)


def test_whole_pipeline_on_a_local_deb(bfd: ModuleType, base_raw: bytes, tmp_path: Path) -> None:
    dpkg_deb = _tool("dpkg-deb")
    pkg = tmp_path / "pkg"
    (pkg / "DEBIAN").mkdir(parents=True)
    (pkg / "DEBIAN" / "control").write_text(
        f"Package: linux-image-{KVER}\nVersion: 6.1.999-1\nArchitecture: amd64\n"
        "Maintainer: test <test@invalid>\nDescription: fake kernel image for tests\n"
    )
    (pkg / "boot").mkdir()
    elf = _vmlinux_elf(tmp_path, base_raw)
    (pkg / "boot" / f"vmlinuz-{KVER}").write_bytes(b"MZ" + b"\0" * 1000 + lzma.compress(elf, preset=1))
    _module_tree(pkg)
    deb = tmp_path / "linux-image.deb"
    subprocess.run([dpkg_deb, "--build", "--root-owner-group", str(pkg), str(deb)], check=True, capture_output=True)

    out = tmp_path / "out"
    assert bfd.main(["--out", str(out), "--deb", str(deb), "--tar"]) == 0
    assert (out / f"vmlinux-{KVER}.btf").read_bytes() == base_raw
    mdir = out / f"modules-{KVER}"
    assert (mdir / "vmlinux.btf").read_bytes() == base_raw
    assert (mdir / "split" / "8021q.btf").read_bytes() == KO_BTF.read_bytes()
    assert (mdir / "split" / "list.txt").read_text() == "8021q.btf\nvlan_xz.btf\n"
    assert (mdir / "split_list.txt").read_text() == "split/8021q.btf\nsplit/vlan_xz.btf\n"
    assert (mdir / "split.tar.xz").stat().st_size > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kernel_version"] == KVER
    assert manifest["packages"][0]["package"] == f"linux-image-{KVER}"
    assert manifest["packages"][0]["version"] == "6.1.999-1"
    assert manifest["vmlinux"]["types"] == parse_raw(base_raw).nr_types
    assert manifest["vmlinux"]["from"] == f"extracted from vmlinuz-{KVER} (xz)"
    assert manifest["modules"]["count"] == 2 and len(manifest["modules"]["skipped"]) == 1
    # The products load with btfdedup and libbpf's tool agrees they are BTF.
    split = load(str(mdir / "split" / "8021q.btf"), base=str(out / f"vmlinux-{KVER}.btf"))
    assert split.start_id == manifest["vmlinux"]["types"] + 1


def test_cli_errors_are_one_line(bfd: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bfd.main(["--out", str(tmp_path / "o"), "--deb", str(tmp_path / "missing.deb")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("build_from_debian: error: ")


def test_pahole_with_dedup_switched_off(bfd: ModuleType, tmp_path: Path) -> None:
    """The --raw mechanism: pahole with btf__dedup turned into a no-op keeps one
    copy of a shared struct per compilation unit; plain pahole keeps one."""
    pahole, cc, ld = _tool("pahole"), _tool("cc"), _tool("ld")
    src = "struct shared { int a; long b; };\n"
    (tmp_path / "a.c").write_text(src + "struct shared *fa(struct shared *p) { return p; }\n")
    (tmp_path / "b.c").write_text(src + "int fb(struct shared *p) { return p->a; }\n")
    for n in ("a", "b"):
        subprocess.run([cc, "-g", "-O2", "-c", str(tmp_path / f"{n}.c"), "-o", str(tmp_path / f"{n}.o")], check=True)
    subprocess.run([ld, "-r", str(tmp_path / "a.o"), str(tmp_path / "b.o"), "-o", str(tmp_path / "ab.o")], check=True)
    subprocess.run([pahole, f"--btf_encode_detached={tmp_path / 'dedup.btf'}", str(tmp_path / "ab.o")], check=True)
    bfd.pahole_raw_btf(tmp_path / "ab.o", tmp_path / "raw.btf", tmp_path)
    dedup, raw = load(str(tmp_path / "dedup.btf")), load(str(tmp_path / "raw.btf"))
    assert len(raw.find_by_name("shared")) == 2
    assert len(dedup.find_by_name("shared")) == 1
    assert raw.nr_types > dedup.nr_types
