"""``btfdedup.append`` against libbpf v1.6's own merge (``btf__add_btf`` into
``btf__new_empty[_split]``, and the corpora README's ``btf__add_type`` recipe for
split modules): the merged raw bytes must be identical, before any dedup.

Judge: libbpf v1.6 (pylibbpf 0.0.6 wheel) through :mod:`tests.oracle.libbpf`.  Its
outputs are committed in ``tests/expected/merge_v16.json`` (sha256 + size), so every
check runs, and fails on a difference, without the oracle; with it, the live
comparison runs too (see :mod:`tests.expected`).
"""

from __future__ import annotations

import glob
import lzma
import os
from pathlib import Path

import numpy as np
import pytest

from btfdedup.append import merge, merge_modules
from btfdedup.errors import BtfFormatError, BtfUsageError
from btfdedup.io.load import load
from btfdedup.io.raw import parse_raw
from btfdedup.model.btf import Btf
from tests.conftest import FIXTURES
from tests.expected import MERGE_V16, case_key, rel
from tests.oracle.libbpf import Libbpf, oracle_or_skip

CUS = sorted(glob.glob(str(FIXTURES / "cus" / "*.btf")))
# Module split BTF on the 6.1 base (not the distilled-base variants, which need their own base).
MODULES = sorted(p for p in glob.glob(str(FIXTURES / "modules" / "*.btf")) if ".distilled" not in p and ".base" not in p)
OBJECTS = sorted(glob.glob(str(FIXTURES / "bpf" / "*.o")) + glob.glob(str(FIXTURES / "bpf-objects" / "*.o")))
VMLINUX_61 = FIXTURES / "modules" / "vmlinux-6.1.btf.xz"


@pytest.fixture(scope="module")
def lib() -> Libbpf:
    """libbpf v1.6 live, for the big-corpus tests only (no committed expectation)."""
    return oracle_or_skip("v16")


@pytest.fixture(scope="module")
def base_bytes() -> bytes:
    if not VMLINUX_61.exists():
        pytest.skip(f"{VMLINUX_61} not committed")
    return lzma.decompress(VMLINUX_61.read_bytes())


@pytest.fixture(scope="module")
def base(base_bytes: bytes) -> Btf:
    return parse_raw(base_bytes, source=str(VMLINUX_61))


def _read(p: str) -> bytes:
    return Path(p).read_bytes()


def _btf_section(lib: Libbpf, path: str) -> bytes:
    """The ``.BTF`` of an ELF object as libbpf reads it (``btf__parse_elf``)."""
    h, ext = lib.parse_elf(path, want_ext=False)
    with h:
        return lib.raw_data(h)


def test_fixtures_present() -> None:
    assert CUS, "corpora/cus/*.btf missing"
    assert MODULES, "corpora/modules/*.btf missing"


def test_merge_all_cus_matches_libbpf() -> None:
    datas = [_read(p) for p in CUS]
    merged = merge([parse_raw(d, source=p) for d, p in zip(datas, CUS, strict=True)])
    MERGE_V16.check("corpora/cus/*.btf::add_btf", merged.to_bytes(), lambda lib: lib.merge_bytes(datas), inputs=datas)
    assert merged.strs_deduped and merged.hdr_len == 24 and merged.base is None
    assert merged.nr_types == sum(parse_raw(d).nr_types for d in datas)


@pytest.mark.parametrize("path", CUS[:8], ids=os.path.basename)
def test_merge_single_cu_rebuilds_like_libbpf(path: str) -> None:
    data = _read(path)
    MERGE_V16.check(f"{rel(path)}::add_btf", merge([parse_raw(data)]).to_bytes(),
                    lambda lib: lib.merge_bytes([data]), inputs=data)


def test_merge_cus_in_reverse_order() -> None:
    datas = [_read(p) for p in reversed(CUS[:10])]
    MERGE_V16.check("corpora/cus/*.btf::first 10 reversed,add_btf", merge([parse_raw(d) for d in datas]).to_bytes(),
                    lambda lib: lib.merge_bytes(datas), inputs=datas)


def test_merge_same_input_twice() -> None:
    d = _read(CUS[0])
    MERGE_V16.check(f"{rel(CUS[0])}::twice,add_btf", merge([parse_raw(d), parse_raw(d)]).to_bytes(),
                    lambda lib: lib.merge_bytes([d, d]), inputs=[d, d])


