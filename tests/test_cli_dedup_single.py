"""``btfdedup dedup ONE_INPUT`` deduplicates the input as it is, without the merge's copy.

The command's contract is libbpf's ``btf__new_empty()`` + ``btf__add_btf(input)`` +
``btf__dedup``.  For one standalone input without a base, the workflow skips the
copy (:func:`btfdedup.workflows.dedup.unmerged_input`); these tests hold that path to
the libbpf v1.6 bytes of the merge path (committed in tests/expected/dedup_v16.json,
and live where the pylibbpf wheel is installed), with the merge itself made to fail so
that a test cannot pass by falling back to it.  For little-endian inputs libbpf's own
``btf__new`` + ``btf__dedup`` of the input is checked to give those very bytes too: the
identity the shortcut rests on.  Big-endian inputs and inputs with a longer header show
the relabelled path: the merge writes native byte order and a 24-byte header.
"""

from __future__ import annotations

import glob
import lzma
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from btfdedup.append import NATIVE_BYTEORDER, merge
from btfdedup.bpfobj.open import open_object_file
from btfdedup.cli.main import main
from btfdedup.engine import dedup
from btfdedup.format.constants import BTF_HDR_LEN_CLASSIC
from btfdedup.io.elf import find_btf_sections
from btfdedup.io.load import load
from btfdedup.model.btf import Btf
from btfdedup.workflows import dedup as dedup_workflow
from btfdedup.workflows.dedup import unmerged_input
from tests.conftest import FIXTURES
from tests.expected import DEDUP_V16, case_key, rel
from tests.oracle.libbpf import Libbpf

CUS = sorted(glob.glob(str(FIXTURES / "cus" / "*.btf")))
OBJECTS = sorted(glob.glob(str(FIXTURES / "bpf" / "*.o")) + glob.glob(str(FIXTURES / "bpf-objects" / "*.o")))
BASES = [str(FIXTURES / "modules" / "vmlinux-6.1.btf.xz"), str(FIXTURES / "vmlinux-6.18.btf.xz")]


def _no_merge(*_args: Any, **_kwargs: Any) -> Btf:
    raise AssertionError("one standalone input must be deduplicated without the merge")


@pytest.fixture
def merge_forbidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dedup_workflow, "merge", _no_merge)


def _raw_btf(path: str) -> bytes:
    """The raw BTF a fixture holds: an ELF's ``.BTF`` section, else the file,
    decompressed."""
    data = Path(path).read_bytes()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if data[:4] == b"\x7fELF":
        sec = find_btf_sections(data, path).btf
        assert sec is not None
        return bytes(sec.data)
    return data


def _judge_input(lib: Libbpf, path: str) -> bytes:
    """What libbpf reads from the fixture: ``btf__parse_elf``'s ``.BTF`` of an ELF."""
    if Path(path).read_bytes()[:4] != b"\x7fELF":
        return _raw_btf(path)
    h, _ = lib.parse_elf(path, want_ext=False)
    with h:
        return lib.raw_data(h)


def _dedup_one(tmp_path: Path, path: str) -> bytes:
    out = tmp_path / "out.btf"
    assert main(["dedup", path, "-o", str(out)]) == 0
    return out.read_bytes()


def _check(path: str, ours: bytes, raw: bytes) -> None:
    """``ours`` against libbpf v1.6's merge of the one input, then dedup; for a
    little-endian input with the classic header also against its dedup of the input
    itself."""
    DEDUP_V16.check(f"{rel(path)}::one input,add_btf,dedup", ours,
                    lambda lib: lib.merge_dedup_bytes([_judge_input(lib, path)]), inputs=[raw])
    if raw[:2] == b"\x9f\xeb" and struct.unpack_from("<I", raw, 4)[0] == BTF_HDR_LEN_CLASSIC:
        DEDUP_V16.check(f"{rel(path)}::one input,btf__new,dedup", ours,
                        lambda lib: lib.dedup_bytes(_judge_input(lib, path)), inputs=[raw])


@pytest.mark.parametrize("path", CUS, ids=[Path(p).name for p in CUS])
def test_cu_without_merge(tmp_path: Path, path: str, merge_forbidden: None) -> None:
    _check(path, _dedup_one(tmp_path, path), _raw_btf(path))


@pytest.mark.parametrize("path", OBJECTS, ids=[Path(p).name for p in OBJECTS])
def test_object_without_merge(tmp_path: Path, path: str, merge_forbidden: None) -> None:
    """BPF objects, the big-endian ``*.bpfeb.o`` included (written little-endian, as
    the merge into ``btf__new_empty()`` does on this host)."""
    ours = _dedup_one(tmp_path, path)
    assert ours[:2] == (b"\x9f\xeb" if NATIVE_BYTEORDER == "<" else b"\xeb\x9f")
    _check(path, ours, _raw_btf(path))


@pytest.mark.parametrize("path", BASES, ids=[Path(p).name for p in BASES])
def test_kernel_btf_without_merge(tmp_path: Path, path: str, merge_forbidden: None) -> None:
    """Whole (already deduplicated) kernel BTF, compressed: 95 k and 127 k types."""
    _check(path, _dedup_one(tmp_path, path), _raw_btf(path))


FINALIZABLE = [str(FIXTURES / "bpf" / n) for n in ("fwd_user.bpf.o", "maps.bpf.o", "types.bpf.o", "open_rules.bpf.o")]


