"""parse -> write is byte-identical for every committed fixture and, under
``-m corpus``, for every file of the big corpora.

References: raw files are the bytes pahole / the kernel / libbpf produced;
ELF sections are what ``llvm-objcopy --dump-section`` extracts; a sample is
also re-serialised by libbpf v1.6 (``btf__raw_data``) for comparison, its outputs
committed in ``tests/expected/parse_v16.json`` so that check runs without it too."""

from __future__ import annotations

import lzma
import tarfile
from pathlib import Path

import pytest

from btfdedup.io.load import load
from btfdedup.io.raw import parse_raw
from btfdedup.model.btf import Btf
from tests._elf_tools import dump_section
from tests.conftest import FIXTURES
from tests.expected import PARSE_V16, rel
from tests.oracle.libbpf import Libbpf, oracle_or_skip

MODULES = FIXTURES / "modules"
#: Suffixes of BTF inputs under corpora/ (sources, scripts and docs are skipped).
INPUT_SUFFIXES = {".btf", ".o", ".ko", ".xz", ".zst", ".gz"}


def _xz(path: Path) -> bytes:
    with lzma.open(path) as f:
        return f.read()


@pytest.fixture(scope="module")
def vmlinux61() -> Btf:
    return parse_raw(_xz(MODULES / "vmlinux-6.1.btf.xz"))


def _inputs() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix in INPUT_SUFFIXES)


def _classify(path: Path) -> str:
    name = path.name
    if name.endswith((".o", ".ko")) or ".ko." in name:
        return "elf"
    if path.parent == MODULES and name.endswith(".btf") and name != "8021q.distilled.base.btf":
        return "split"
    return "raw"


def test_every_fixture_is_classified() -> None:
    kinds = {p.name: _classify(p) for p in _inputs()}
    assert kinds["vmlinux-6.18.btf.xz"] == "raw" and kinds["8021q.ko.zst"] == "elf" and kinds["sunrpc.btf"] == "split"
    assert sum(k == "elf" for k in kinds.values()) >= 20
    assert sum(k == "split" for k in kinds.values()) >= 8


