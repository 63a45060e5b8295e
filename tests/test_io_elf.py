"""ELF reading (.o, .ko, pahole-encoded objects, distilled .BTF.base), judged
against llvm-objcopy's section bytes and libbpf v1.6's btf__parse_elf (its outputs
committed in ``tests/expected/parse_v16.json``, so those checks run without it too)."""

from __future__ import annotations

import lzma
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from btfdedup.errors import BtfError, BtfExtFormatError, BtfUsageError, ElfError
from btfdedup.io.elf import find_btf_sections, load_elf
from btfdedup.io.raw import parse_raw
from tests._elf_tools import dump_section, objcopy, patch_section_header, set_section_type, tool_or_skip
from tests.conftest import FIXTURES
from tests.expected import PARSE_V16, case_key, rel
from tests.oracle.libbpf import Libbpf

BPF_OBJECTS = sorted((FIXTURES / "bpf").glob("*.o")) + sorted((FIXTURES / "bpf-objects").glob("*.o"))
HOST_OBJECT = FIXTURES / "host" / "enum64.o"
MODULES = FIXTURES / "modules"
KO = MODULES / "8021q.ko"
DISTILLED_KO = MODULES / "8021q.distilled.ko"
SHT_NOBITS = 8


def _parse_elf(lib: Libbpf, path: Path, base: bytes | None = None, *, ext: bool = False) -> bytes:
    """libbpf's ``btf__parse_elf[_split]`` of ``path``: its ``.BTF`` bytes, or with ``ext``
    its ``.BTF.ext`` bytes (empty when it found none)."""
    if base is None:
        h, eh = lib.parse_elf(path, want_ext=ext)
    else:
        bh = lib.parse(base)
        h, eh = lib.parse_elf(path, bh)
    try:
        if ext:
            return eh.raw_data() if eh is not None else b""
        return lib.raw_data(h)
    finally:
        h.free()
        if eh is not None:
            eh.free()
        if base is not None:
            bh.free()


@pytest.fixture(scope="module")
def vmlinux61_bytes() -> bytes:
    with lzma.open(MODULES / "vmlinux-6.1.btf.xz") as f:
        return f.read()


@pytest.fixture(scope="module")
def vmlinux61(vmlinux61_bytes: bytes):  # type: ignore[no-untyped-def]
    return parse_raw(vmlinux61_bytes, source="vmlinux-6.1.btf")


@pytest.mark.parametrize("obj", BPF_OBJECTS + [HOST_OBJECT], ids=lambda p: p.name)
def test_sections_match_objcopy_and_libbpf(obj: Path, tmp_path: Path) -> None:
    btf_ref = dump_section(obj, ".BTF", tmp_path)
    ext_ref = dump_section(obj, ".BTF.ext", tmp_path)
    btf = load_elf(obj.read_bytes(), source=str(obj))
    assert btf_ref is not None
    assert btf.to_bytes() == btf_ref
    assert btf.source == str(obj)
    if ext_ref is None:
        assert btf.ext is None
    else:
        assert btf.ext is not None and btf.ext.to_bytes() == ext_ref
    data = obj.read_bytes()
    PARSE_V16.check(f"{rel(obj)}::btf__parse_elf:btf", btf.to_bytes(), lambda lib: _parse_elf(lib, obj), inputs=data)
    PARSE_V16.check(f"{rel(obj)}::btf__parse_elf:ext", btf.ext.to_bytes() if btf.ext is not None else b"",
                    lambda lib: _parse_elf(lib, obj, ext=True), inputs=data)


@pytest.mark.parametrize("name", ["types", "maps", "tags"])
def test_big_endian_objects(name: str) -> None:
    le = load_elf((FIXTURES / "bpf" / f"{name}.bpf.o").read_bytes())
    be = load_elf((FIXTURES / "bpf" / f"{name}.bpfeb.o").read_bytes())
    assert (le.byteorder, be.byteorder) == ("<", ">")
    assert be.ext is not None and be.ext.byteorder == ">"
    assert find_btf_sections((FIXTURES / "bpf" / f"{name}.bpfeb.o").read_bytes()).byteorder == ">"
    # Same source, same types: kinds and names agree type by type.
    assert le.nr_types == be.nr_types
    assert [le.name(i) for i in range(1, le.type_cnt)] == [be.name(i) for i in range(1, be.type_cnt)]
    assert (le.kind == be.kind).all()