@pytest.mark.parametrize("path", FINALIZABLE, ids=[Path(p).name for p in FINALIZABLE])
def test_finalized_object_without_merge(tmp_path: Path, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--finalize-datasec`` with one object: the bytes of the merge path (object
    open, then ``btf__add_btf`` into a fresh BTF, then dedup), which the object-open
    tests hold to libbpf for lists of objects."""
    want = dedup(merge([open_object_file(path)])).btf.to_bytes()
    monkeypatch.setattr(dedup_workflow, "merge", _no_merge)
    out = tmp_path / "out.btf"
    assert main(["dedup", "--finalize-datasec", path, "-o", str(out)]) == 0
    assert out.read_bytes() == want


def _with_header(raw: bytes, hdr_len: int) -> bytes:
    """``raw`` (24-byte little-endian header) with its header grown to ``hdr_len``
    zero-filled bytes, sections moved along."""
    return raw[:4] + struct.pack("<I", hdr_len) + raw[8:24] + bytes(hdr_len - 24) + raw[24:]


@pytest.mark.parametrize("hdr_len", [28, 32])
def test_longer_header_without_merge(tmp_path: Path, hdr_len: int, merge_forbidden: None) -> None:
    """A header longer than 24 bytes (zero-filled: the layout fields, or padding) is
    read, and the output has the merge's 24-byte header."""
    raw = _with_header(Path(CUS[3]).read_bytes(), hdr_len)
    src = tmp_path / "long-header.btf"
    src.write_bytes(raw)
    ours = _dedup_one(tmp_path, str(src))
    assert struct.unpack_from("<I", ours, 4)[0] == BTF_HDR_LEN_CLASSIC
    DEDUP_V16.check(case_key("one input,add_btf,dedup"), ours, lambda lib: lib.merge_dedup_bytes([raw]), inputs=[raw])


def test_big_endian_raw_without_merge(tmp_path: Path, merge_forbidden: None) -> None:
    """A raw big-endian blob (a CU written big-endian) comes out native, like the merge."""
    le = load(CUS[5])
    be = Btf(le.words, le.type_start, le.strings, byteorder=">").to_bytes()
    assert be[:2] == b"\xeb\x9f"
    src = tmp_path / "be.btf"
    src.write_bytes(be)
    ours = _dedup_one(tmp_path, str(src))
    DEDUP_V16.check(case_key("one input,add_btf,dedup"), ours, lambda lib: lib.merge_dedup_bytes([be]), inputs=[be])
    assert ours == _dedup_one(tmp_path, CUS[5])


def test_unmerged_input_is_the_input() -> None:
    """A parsed little-endian blob is deduplicated as the very object."""
    btf = load(CUS[0])
    assert unmerged_input([btf], None) is btf


def test_unmerged_input_relabels_without_copying() -> None:
    """Big-endian: a new object with the merge's header over the same arrays."""
    be = load(str(FIXTURES / "bpf" / "types.bpfeb.o"))
    got = unmerged_input([be], None)
    assert got is not None and got is not be
    assert (got.byteorder, got.hdr_len, got.version, got.strs_deduped, got.base, got.layout) == (
        NATIVE_BYTEORDER, BTF_HDR_LEN_CLASSIC, 1, False, None, b"")
    assert got.words is be.words and got.type_start is be.type_start and got.strings is be.strings


def test_unmerged_input_runs_the_strings_phase() -> None:
    """An input that says its strings are deduplicated (built by the add-APIs) still
    gets the strings phase, which rebuilds the merge's string set from the contents."""
    btf = load(CUS[1])
    btf.strs_deduped = True
    got = unmerged_input([btf], None)
    assert got is not None and got is not btf and got.strs_deduped is False


def test_unmerged_input_refuses_what_the_merge_changes(tmp_path: Path) -> None:
    """Two inputs, a base, split input and a layout section all go through the merge."""
    a, b = load(CUS[0]), load(CUS[1])
    base = load(BASES[0])
    veth = load(str(FIXTURES / "modules" / "veth.btf"), base=base)
    laid = Btf(a.words, a.type_start, a.strings, hdr_len=32, layout=np.zeros(4 * 20, dtype=np.uint8).tobytes())
    assert unmerged_input([a, b], None) is None
    assert unmerged_input([a], base) is None
    assert unmerged_input([veth], None) is None
    assert unmerged_input([veth], base) is None
    assert unmerged_input([laid], None) is None
    assert unmerged_input([], None) is None


def test_several_inputs_still_merge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shortcut is for one input only: two go through the merge."""
    calls: list[int] = []
    real = dedup_workflow.merge

    def counting(btfs: Any, base: Any, **kw: Any) -> Btf:
        calls.append(len(btfs))
        return real(btfs, base, **kw)

    monkeypatch.setattr(dedup_workflow, "merge", counting)
    out = tmp_path / "out.btf"
    assert main(["dedup", CUS[0], CUS[1], "-o", str(out)]) == 0
    assert calls == [2]


@pytest.mark.corpus
def test_vmlinux_raw_without_merge(corpora_dir: Path, tmp_path: Path, merge_forbidden: None) -> None:
    """The whole undeduplicated 6.1 kernel (3,408,970 types, xz-compressed input):
    libbpf's bytes, which the corpus's reference also is (its btf__dedup of the blob)."""
    d = corpora_dir / "vmlinux-6.1-raw"
    ours = _dedup_one(tmp_path, str(d / "vmlinux-raw.btf.xz"))
    assert ours == (d / "vmlinux-dedup.libbpf.btf").read_bytes()