def test_merge_nothing() -> None:
    MERGE_V16.check(case_key("no inputs,add_btf"), merge([]).to_bytes(), lambda lib: lib.merge_bytes([]), inputs=[])


@pytest.mark.parametrize("path", OBJECTS, ids=os.path.basename)
def test_merge_bpf_object_btf(path: str) -> None:
    ours = merge([load(path)])
    MERGE_V16.check(f"{rel(path)}::btf__parse_elf,add_btf", ours.to_bytes(),
                    lambda lib: lib.merge_bytes([_btf_section(lib, path)]), inputs=_read(path))


def test_merge_all_bpf_objects() -> None:
    MERGE_V16.check("corpora/bpf{,-objects}/*.o::btf__parse_elf,add_btf", merge([load(p) for p in OBJECTS]).to_bytes(),
                    lambda lib: lib.merge_bytes([_btf_section(lib, p) for p in OBJECTS]),
                    inputs=[_read(p) for p in OBJECTS])


def test_merge_big_endian_objects_come_out_native() -> None:
    eb = [p for p in OBJECTS if p.endswith(".bpfeb.o")]
    assert eb, "corpora/bpf/*.bpfeb.o missing"
    ours = merge([load(p) for p in eb])
    assert ours.byteorder == "<"
    MERGE_V16.check("corpora/bpf/*.bpfeb.o::btf__parse_elf,add_btf", ours.to_bytes(),
                    lambda lib: lib.merge_bytes([_btf_section(lib, p) for p in eb]), inputs=[_read(p) for p in eb])


def test_merge_standalone_cus_onto_base(base: Btf, base_bytes: bytes) -> None:
    datas = [_read(p) for p in CUS[:6]]
    ours = merge([parse_raw(d) for d in datas], base)
    assert ours.base is base and ours.start_id == base.type_cnt
    MERGE_V16.check("corpora/cus/*.btf::first 6,add_btf onto vmlinux-6.1", ours.to_bytes(),
                    lambda lib: lib.merge_bytes(datas, base=base_bytes), inputs=[*datas, base_bytes])


def test_merge_modules_recipe(base: Btf, base_bytes: bytes) -> None:
    datas = [_read(p) for p in MODULES]
    mods = [parse_raw(d, base=base, source=p) for d, p in zip(datas, MODULES, strict=True)]
    ours = merge_modules(mods, base)
    MERGE_V16.check("corpora/modules/*.btf::module recipe on vmlinux-6.1", ours.to_bytes(),
                    lambda lib: lib.merge_modules_bytes(datas, base_bytes), inputs=[*datas, base_bytes])
    assert ours.nr_types == sum(m.nr_types for m in mods)


@pytest.mark.parametrize("path", MODULES, ids=os.path.basename)
def test_merge_single_module(base: Btf, base_bytes: bytes, path: str) -> None:
    data = _read(path)
    MERGE_V16.check(f"{rel(path)}::module recipe on vmlinux-6.1", merge([parse_raw(data, base=base)], base).to_bytes(),
                    lambda lib: lib.merge_modules_bytes([data], base_bytes), inputs=[data, base_bytes])


def test_merge_module_with_base_parsed_twice(base_bytes: bytes) -> None:
    """A module loaded on another copy of the same base is accepted (content equality)."""
    b1 = parse_raw(base_bytes)
    b2 = parse_raw(base_bytes)
    data = _read(MODULES[0])
    ours = merge([parse_raw(data, base=b2)], b1)
    MERGE_V16.check(f"{rel(MODULES[0])}::module recipe on vmlinux-6.1", ours.to_bytes(),
                    lambda lib: lib.merge_modules_bytes([data], base_bytes), inputs=[data, base_bytes])