@pytest.mark.parametrize("path", _inputs(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_round_trip(path: Path, vmlinux61: Btf, tmp_path: Path) -> None:
    kind = _classify(path)
    if kind == "elf":
        base = vmlinux61 if path.name.startswith("8021q.ko") else None
        btf = load(path, base=base)
        elf_path = path
        if path.suffix in (".xz", ".zst", ".gz"):
            elf_path = tmp_path / path.stem
            elf_path.write_bytes(load_decompressed(path))
        assert btf.to_bytes() == dump_section(elf_path, ".BTF", tmp_path)
        ext = dump_section(elf_path, ".BTF.ext", tmp_path)
        assert (btf.ext.to_bytes() if btf.ext is not None else None) == ext
        return
    raw = _xz(path) if path.suffix == ".xz" else path.read_bytes()
    if kind == "split":
        base = (
            parse_raw(path.with_name("8021q.distilled.base.btf").read_bytes())
            if ".distilled" in path.name
            else vmlinux61
        )
        btf = load(path, base=base)
    else:
        btf = load(path)
    assert btf.to_bytes() == raw


def load_decompressed(path: Path) -> bytes:
    from btfdedup.io.compressed import maybe_decompress

    return maybe_decompress(path.read_bytes(), str(path))


def _reserialised(lib: Libbpf, data: bytes, base: bytes | None = None) -> bytes:
    """``btf__new``/``btf__new_split`` then ``btf__raw_data``: libbpf's own bytes for ``data``."""
    if base is None:
        with lib.parse(data) as h:
            return lib.raw_data(h)
    with lib.parse(base) as bh, lib.parse(data, bh) as h:
        return lib.raw_data(h)


def test_libbpf_reserialises_fixtures_identically(vmlinux61: Btf) -> None:
    raw61 = _xz(MODULES / "vmlinux-6.1.btf.xz")
    on61 = " on corpora/modules/vmlinux-6.1.btf.xz"
    PARSE_V16.check(f"{rel(MODULES / 'vmlinux-6.1.btf.xz')}::btf__new,btf__raw_data", vmlinux61.to_bytes(),
                    lambda lib: _reserialised(lib, raw61), inputs=raw61)
    for p in sorted(MODULES.glob("*.btf")):
        if ".distilled" in p.name:
            continue
        data = p.read_bytes()
        PARSE_V16.check(f"{rel(p)}{on61}::btf__new_split,btf__raw_data", load(p, base=vmlinux61).to_bytes(),
                        lambda lib, d=data: _reserialised(lib, d, raw61),  # type: ignore[misc]
                        inputs=[data, raw61])
    for p in sorted((FIXTURES / "cus").glob("*.btf")) + [FIXTURES / "host" / "enum64.btf"]:
        data = p.read_bytes()
        PARSE_V16.check(f"{rel(p)}::btf__new,btf__raw_data", load(p).to_bytes(),
                        lambda lib, d=data: _reserialised(lib, d),  # type: ignore[misc]
                        inputs=data)
    raw618 = _xz(FIXTURES / "vmlinux-6.18.btf.xz")
    PARSE_V16.check(f"{rel(FIXTURES / 'vmlinux-6.18.btf.xz')}::btf__new,btf__raw_data", parse_raw(raw618).to_bytes(),
                    lambda lib: _reserialised(lib, raw618), inputs=raw618)


# ------------------------------------------------------------- big corpora
@pytest.fixture(scope="module")
def extracted(corpora_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """split.tar.xz and cus.tar.xz unpacked once into a temporary directory."""
    out = tmp_path_factory.mktemp("corpora")
    for tar in (corpora_dir / "modules-6.1" / "split.tar.xz", corpora_dir / "vmlinux-6.1-raw" / "cus.tar.xz"):
        with tarfile.open(tar) as tf:
            tf.extractall(out, filter="data")
    return out


@pytest.mark.corpus
def test_corpus_split_modules(corpora_dir: Path, extracted: Path) -> None:
    base = parse_raw((corpora_dir / "modules-6.1" / "vmlinux.btf").read_bytes())
    assert base.to_bytes() == (corpora_dir / "modules-6.1" / "vmlinux.btf").read_bytes()
    files = sorted((extracted / "split").glob("*.btf"))
    assert len(files) == 1121
    for p in files:
        data = p.read_bytes()
        assert parse_raw(data, base=base, source=str(p)).to_bytes() == data, p.name


@pytest.mark.corpus
def test_corpus_cus(extracted: Path) -> None:
    files = sorted((extracted / "cus").glob("*.btf"))
    assert len(files) == 2172
    for p in files:
        data = p.read_bytes()
        assert parse_raw(data, source=str(p)).to_bytes() == data, p.name


@pytest.mark.corpus
def test_corpus_vmlinux_raw(corpora_dir: Path) -> None:
    data = _xz(corpora_dir / "vmlinux-6.1-raw" / "vmlinux-raw.btf.xz")
    btf = parse_raw(data)
    assert btf.nr_types == 3408970
    assert btf.to_bytes() == data


@pytest.mark.corpus
def test_corpus_vmlinux_618(corpora_dir: Path) -> None:
    data = _xz(corpora_dir / "vmlinux-6.18.btf.xz")
    btf = parse_raw(data)
    assert btf.nr_types == 126585 and btf.to_bytes() == data


@pytest.mark.corpus
def test_corpus_reference_outputs(corpora_dir: Path) -> None:
    """The libbpf dedup outputs shipped with the corpora round-trip too."""
    base = parse_raw((corpora_dir / "modules-6.1" / "vmlinux.btf").read_bytes())
    for p in sorted(corpora_dir.rglob("*.libbpf.btf")):
        data = p.read_bytes()
        split = p.name.startswith("modules-all")
        assert parse_raw(data, base=base if split else None).to_bytes() == data, p.name


@pytest.mark.corpus
def test_corpus_bpf_objects(corpora_dir: Path, tmp_path: Path) -> None:
    objs = sorted((corpora_dir / "bpf-objects").glob("*/*.o"))
    assert len(objs) == 75
    lib = oracle_or_skip("v16")
    for obj in objs:
        btf = load(obj)
        assert btf.to_bytes() == dump_section(obj, ".BTF", tmp_path), obj.name
        ext = dump_section(obj, ".BTF.ext", tmp_path)
        assert btf.ext is not None and btf.ext.to_bytes() == ext, obj.name
        h, eh = lib.parse_elf(obj)
        with h:
            assert lib.raw_data(h) == btf.to_bytes()
        if eh is not None:
            with eh:
                assert lib.btf_ext_raw_data(eh) == ext