def test_host_object_section_alignment_one() -> None:
    """pahole -J gives .BTF sh_addralign 1 at an odd file offset; still read exactly."""
    secs = find_btf_sections(HOST_OBJECT.read_bytes())
    assert secs.btf is not None and secs.btf.offset % 4 != 0
    assert secs.elfclass == 64 and secs.byteorder == "<" and secs.btf_ext is None
    btf = load_elf(HOST_OBJECT.read_bytes())
    assert btf.to_bytes() == (FIXTURES / "host" / "enum64.btf").read_bytes()


def test_module_needs_base(vmlinux61, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BtfUsageError, match=r"8021q.ko \[.BTF\]: split BTF \(.ko module\): pass --base vmlinux"):
        load_elf(KO.read_bytes(), source=str(KO))
    btf = load_elf(KO.read_bytes(), base=vmlinux61, source=str(KO))
    assert btf.start_id == 95247 and btf.base is vmlinux61
    assert btf.to_bytes() == dump_section(KO, ".BTF", tmp_path) == (MODULES / "8021q.btf").read_bytes()


def test_module_matches_libbpf_split(vmlinux61, vmlinux61_bytes: bytes) -> None:  # type: ignore[no-untyped-def]
    btf = load_elf(KO.read_bytes(), base=vmlinux61)
    PARSE_V16.check(f"{rel(KO)} on corpora/modules/vmlinux-6.1.btf.xz::btf__parse_elf_split", btf.to_bytes(),
                    lambda lib: _parse_elf(lib, KO, vmlinux61_bytes), inputs=[KO.read_bytes(), vmlinux61_bytes])


def test_distilled_base(tmp_path: Path) -> None:
    """.BTF.base is used as base; libbpf (no base given) reads the same types."""
    data = DISTILLED_KO.read_bytes()
    btf = load_elf(data, source=str(DISTILLED_KO))
    assert btf.base is not None and btf.base.base is None
    assert btf.base.to_bytes() == dump_section(DISTILLED_KO, ".BTF.base", tmp_path)
    assert btf.to_bytes() == dump_section(DISTILLED_KO, ".BTF", tmp_path)
    assert btf.start_id == btf.base.type_cnt
    PARSE_V16.check(f"{rel(DISTILLED_KO)}::btf__parse_elf", btf.to_bytes(), lambda lib: _parse_elf(lib, DISTILLED_KO),
                    inputs=data)


def test_distilled_base_with_explicit_base_is_refused(vmlinux61) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BtfUsageError, match=r"distilled .BTF.base; relocating it onto the given base"):
        load_elf(DISTILLED_KO.read_bytes(), base=vmlinux61, source="m.ko")


# ------------------------------------------------------------------ mutations
def test_missing_btf_section(tmp_path: Path) -> None:
    out = tmp_path / "nobtf.o"
    objcopy("--remove-section=.BTF", "--remove-section=.rel.BTF", str(FIXTURES / "bpf" / "types.bpf.o"), str(out))
    assert dump_section(out, ".BTF", tmp_path) is None
    with pytest.raises(ElfError, match=r"nobtf.o: no .BTF section"):
        load_elf(out.read_bytes(), source=str(out))


def test_missing_btf_ext_is_fine(tmp_path: Path) -> None:
    out = tmp_path / "noext.o"
    src = FIXTURES / "bpf" / "maps.bpf.o"
    objcopy("--remove-section=.BTF.ext", "--remove-section=.rel.BTF.ext", str(src), str(out))
    btf = load_elf(out.read_bytes())
    assert btf.ext is None and btf.to_bytes() == dump_section(src, ".BTF", tmp_path)


def test_nobits_btf_from_only_keep_debug(tmp_path: Path) -> None:
    """GNU objcopy --only-keep-debug turns the allocated .BTF of a module into
    SHT_NOBITS, as in stripped debug packages (libbpf issue 894)."""
    gnu = tool_or_skip("objcopy")
    out = tmp_path / "dbg.ko"
    subprocess.run([gnu, "--only-keep-debug", str(KO), str(out)], check=True)
    with pytest.raises(
        ElfError, match=r"dbg.ko: section .BTF \(index \d+\) has type SHT_NOBITS, expected SHT_PROGBITS"
    ):
        load_elf(out.read_bytes(), source=str(out))


