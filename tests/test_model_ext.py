""".BTF.ext parsing, judged against libbpf v1.6 (btf_ext__new / btf_ext__raw_data /
btf__dedup with opts.btf_ext) and against llvm-objcopy's section bytes.

libbpf's outputs and verdicts are committed (``tests/expected/parse_v16.json``,
``dedup_v16.json``), so every comparison runs without it too; a whole test's
accept/refuse verdicts are one committed string of 0s and 1s."""

from __future__ import annotations

import random
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from btfdedup.errors import BtfExtFormatError
from btfdedup.io.raw import parse_raw
from btfdedup.model.ext import (
    MIN_REC_SIZE,
    SUB_CORE_RELO,
    SUB_FUNC_INFO,
    SUB_LINE_INFO,
    WORD_SEC_NAME,
    BtfExt,
    parse_ext,
)
from tests._elf_tools import dump_section
from tests.conftest import FIXTURES
from tests.expected import DEDUP_V16, PARSE_V16, case_key, rel
from tests.oracle.libbpf import Libbpf, OracleError

OBJECTS = sorted((FIXTURES / "bpf").glob("*.o")) + sorted((FIXTURES / "bpf-objects").glob("*.o"))
BE_OBJECTS = [p for p in OBJECTS if p.name.endswith(".bpfeb.o")]
NATIVE = "<" if sys.byteorder == "little" else ">"


@pytest.fixture(scope="module")
def sections(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bytes, bytes]]:
    """(.BTF, .BTF.ext) bytes of every committed object, as llvm-objcopy dumps them."""
    tmp = tmp_path_factory.mktemp("ext-sections")
    out = {}
    for obj in OBJECTS:
        btf = dump_section(obj, ".BTF", tmp)
        ext = dump_section(obj, ".BTF.ext", tmp)
        assert btf is not None and ext is not None, obj
        out[obj.name] = (btf, ext)
    return out


def _libbpf_accepts(lib: Libbpf, data: bytes) -> bool:
    try:
        with lib.btf_ext_new(data):
            return True
    except OracleError:
        return False


def _we_accept(data: bytes) -> bool:
    try:
        parse_ext(data)
    except BtfExtFormatError:
        return False
    return True


def libbpf_verdicts(datas: list[bytes]) -> list[bool]:
    """Whether libbpf v1.6's ``btf_ext__new`` accepts each input (committed, and live when
    installed); ours must agree input by input (``parse_ext`` raises exactly where libbpf
    refuses), else the test fails."""
    ours = b"".join(b"1" if _we_accept(d) else b"0" for d in datas)
    PARSE_V16.check(case_key("btf_ext__new verdicts"), ours,
                    lambda lib: b"".join(b"1" if _libbpf_accepts(lib, d) else b"0" for d in datas),
                    inputs=datas, text=True)
    return [c == ord("1") for c in ours]


def _libbpf_round_trip(lib: Libbpf, data: bytes) -> bytes:
    with lib.btf_ext_new(data) as h:
        return lib.btf_ext_raw_data(h)


def test_fixture_set_is_complete() -> None:
    assert len(OBJECTS) >= 14 and len(BE_OBJECTS) >= 2


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda p: p.name)
def test_round_trip_matches_objcopy_and_libbpf(obj: Path, sections: dict[str, tuple[bytes, bytes]]) -> None:
    _btf, ext_bytes = sections[obj.name]
    ext = parse_ext(ext_bytes, source=str(obj))
    assert ext.to_bytes() == ext_bytes
    PARSE_V16.check(f"{rel(obj)}::btf_ext__new,raw_data", ext.to_bytes(), lambda lib: _libbpf_round_trip(lib, ext_bytes),
                    inputs=ext_bytes)
    # Rewriting every field with its own value changes nothing.
    same = ext.replace_str_offsets(ext.str_offsets()).replace_type_ids(ext.type_ids())
    assert same.to_bytes() == ext_bytes