def _mixed_by_hand(lib: Libbpf, base_bytes: bytes, mod: bytes, cu: bytes) -> bytes:
    """module, CU, module on the base: the add_type recipe and add_btf applied by hand."""
    from tests.oracle.libbpf import iter_records, shift_record

    with lib.parse(base_bytes) as bh, lib.new_empty_split(bh) as dst:
        base_cnt = lib.type_cnt(bh)
        with lib.parse(mod, bh) as m:
            n_mod = lib.type_cnt(m) - base_cnt
            for rec in iter_records(mod):
                lib.add_type(dst, m, rec)
            with lib.parse(cu) as c:
                lib.add_btf(dst, c)
                n_cu = lib.type_cnt(c) - 1
            for rec in iter_records(mod):
                lib.add_type(dst, m, shift_record(rec, "<", base_cnt, n_mod + n_cu))
        return lib.raw_data(dst)


def test_merge_modules_and_cus_mixed(base: Btf, base_bytes: bytes) -> None:
    """Standalone CUs and split modules interleaved into one split BTF: add_btf for the
    CUs and the add_type recipe for the modules, applied by hand with the oracle."""
    cu = _read(CUS[1])
    mod = _read(MODULES[-1])
    ours = merge([parse_raw(mod, base=base), parse_raw(cu), parse_raw(mod, base=base)], base)
    MERGE_V16.check(f"{rel(MODULES[-1])},{rel(CUS[1])},{rel(MODULES[-1])}::mixed recipe on vmlinux-6.1",
                    ours.to_bytes(), lambda lib: _mixed_by_hand(lib, base_bytes, mod, cu), inputs=[mod, cu, base_bytes])


def _add_split_btf(lib: Libbpf, base_bytes: bytes, mod: bytes) -> bytes:
    with lib.parse(base_bytes) as bh, lib.parse(mod, bh) as m, lib.new_empty_split(bh) as dst:
        lib.add_btf(dst, m)
        return lib.raw_data(dst)


def test_libbpf_refuses_to_append_split_btf(base: Btf, base_bytes: bytes) -> None:
    """Why merge() emulates the add_type recipe for split sources: add_btf says -ENOTSUP,
    and merge() without the recipe (no merge base) refuses too."""
    mod = _read(MODULES[0])
    MERGE_V16.check(f"{rel(MODULES[0])}::add_btf of split BTF", lambda: merge([parse_raw(mod, base=base)]).to_bytes(),
                    lambda lib: _add_split_btf(lib, base_bytes, mod), inputs=[mod, base_bytes],
                    ours_errors=BtfUsageError)
    assert MERGE_V16.entry(f"{rel(MODULES[0])}::add_btf of split BTF").get("errno") == 95  # ENOTSUP


def test_split_source_without_merge_base_is_refused(base: Btf) -> None:
    mod = parse_raw(_read(MODULES[0]), base=base)
    with pytest.raises(BtfUsageError):
        merge([mod])


def test_split_source_on_other_base_is_refused(base: Btf) -> None:
    mod = parse_raw(_read(MODULES[0]), base=base)
    other = parse_raw(_read(CUS[0]))
    with pytest.raises(BtfUsageError):
        merge([mod], other)


def test_merge_modules_needs_split_inputs(base: Btf) -> None:
    with pytest.raises(BtfUsageError):
        merge_modules([parse_raw(_read(CUS[0]))], base)


def test_merge_does_not_modify_sources() -> None:
    srcs = [parse_raw(_read(p)) for p in CUS[:3]]
    before = [s.words.copy() for s in srcs]
    merge(srcs)
    for s, w in zip(srcs, before, strict=True):
        assert np.array_equal(s.words, w)


def test_merged_suffix_and_duplicate_strings() -> None:
    """Hand-built sources with duplicate strings, suffix references and a reference
    to an empty string at a non-zero offset."""
    # int "int" (name at 1), int "nt" (suffix of "int", at 2), typedef "int" dup at 5 -> [1]
    # typedef with name at the last NUL (offset 8 -> "")
    strings = b"\0int\0int\0"
    words = np.array(
        [
            1, (1 << 24), 4, 32 | (1 << 24),
            2, (1 << 24), 4, 32,
            5, (8 << 24), 1,
            8, (8 << 24), 2,
        ],
        dtype=np.uint32,
    )
    a = Btf.from_words(words, strings)
    b = Btf.from_words(words.copy(), strings)
    datas = [a.to_bytes(), b.to_bytes()]
    MERGE_V16.check(case_key("add_btf"), merge([a, b]).to_bytes(), lambda lib: lib.merge_bytes(datas), inputs=datas)