@pytest.mark.parametrize("section", [".BTF", ".BTF.ext"])
def test_nobits_sections_in_bpf_object(section: str) -> None:
    data = set_section_type((FIXTURES / "bpf" / "types.bpf.o").read_bytes(), section, SHT_NOBITS)
    with pytest.raises(ElfError, match=rf"section {section} \(index \d+\) has type SHT_NOBITS.*stripped debug"):
        load_elf(data, source="t.o")


def test_nobits_btf_rejected_by_libbpf_too(tmp_path: Path) -> None:
    p = tmp_path / "nobits.o"
    p.write_bytes(set_section_type((FIXTURES / "bpf" / "types.bpf.o").read_bytes(), ".BTF", SHT_NOBITS))
    key = case_key("btf__parse_elf")
    PARSE_V16.check(key, lambda: load_elf(p.read_bytes(), source=str(p)).to_bytes(), lambda lib: _parse_elf(lib, p),
                    inputs=p.read_bytes(), ours_errors=ElfError)
    assert "errno" in PARSE_V16.entry(key), "libbpf read a SHT_NOBITS .BTF"


def test_truncated_elf_every_region() -> None:
    """Cuts anywhere (ELF header, section data, section header table) give ElfError."""
    data = (FIXTURES / "bpf" / "types.bpf.o").read_bytes()
    cuts = sorted(set(list(range(0, 80, 3)) + list(range(80, len(data), max(1, len(data) // 97))) + [len(data) - 1]))
    for n in cuts:
        with pytest.raises(ElfError):
            load_elf(data[:n], source="cut.o")


def test_section_beyond_end_of_file() -> None:
    data = (FIXTURES / "bpf" / "types.bpf.o").read_bytes()
    for fields in ({"sh_size": len(data)}, {"sh_size": 1 << 62}, {"sh_offset": len(data) + 16}):
        bad = patch_section_header(data, ".BTF", **fields)
        with pytest.raises(
            ElfError, match=r"cut.o: section .BTF \(index 22\) spans file bytes .* but the file is only"
        ):
            load_elf(bad, source="cut.o")
    huge_ext = patch_section_header(data, ".BTF.ext", sh_size=0xFFFFFFFF)
    with pytest.raises(ElfError, match=r"section .BTF.ext \(index 24\) spans"):
        load_elf(huge_ext, source="cut.o")


def test_garbage_after_elf_magic() -> None:
    for tail in (b"", b"\x00" * 60, b"\x02\x01\x01" + b"\xff" * 100, bytes(range(256)) * 4):
        with pytest.raises(ElfError, match="cut.o"):
            load_elf(b"\x7fELF" + tail, source="cut.o")


def test_byte_order_mismatch(tmp_path: Path) -> None:
    be_btf = dump_section(FIXTURES / "bpf" / "types.bpfeb.o", ".BTF", tmp_path)
    assert be_btf is not None
    blob = tmp_path / "be.btf"
    blob.write_bytes(be_btf)
    out = tmp_path / "mixed.o"
    objcopy(f"--update-section=.BTF={blob}", str(FIXTURES / "bpf" / "types.bpf.o"), str(out))
    with pytest.raises(ElfError, match=r"section .BTF is big endian BTF inside a little endian ELF"):
        load_elf(out.read_bytes(), source=str(out))


def test_corrupt_btf_ext_names_file_and_section(tmp_path: Path) -> None:
    src = FIXTURES / "bpf" / "types.bpf.o"
    ext = dump_section(src, ".BTF.ext", tmp_path)
    assert ext is not None
    bad = tmp_path / "bad.ext"
    bad.write_bytes(ext[:2] + b"\x07" + ext[3:])
    out = tmp_path / "badext.o"
    objcopy(f"--update-section=.BTF.ext={bad}", str(src), str(out))
    with pytest.raises(BtfExtFormatError, match=r"badext.o \[.BTF.ext\], offset 0x2: unsupported .BTF.ext version 7"):
        load_elf(out.read_bytes(), source=str(out))


def test_corrupt_btf_names_file_and_section(tmp_path: Path) -> None:
    src = FIXTURES / "bpf" / "tags.bpf.o"
    btf = dump_section(src, ".BTF", tmp_path)
    assert btf is not None
    bad = tmp_path / "bad.btf"
    bad.write_bytes(btf[:3] + b"\x01" + btf[4:])
    out = tmp_path / "badbtf.o"
    objcopy(f"--update-section=.BTF={bad}", str(src), str(out))
    with pytest.raises(BtfError, match=r"badbtf.o \[.BTF\].*flags"):
        load_elf(out.read_bytes(), source=str(out))


def test_duplicate_btf_section_last_wins(tmp_path: Path) -> None:
    """libbpf keeps the last section of a name; so do we."""
    other = dump_section(FIXTURES / "bpf" / "tags.bpf.o", ".BTF", tmp_path)
    assert other is not None
    blob = tmp_path / "second.btf"
    blob.write_bytes(other)
    out = tmp_path / "dup.o"
    objcopy(
        "--remove-section=.BTF.ext",
        "--remove-section=.rel.BTF.ext",
        f"--add-section=.BTF={blob}",
        str(FIXTURES / "bpf" / "types.bpf.o"),
        str(out),
    )
    btf = load_elf(out.read_bytes())
    assert btf.to_bytes() == other
    # inputs: the two fixtures (the objcopy-built file may differ between llvm releases)
    PARSE_V16.check(case_key("btf__parse_elf"), btf.to_bytes(), lambda lib: _parse_elf(lib, out),
                    inputs=[(FIXTURES / "bpf" / n).read_bytes() for n in ("types.bpf.o", "tags.bpf.o")])


def test_readelf_agrees_on_btf_offset() -> None:
    """Cross-check our section location with GNU readelf's section table."""
    readelf = shutil.which("readelf") or shutil.which("llvm-readelf")
    if readelf is None:
        pytest.skip("readelf not installed")
    out = subprocess.run([readelf, "-SW", str(KO)], capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in out.splitlines() if " .BTF " in ln)
    fields = line.split("]", 1)[1].split()
    assert int(fields[3], 16) == find_btf_sections(KO.read_bytes()).btf.offset  # type: ignore[union-attr]


def test_split_hint_when_strings_start_with_nul(tmp_path: Path) -> None:
    """A module .BTF whose strings happen to start with NUL is still recognised as
    split when a type refers past its own IDs (here a PTR to base type 95000)."""
    types = struct.pack("<III", 0, 2 << 24, 95000)
    strings = b"\0x\0"
    blob = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types), len(strings)) + types + strings
    (tmp_path / "split.btf").write_bytes(blob)
    out = tmp_path / "nul.ko"
    objcopy("--remove-section=.BTF", str(KO), str(tmp_path / "bare.ko"))
    objcopy(f"--add-section=.BTF={tmp_path / 'split.btf'}", str(tmp_path / "bare.ko"), str(out))
    with pytest.raises(
        BtfUsageError, match=r"refers to type ID 95000.*this looks like split BTF \(.ko module\): pass --base"
    ):
        load_elf(out.read_bytes(), source=str(out))


def test_random_header_corruption_never_escapes_as_a_traceback() -> None:
    """Seeded corruption of the ELF header and the section header table: every
    outcome is a Btf or a BtfError (ElfError for container damage)."""
    import random

    rng = random.Random(4242)
    for name in ("types.bpf.o", "types.bpfeb.o"):
        data = (FIXTURES / "bpf" / name).read_bytes()
        bo = "<" if data[5] == 1 else ">"
        e_shoff = struct.unpack_from(bo + "Q", data, 0x28)[0]
        outcomes = {"loaded": 0, "rejected": 0}
        for _ in range(200):
            out = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                at = rng.randrange(0, 64) if rng.random() < 0.4 else rng.randrange(e_shoff, len(data))
                out[at] = rng.randrange(256)
            try:
                load_elf(bytes(out), source="fuzz.o")
                outcomes["loaded"] += 1
            except BtfError as e:
                assert "fuzz.o" in str(e)
                outcomes["rejected"] += 1
        assert outcomes["loaded"] > 0 and outcomes["rejected"] > 0, outcomes