@pytest.mark.parametrize("obj", BE_OBJECTS, ids=lambda p: p.name)
def test_big_endian(obj: Path, sections: dict[str, tuple[bytes, bytes]]) -> None:
    _btf, ext_bytes = sections[obj.name]
    assert ext_bytes[:2] == b"\xeb\x9f"
    ext = parse_ext(ext_bytes, byteorder=">")
    assert ext.byteorder == ">"
    # Records are native in memory: re-encode by hand and compare with the file.
    sub = ext.line_info
    start = ext.hdr_len + sub.off
    assert struct.unpack_from(">I", ext_bytes, start)[0] == sub.rec_size == 16
    sec_name_off, num_info = struct.unpack_from(">II", ext_bytes, start + 4)
    assert (sec_name_off, num_info) == (int(sub.sec_name_off[0]), int(sub.num_info[0]))
    first = struct.unpack_from(">4I", ext_bytes, start + 12)
    assert tuple(int(x) for x in sub.records[0]) == first
    assert ext.to_bytes() == ext_bytes
    PARSE_V16.check(f"{rel(obj)}::btf_ext__new,raw_data", ext.to_bytes(), lambda lib: _libbpf_round_trip(lib, ext_bytes),
                    inputs=ext_bytes)
    with pytest.raises(BtfExtFormatError, match="big endian but the .BTF is little endian"):
        parse_ext(ext_bytes, byteorder="<")


def test_types_object_has_all_three_subsections(sections: dict[str, tuple[bytes, bytes]]) -> None:
    ext = parse_ext(sections["types.bpf.o"][1])
    assert ext.func_info.present and ext.line_info.present and ext.core_relo.present
    assert ext.func_info.rec_size == 8 and ext.line_info.rec_size == 16 and ext.core_relo.rec_size == 16
    assert ext.func_info.nr_blocks == 3  # xdp, kprobe/do_exit, .text (classify)


def _dedup_with_ext(obj: Path, btf_bytes: bytes, ext_bytes: bytes) -> tuple[bytes, bytes]:
    """libbpf v1.6's dedup of the object with its .BTF.ext: ours, proven equal to libbpf's
    committed output (the keys of tests/test_dedup_oracle.py), or libbpf's live."""
    from btfdedup.engine import dedup

    res = dedup(parse_raw(btf_bytes), ext=parse_ext(ext_bytes))
    assert res.ext is not None
    inputs = [btf_bytes, ext_bytes]
    new_btf = DEDUP_V16.check(f"{rel(obj)}::dedup with .BTF.ext:btf", res.btf.to_bytes(),
                              lambda lib: lib.dedup_ext_bytes(btf_bytes, ext_bytes)[0], inputs=inputs)
    new_ext = DEDUP_V16.check(f"{rel(obj)}::dedup with .BTF.ext:ext", res.ext.to_bytes(),
                              lambda lib: lib.dedup_ext_bytes(btf_bytes, ext_bytes)[1], inputs=inputs)
    return new_btf, new_ext


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda p: p.name)
def test_fields_are_what_libbpf_dedup_rewrites(obj: Path, sections: dict[str, tuple[bytes, bytes]]) -> None:
    """libbpf's dedup rewrites exactly the string and type-ID fields of .BTF.ext.

    Judge: for each field we list, the string (or the type's kind and name)
    is the same before and after libbpf's dedup; every word we do not list is
    unchanged; and the strings only .BTF.ext uses get new offsets in the order
    of our visit (libbpf interns them in its visit order, after all types)."""
    btf_bytes, ext_bytes = sections[obj.name]
    new_btf_bytes, new_ext_bytes = _dedup_with_ext(obj, btf_bytes, ext_bytes)
    old_btf, new_btf = parse_raw(btf_bytes), parse_raw(new_btf_bytes)
    old, new = parse_ext(ext_bytes), parse_ext(new_ext_bytes)
    sf_old, sf_new = old.str_fields(), new.str_fields()
    assert np.array_equal(sf_old.word, sf_new.word) and np.array_equal(sf_old.record, sf_new.record)
    for a, b in zip(sf_old.values.tolist(), sf_new.values.tolist(), strict=True):
        assert old_btf.strings.get(a) == new_btf.strings.get(b)
    tf_old, tf_new = old.type_id_fields(), new.type_id_fields()
    for a, b in zip(tf_old.values.tolist(), tf_new.values.tolist(), strict=True):
        assert (old_btf.kind_of(a), old_btf.name(a)) == (new_btf.kind_of(b), new_btf.name(b))
    # Nothing else moved: blank out listed fields in both and compare the bytes.
    blank_old = old.replace_str_offsets(np.zeros_like(sf_old.values)).replace_type_ids(np.zeros_like(tf_old.values))
    blank_new = new.replace_str_offsets(np.zeros_like(sf_new.values)).replace_type_ids(np.zeros_like(tf_new.values))
    assert blank_old.to_bytes() == blank_new.to_bytes()
    # Our rewrite with libbpf's values reproduces libbpf's bytes.
    assert old.replace_str_offsets(sf_new.values).replace_type_ids(tf_new.values).to_bytes() == new_ext_bytes
    # Visit order: strings that no type uses are appended in first-visit order.
    type_strings = {new_btf.strings.get(int(o)) for o in _type_name_offs(new_btf)}
    seen: list[int] = []
    for off in sf_new.values.tolist():
        s = new_btf.strings.get(off)
        if s not in type_strings and off not in seen:
            seen.append(off)
    assert seen == sorted(seen)


