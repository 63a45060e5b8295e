"""Real BTF is accepted: what the kernel itself accepts, we accept (and vice versa where it can be asked).

Default tests use the committed fixtures; ``corpus``-marked ones the big
corpora (every module split file on its base, the libbpf-deduplicated
whole-kernel outputs, the running kernel's own vmlinux).
"""

from __future__ import annotations

import lzma
from pathlib import Path

import pytest

from btfdedup.io.raw import parse_raw
from btfdedup.verifier import validate
from tests._kernel_probe import kernel_verdict, probe_skip_reason
from tests.conftest import FIXTURES

MODULES = FIXTURES / "modules"


@pytest.fixture(scope="module")
def base61():  # type: ignore[no-untyped-def]
    return parse_raw(lzma.decompress((MODULES / "vmlinux-6.1.btf.xz").read_bytes()))


def _kernel_accepts(blob: bytes) -> bool | None:
    if probe_skip_reason():
        return None
    return kernel_verdict(blob)[0]


@pytest.mark.parametrize("path", sorted((FIXTURES / "cus").glob("*.btf")), ids=lambda p: p.name)
def test_cu_files_accepted(path: Path) -> None:
    blob = path.read_bytes()
    assert validate(blob) == []
    assert _kernel_accepts(blob) in (True, None)


def test_vmlinux_618_accepted() -> None:
    blob = lzma.decompress((FIXTURES / "vmlinux-6.18.btf.xz").read_bytes())
    assert validate(blob) == []
    assert _kernel_accepts(blob) in (True, None)


def test_vmlinux_61_base_accepted(base61) -> None:  # type: ignore[no-untyped-def]
    blob = lzma.decompress((MODULES / "vmlinux-6.1.btf.xz").read_bytes())
    assert validate(blob) == []
    assert _kernel_accepts(blob) in (True, None)


@pytest.mark.parametrize(
    "name",
    [p.name for p in sorted(MODULES.glob("*.btf")) if "distilled" not in p.name],
)
def test_module_split_files_on_base(base61, name: str) -> None:  # type: ignore[no-untyped-def]
    blob = (MODULES / name).read_bytes()
    assert validate(blob, base=base61) == []


def test_distilled_module_on_its_distilled_base() -> None:
    base = (MODULES / "8021q.distilled.base.btf").read_bytes()
    assert validate(base) == []
    assert validate((MODULES / "8021q.distilled.btf").read_bytes(), base=base) == []


def test_host_enum64() -> None:
    blob = (FIXTURES / "host" / "enum64.btf").read_bytes()
    assert validate(blob) == []
    assert _kernel_accepts(blob) in (True, None)


# ---------------------------------------------------------------------------------- big corpora
@pytest.mark.corpus
def test_running_kernel_vmlinux() -> None:
    path = Path("/sys/kernel/btf/vmlinux")
    if not path.exists():
        pytest.skip("no /sys/kernel/btf/vmlinux")
    blob = path.read_bytes()
    assert validate(blob) == []
    assert _kernel_accepts(blob) in (True, None)


@pytest.mark.corpus
def test_dedup_reference_outputs(corpora_dir: Path) -> None:
    outs = sorted((corpora_dir / "vmlinux-6.1-raw").glob("*.libbpf.btf"))
    assert outs
    for p in outs:
        blob = p.read_bytes()
        assert validate(blob) == [], p
        assert _kernel_accepts(blob) in (True, None), p


@pytest.mark.corpus
def test_bpf_object_dedup_outputs_match_kernel(corpora_dir: Path) -> None:
    """Deduplicated BPF-object BTF keeps the objects' size-0 DATASECs: rejected, by the kernel too."""
    outs = sorted((corpora_dir / "bpf-objects").glob("*.libbpf.btf"))
    assert outs
    if probe_skip_reason():
        pytest.skip(f"no kernel oracle: {probe_skip_reason()}")
    for p in outs:
        blob = p.read_bytes()
        ok, err, log = kernel_verdict(blob)
        problems = validate(blob)
        assert ok == (not problems), p
        if problems:
            assert problems[0].errno == err
            assert log.rstrip().split("\n")[-1].endswith(problems[0].reason), p


@pytest.mark.corpus
def test_all_module_split_files(corpora_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    import tarfile

    base = parse_raw((corpora_dir / "modules-6.1" / "vmlinux.btf").read_bytes())
    assert validate((corpora_dir / "modules-6.1" / "vmlinux.btf").read_bytes()) == []
    assert validate((corpora_dir / "modules-6.1" / "modules-all-dedup.libbpf.btf").read_bytes(), base=base) == []
    checked = 0
    with tarfile.open(corpora_dir / "modules-6.1" / "split.tar.xz") as tar:
        for member in tar:
            f = tar.extractfile(member) if member.isfile() else None
            if f is None or not member.name.endswith(".btf"):
                continue
            assert validate(f.read(), base=base) == [], member.name
            checked += 1
    assert checked > 1000