# --------------------------------------------------------------------- corpora
def _tar_members(tar: Path) -> dict[str, bytes]:
    """Every regular file of a .tar.xz, read in archive order (no backward seeks)."""
    import tarfile

    out: dict[str, bytes] = {}
    with tarfile.open(tar, "r:xz") as tf:
        for m in tf:
            if m.isfile():
                f = tf.extractfile(m)
                assert f is not None
                out[m.name.removeprefix("./")] = f.read()
    return out


@pytest.mark.corpus
def test_merge_all_2172_cus(lib: Libbpf, corpora_dir: Path) -> None:
    blobs = _tar_members(corpora_dir / "vmlinux-6.1-raw" / "cus.tar.xz")
    datas = [blobs[n] for n in sorted(n for n in blobs if n.endswith(".btf"))]
    assert len(datas) == 2172
    ours = merge([parse_raw(d) for d in datas])
    assert ours.to_bytes() == lib.merge_bytes(datas)


@pytest.mark.corpus
def test_merge_all_1121_modules(lib: Libbpf, corpora_dir: Path) -> None:
    d = corpora_dir / "modules-6.1"
    base_bytes = (d / "vmlinux.btf").read_bytes()
    order = (d / "split_list.txt").read_text().split()
    blobs = _tar_members(d / "split.tar.xz")
    datas = [blobs[n] for n in order]
    assert len(datas) == 1121
    base = parse_raw(base_bytes)
    ours = merge([parse_raw(x, base=base) for x in datas], base)
    assert ours.to_bytes() == lib.merge_modules_bytes(datas, base_bytes)
    # The recipe is the one the shipped reference was made with.
    assert lib.merge_modules_dedup_bytes(datas, base_bytes) == (d / "modules-all-dedup.libbpf.btf").read_bytes()


def _add_btf_onto_split(lib: Libbpf, base_bytes: bytes, mod_bytes: bytes, datas: list[bytes]) -> bytes:
    with lib.parse(base_bytes) as bh, lib.parse(mod_bytes, bh) as mh, lib.new_empty_split(mh) as dst:
        for d in datas:
            with lib.parse(d) as src:
                lib.add_btf(dst, src)
        return lib.raw_data(dst)


def test_merge_onto_a_split_base(base: Btf, base_bytes: bytes) -> None:
    """Multi-level split (libbpf >= 1.6): standalone CUs merged onto a module that is
    itself split on vmlinux; strings found anywhere in the chain keep their offsets."""
    mod_bytes = _read(MODULES[-1])
    mid = parse_raw(mod_bytes, base=base)
    datas = [_read(p) for p in CUS[:3]]
    ours = merge([parse_raw(d) for d in datas], mid)
    assert ours.start_id == mid.type_cnt and ours.strings.start_off == mid.strings.end_off
    MERGE_V16.check(f"corpora/cus/*.btf::first 3,add_btf onto {rel(MODULES[-1])} on vmlinux-6.1", ours.to_bytes(),
                    lambda lib: _add_btf_onto_split(lib, base_bytes, mod_bytes, datas),
                    inputs=[*datas, mod_bytes, base_bytes])


def _as_big_endian(btf: Btf) -> bytes:
    """The same BTF encoded big-endian (every type-section field is a 32-bit word)."""
    btf.byteorder = ">"
    try:
        return btf.to_bytes()
    finally:
        btf.byteorder = "<"


def test_merge_big_endian_modules(base_bytes: bytes) -> None:
    """Big-endian base and modules: the merged split BTF stays big-endian, like its base."""
    be_base = _as_big_endian(parse_raw(base_bytes))
    le_base = parse_raw(base_bytes)
    mods = [_as_big_endian(parse_raw(_read(p), base=le_base)) for p in MODULES[:4]]
    base = parse_raw(be_base)
    assert base.byteorder == ">"
    ours = merge([parse_raw(m, base=base) for m in mods], base)
    assert ours.byteorder == ">"
    MERGE_V16.check("corpora/modules/*.btf::first 4 big-endian,module recipe on vmlinux-6.1 big-endian",
                    ours.to_bytes(), lambda lib: lib.merge_modules_bytes(mods, be_base), inputs=[*mods, be_base])