def _type_name_offs(btf: object) -> np.ndarray:
    from btfdedup.model.fields import str_fields

    pos, _owner = str_fields(btf)  # type: ignore[arg-type]
    return btf.words[pos]  # type: ignore[attr-defined]


def test_field_order_follows_libbpf_visit_order() -> None:
    """Hand-built ext: the visit order of btf_ext_visit_str_offs/type_ids."""
    # func_info: 2 blocks (1 rec, 2 recs); line_info: 2 blocks (2 recs, 1 rec); core_relo: 1 block (2 recs).
    fi = [8, 100, 1, 0, 11, 101, 2, 0, 12, 8, 13]
    li = [16, 200, 2, 0, 21, 22, 0, 8, 23, 24, 0, 201, 1, 0, 25, 26, 0]
    cr = [16, 300, 2, 0, 31, 32, 0, 8, 33, 34, 2]
    body = fi + li + cr
    hdr = struct.pack(
        "<HBBIIIIIII", 0xEB9F, 1, 0, 32, 0, 4 * len(fi), 4 * len(fi), 4 * len(li), 4 * (len(fi) + len(li)), 4 * len(cr)
    )
    data = hdr + struct.pack(f"<{len(body)}I", *body)
    ext = parse_ext(data)
    assert ext.to_bytes() == data
    assert ext.str_offsets().tolist() == [100, 101, 200, 21, 22, 23, 24, 201, 25, 26, 300, 32, 34]
    assert ext.type_ids().tolist() == [11, 12, 13, 31, 33]
    f = ext.str_fields()
    assert f.describe(0) == "func_info block 0 sec_name_off"
    assert f.describe(3) == "line_info block 0 record 0 file_name_off"
    assert f.describe(12) == "core_relo block 0 record 1 access_str_off"
    assert f.subsection.tolist()[:3] == [SUB_FUNC_INFO, SUB_FUNC_INFO, SUB_LINE_INFO]
    assert f.subsection.tolist()[-1] == SUB_CORE_RELO and f.word.tolist()[0] == WORD_SEC_NAME
    assert libbpf_verdicts([data]) == [True]
    new = ext.replace_str_offsets(ext.str_offsets() + 1000).replace_type_ids(ext.type_ids() + 5)
    got = struct.unpack(f"<{len(body)}I", new.to_bytes()[32:])
    assert list(got[:11]) == [8, 1100, 1, 0, 16, 1101, 2, 0, 17, 8, 18]
    assert ext.to_bytes() == data  # the original is untouched


def test_records_larger_than_minimum_keep_extra_words() -> None:
    """Native byte order allows rec_size above the minimum; extra words survive."""
    fi = [12, 5, 2, 0, 7, 0xAAAA, 8, 9, 0xBBBB]
    li = [20, 6, 1, 0, 1, 2, 3 << 10, 0xCCCC]
    body = fi + li
    hdr = struct.pack(NATIVE + "HBBIIIII", 0xEB9F, 1, 0, 24, 0, 4 * len(fi), 4 * len(fi), 4 * len(li))
    data = hdr + struct.pack(f"{NATIVE}{len(body)}I", *body)
    assert libbpf_verdicts([data]) == [True]
    ext = parse_ext(data)
    assert ext.func_info.records.shape == (2, 3) and ext.line_info.records.shape == (1, 5)
    assert ext.type_ids().tolist() == [7, 9]
    assert ext.str_offsets().tolist() == [5, 6, 1, 2]
    assert not ext.core_relo.present and not ext.has_core_relo_fields
    new = ext.replace_type_ids(np.array([70, 90]))
    assert struct.unpack_from(f"{NATIVE}9I", new.to_bytes(), 24) == (12, 5, 2, 0, 70, 0xAAAA, 8, 90, 0xBBBB)


def _hdr(data: bytes) -> tuple[str, list[int]]:
    bo = "<" if data[:2] == b"\x9f\xeb" else ">"
    hdr_len = struct.unpack_from(bo + "I", data, 4)[0]
    n = (min(hdr_len, 32) - 8) // 4
    return bo, list(struct.unpack_from(f"{bo}{n}I", data, 8))


def _with_field(data: bytes, byte_off: int, value: int, bo: str = "<") -> bytes:
    out = bytearray(data)
    struct.pack_into(bo + "I", out, byte_off, value)
    return bytes(out)


@pytest.fixture(scope="module")
def types_ext(sections: dict[str, tuple[bytes, bytes]]) -> bytes:
    return sections["types.bpf.o"][1]


def test_truncation_at_every_length(types_ext: bytes) -> None:
    """Every proper prefix is rejected, as libbpf rejects it."""
    cuts = [types_ext[:n] for n in range(len(types_ext))]
    for cut in cuts:
        with pytest.raises(BtfExtFormatError):
            parse_ext(cut)
    assert not any(libbpf_verdicts(cuts))


def test_truncation_messages(types_ext: bytes) -> None:
    with pytest.raises(BtfExtFormatError, match=r"offset 0x0: .BTF.ext header too short: 7 bytes"):
        parse_ext(types_ext[:7])
    with pytest.raises(BtfExtFormatError, match=r"hdr_len 32 runs past the end of the 20-byte section"):
        parse_ext(types_ext[:20])
    with pytest.raises(BtfExtFormatError, match=r"has no data: hdr_len 32 equals the section size"):
        parse_ext(types_ext[:32])
    with pytest.raises(BtfExtFormatError, match=r"offset 0x8: .BTF.ext func_info subsection .* runs past the end"):
        parse_ext(types_ext[:40])