def test_module_referring_into_the_middle_of_a_base_string() -> None:
    """A split type whose name is the tail of a base string: not a base string itself
    (btf__find_str indexes string starts only), so it is added to the new set —
    also when that tail is longer than the new set's initial capacity."""
    long_name = b"x" * 10000
    base = Btf.from_words(np.array([1 + len(long_name) + 1, 1 << 24, 4, 32], dtype=np.uint32),
                          b"\0" + long_name + b"\0int\0")
    base_bytes = base.to_bytes()
    base = parse_raw(base_bytes)
    tail = 2  # "x" * 9999
    assert base.strings.find(base.strings.get(tail)) < 0
    words = np.array([tail, 1 << 24, 4, 32, 1, 1 << 24, 4, 32], dtype=np.uint32)
    mod_bytes = Btf.from_words(words, b"", base=base).to_bytes()
    ours = merge([parse_raw(mod_bytes, base=base)], base)
    MERGE_V16.check(case_key("module recipe"), ours.to_bytes(),
                    lambda lib: lib.merge_modules_bytes([mod_bytes], base_bytes), inputs=[mod_bytes, base_bytes])
    assert ours.strings.data == long_name[1:] + b"\0"


# ------------------------------------------------------------- the compiled walk
def test_progress_reports_every_source_in_order() -> None:
    srcs = [parse_raw(_read(p)) for p in CUS[:5]]
    seen: list[tuple[int, int, Btf]] = []
    merge(srcs, progress=lambda i, n, src: seen.append((i, n, src)))
    assert [(i, n) for i, n, _ in seen] == [(i, 5) for i in range(5)]
    assert all(s is src for (_, _, s), src in zip(seen, srcs, strict=True))


def test_many_strings_grow_the_table_and_blob_mid_source() -> None:
    """One source with far more strings than the initial table and blob hold: the
    walk stops mid-record, the arrays grow, it resumes at the same string field;
    every name comes out once, in iterator order."""
    n = 5000
    names = [f"member_{i:05d}_{'y' * (i % 40)}".encode() for i in range(n)]
    strings = b"\0s\0" + b"".join(x + b"\0" for x in names)
    offs = np.cumsum([3] + [len(x) + 1 for x in names[:-1]])
    words = [1, (4 << 24) | n, 4 * n]  # struct "s" with n int members (type [2])
    for i in range(n):
        words += [int(offs[i]), 2, 32 * i]
    words += [0, 1 << 24, 4, 32]  # [2] int (anonymous)
    src = Btf.from_words(np.array(words, dtype=np.uint32), strings)
    datas = [src.to_bytes(), src.to_bytes()]
    ours = merge([src, parse_raw(datas[1])])
    MERGE_V16.check(case_key("add_btf"), ours.to_bytes(), lambda lib: lib.merge_bytes(datas), inputs=datas)
    assert ours.strings.data == strings
    assert int(ours.words[ours.type_start[2] + 4]) == 2 + 2  # the second copy's member types follow the first's


def test_hand_built_source_with_a_string_past_its_blob_is_refused() -> None:
    good = parse_raw(_read(CUS[0]))
    words = good.words.copy()
    words[int(good.type_start[0])] = good.strings.end_off + 3
    with pytest.raises(BtfFormatError, match="outside the string section"):
        merge([Btf(words, good.type_start, good.strings, source="hand-built")])
    with pytest.raises(BtfFormatError, match="type_start entry"):
        merge([Btf(good.words, good.type_start + 1, good.strings)])


def test_string_set_refuses_an_offset_past_its_blob() -> None:
    from btfdedup.append import StringSet
    from btfdedup.model.strings import StringTable

    strset = StringSet(None)
    offs = np.array([1, 7], dtype=np.int64)
    with pytest.raises(BtfUsageError, match="string offset 7"):
        strset.intern_fields(offs, np.zeros(2, dtype=np.int64), [StringTable(b"\0ab\0")])
    offs = np.array([1, 4, 1], dtype=np.int64)
    strset.intern_fields(offs, np.zeros(3, dtype=np.int64), [StringTable(b"\0ab\0cd\0")])
    assert list(offs) == [1, 4, 1] and strset.to_bytes() == b"\0ab\0cd\0"