def test_lying_lengths_and_offsets(types_ext: bytes) -> None:
    bo, (fi_off, fi_len, li_off, li_len, cr_off, cr_len) = _hdr(types_ext)
    cases = {
        "func_info_len+4": (12, fi_len + 4, "func_info block"),
        "func_info_len-4": (12, fi_len - 4, "func_info block"),
        "func_info_len 4G": (12, 0xFFFFFFFF, "func_info subsection .* runs past the end"),
        "func_info_off 4G": (8, 0xFFFFFFFC, "func_info subsection .* runs past the end"),
        "func_info_off unaligned": (8, fi_off + 2, "func_info offset .* is not aligned to 4 bytes"),
        "line_info_len 4G": (20, 0xFFFFFFFF, "line_info subsection .* runs past the end"),
        "line_info_len 2": (20, 2, "line_info subsection is 2 bytes: no room for rec_size"),
        "line_info_len 4": (20, 4, "line_info subsection has no blocks"),
        "core_relo_off into line_info": (24, li_off, "core_relo"),
        "hdr_len 4G": (4, 0xFFFFFFFF, "hdr_len 4294967295 runs past the end"),
        "hdr_len 16": (4, 16, "hdr_len 16 is smaller than 24"),
    }
    bads = []
    for at, value, message in cases.values():
        bad = _with_field(types_ext, at, value, bo)
        with pytest.raises(BtfExtFormatError, match=message):
            parse_ext(bad)
        bads.append(bad)
    assert not any(libbpf_verdicts(bads))


def test_hdr_len_24_skips_core_relo(types_ext: bytes) -> None:
    """With hdr_len 24 libbpf ignores core_relo (the bytes are then data)."""
    bo, (fi_off, fi_len, li_off, li_len, _cr_off, _cr_len) = _hdr(types_ext)
    body = types_ext[32:]
    data = struct.pack(bo + "HBBIIIII", 0xEB9F, 1, 0, 24, fi_off, fi_len, li_off, li_len) + body
    ext = parse_ext(data)
    assert libbpf_verdicts([data]) == [True]
    assert not ext.core_relo.present and ext.to_bytes() == data


def test_bad_rec_size_and_num_info(types_ext: bytes) -> None:
    bo, (fi_off, fi_len, li_off, li_len, cr_off, cr_len) = _hdr(types_ext)
    fi0, li0, cr0 = 32 + fi_off, 32 + li_off, 32 + cr_off
    cases = {
        "func_info rec_size 4": (fi0, 4, "func_info has invalid rec_size 4: below the minimum 8"),
        "func_info rec_size 10": (fi0, 10, "func_info has invalid rec_size 10: not a multiple of 4"),
        "func_info rec_size 0": (fi0, 0, "invalid rec_size 0"),
        "line_info rec_size 12": (li0, 12, "line_info has invalid rec_size 12: below the minimum 16"),
        "line_info rec_size 4G": (li0, 0xFFFFFFFC, "line_info block 0: num_info .* needs"),
        "core_relo rec_size 8": (cr0, 8, "core_relo has invalid rec_size 8"),
        "func_info num_info 0": (fi0 + 8, 0, "func_info block 0 has num_info 0"),
        "func_info num_info 2^30": (fi0 + 8, 1 << 30, "func_info block 0: num_info 1073741824 x rec_size 8"),
        "line_info num_info 4G": (li0 + 8, 0xFFFFFFFF, "line_info block 0: num_info 4294967295"),
        "core_relo num_info +1": (cr0 + 8, 5, "core_relo block 0: num_info 5"),
    }
    bads = []
    for at, value, message in cases.values():
        bad = _with_field(types_ext, at, value, bo)
        with pytest.raises(BtfExtFormatError, match=message):
            parse_ext(bad)
        bads.append(bad)
    assert not any(libbpf_verdicts(bads))


def test_header_fields(types_ext: bytes) -> None:
    cases = [
        (b"\x9f\xec" + types_ext[2:], "bad .BTF.ext magic 9f ec", "offset 0x0"),
        (types_ext[:2] + b"\x02" + types_ext[3:], "unsupported .BTF.ext version 2", "offset 0x2"),
        (types_ext[:3] + b"\x01" + types_ext[4:], "flags must be 0, found 0x1", "offset 0x3"),
    ]
    for bad, message, where in cases:
        with pytest.raises(BtfExtFormatError) as ei:
            parse_ext(bad, source="x.o [.BTF.ext]")
        assert message in str(ei.value) and where in str(ei.value) and "x.o [.BTF.ext]" in str(ei.value)
    assert not any(libbpf_verdicts([bad for bad, _m, _w in cases]))


def test_big_endian_needs_exact_record_sizes(sections: dict[str, tuple[bytes, bytes]]) -> None:
    """libbpf >= 1.5 reads non-native .BTF.ext only with minimum-size records."""
    data = sections["types.bpfeb.o"][1]
    bo, (fi_off, *_rest) = _hdr(data)
    assert bo == ">" and NATIVE == "<"
    bad = _with_field(data, 32 + fi_off, 12, ">")
    with pytest.raises(BtfExtFormatError, match="not exactly 8, required for non-host byte order"):
        parse_ext(bad)
    assert libbpf_verdicts([bad]) == [False]


def test_random_mutations_agree_with_libbpf(types_ext: bytes, sections: dict[str, tuple[bytes, bytes]]) -> None:
    """Seeded random word corruption of headers and block headers: we reject
    exactly what libbpf rejects, and what both accept round-trips."""
    rng = random.Random(20261201)
    interesting = [0, 4, 8, 12, 16, 20, 24, 28]
    bads: list[bytes] = []
    for name in ("types.bpf.o", "maps.bpf.o", "types.bpfeb.o"):
        data = sections[name][1]
        bo, (fi_off, _fl, li_off, _ll, cr_off, _cl) = _hdr(data)
        spots = interesting + [32 + fi_off, 32 + fi_off + 4, 32 + fi_off + 8, 32 + li_off, 32 + li_off + 8]
        spots += [32 + cr_off, 32 + cr_off + 8] if name.startswith("types") else []
        for _ in range(150):
            at = rng.choice(spots)
            value = rng.choice([0, 1, 2, 3, 4, 8, 12, 16, 24, 32, 0xFFFFFFFF, 0x80000000, rng.getrandbits(32)])
            value = (
                value if rng.random() < 0.7 else struct.unpack_from(bo + "I", data, at)[0] + rng.choice([-8, -4, 4, 8])
            )
            bads.append(_with_field(data, at, value & 0xFFFFFFFF, bo))
    # ours accepts exactly what libbpf accepts (checked in libbpf_verdicts) ...
    verdicts = libbpf_verdicts(bads)
    assert 0 < sum(verdicts) < len(bads)
    # ... and what both accept round-trips
    for bad, ok in zip(bads, verdicts, strict=True):
        if ok:
            assert parse_ext(bad).to_bytes() == bad


def test_min_rec_sizes_match_libbpf_structs() -> None:
    assert MIN_REC_SIZE == {"func_info": 8, "line_info": 16, "core_relo": 16}


def test_repr_and_len(types_ext: bytes) -> None:
    ext = parse_ext(types_ext)
    assert isinstance(ext, BtfExt) and len(ext) == len(types_ext)
    assert "core_relo 4 in 1 blocks" in repr(ext)


def test_in_place_api_for_the_dedup_engine(types_ext: bytes) -> None:
    ext = parse_ext(types_ext)
    ids = ext.type_ids()
    mapping = np.arange(int(ids.max()) + 1, dtype=np.uint32) + 100
    work = ext.copy()
    assert work.remap_type_ids(mapping, np.uint32(0xFFFFFFFF)) is None
    assert (work.type_ids() == ids + 100).all() and (ext.type_ids() == ids).all()
    # An unmapped ID (libbpf: -EINVAL) is reported, and nothing is rewritten.
    mapping[int(ids[2])] = 0xFFFFFFFF
    work2 = ext.copy()
    assert work2.remap_type_ids(mapping, np.uint32(0xFFFFFFFF)) == int(ids[2])
    assert work2.to_bytes() == types_ext
    assert ext.copy().remap_type_ids(mapping[:5], 0xFFFFFFFF) == int(ids[0])
    work3 = ext.copy()
    work3.set_str_refs(work3.str_refs() + 7)
    assert (work3.str_offsets() == ext.str_offsets() + 7).all()
    assert work3.replace_str_offsets(ext.str_offsets()).to_bytes() == types_ext
