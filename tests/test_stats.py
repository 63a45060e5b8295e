"""``btfdedup stats`` against independent references.

* kinds, counts, record bytes and the duplicate indicator are recomputed from
  bpftool's raw dump (one header line per type, ``vlen=`` for the tail) — bpftool
  run live, or, without it, our dump once proven equal to bpftool's committed one
  (``tests/expected/bpftool_dump.json``), so the check never skips;
* section sizes come from the BTF header read with ``struct`` here;
* ``.BTF.ext`` record counts come from the section bytes (``llvm-objcopy
  --dump-section``) walked here.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import btfdedup
import tests.test_dump_raw as _raw
from btfdedup.cli.main import main as cli_main
from btfdedup.render.raw import dump_raw_bytes
from btfdedup.statistics import btf_stats, format_stats
from tests.test_dump_raw import (
    FIXTURE_CASES,
    bpftool_raw,
    case_inputs,
    check_raw_dump,
    dump_key,
    load_case,
    need_bpftool,
)

# fixtures shared with the raw-dump tests
edge_file = _raw.edge_file
plain_dir = _raw.plain_dir

HEADER = re.compile(rb"^\[(\d+)\] (\w+) '(.*)'(.*)$")
VLEN = re.compile(rb" vlen=(\d+)")
FIXED_TAIL = {"INT": 4, "ARRAY": 12, "VAR": 4, "DECL_TAG": 4}
ELEM = {"STRUCT": 12, "UNION": 12, "ENUM": 8, "ENUM64": 12, "FUNC_PROTO": 8, "DATASEC": 12}
OBJCOPY = shutil.which("llvm-objcopy")


def reference_from_bpftool(text: bytes) -> tuple[Counter[str], Counter[str], Counter[str], int, int]:
    """(count per kind, bytes per kind, duplicate-named per kind, named, anonymous) from bpftool's lines."""
    counts: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    pairs: list[tuple[str, bytes]] = []
    anon = 0
    for line in text.split(b"\n"):
        m = HEADER.match(line)
        if not m:
            continue
        kind = m.group(2).decode()
        counts[kind] += 1
        v = VLEN.search(m.group(4))
        sizes[kind] += 12 + FIXED_TAIL.get(kind, 0) + (ELEM.get(kind, 0) * int(v.group(1)) if v else 0)
        if m.group(3) == b"(anon)":
            anon += 1
        else:
            pairs.append((kind, m.group(3)))
    per_pair = Counter(pairs)
    dups: Counter[str] = Counter(k for k, n in pairs if per_pair[(k, n)] > 1)
    return counts, sizes, dups, len(pairs), anon


def section_bytes(path: Path, section: str, tmp: Path) -> bytes | None:
    """A section of an ELF file, extracted with llvm-objcopy (None if absent)."""
    if OBJCOPY is None:
        pytest.skip("llvm-objcopy is not installed: needed to cut sections out of ELF fixtures")
    out = tmp / (path.name + section)
    r = subprocess.run(
        [OBJCOPY, f"--dump-section={section}={out}", str(path), str(tmp / "discard.o")],
        capture_output=True,
        check=False,
    )
    return out.read_bytes() if r.returncode == 0 and out.exists() else None


def ext_counts(data: bytes) -> dict[str, tuple[int, int]]:
    """(blocks, records) per .BTF.ext subsection, walking the section bytes."""
    bo = "<" if data[:2] == b"\x9f\xeb" else ">"
    hdr_len = struct.unpack_from(bo + "I", data, 4)[0]
    offs = struct.unpack_from(bo + "4I", data, 8)
    subs = [("func_info", offs[0], offs[1]), ("line_info", offs[2], offs[3])]
    if hdr_len >= 32:
        co, cl = struct.unpack_from(bo + "2I", data, 24)
        subs.append(("core_relo", co, cl))
    out = {"func_info": (0, 0), "line_info": (0, 0), "core_relo": (0, 0)}
    for name, off, length in subs:
        if not length:
            continue
        p = hdr_len + off
        end = p + length
        rec_size = struct.unpack_from(bo + "I", data, p)[0]
        p += 4
        blocks = records = 0
        while p < end:
            _sec, n = struct.unpack_from(bo + "2I", data, p)
            p += 8 + n * rec_size
            blocks += 1
            records += n
        out[name] = (blocks, records)
    return out


@pytest.mark.parametrize(("rel", "base_rel"), FIXTURE_CASES, ids=[c[0] for c in FIXTURE_CASES] or None)
def test_stats_match_bpftool_dump(rel: str, base_rel: str | None, plain_dir: Path, tmp_path: Path) -> None:
    btf, path, base = load_case(rel, base_rel, plain_dir)
    st = btf_stats(btf)
    text = check_raw_dump(dump_key(rel, base_rel, "raw"), dump_raw_bytes(btf), path, base, case_inputs(rel, base_rel))
    counts, sizes, dups, named, anon = reference_from_bpftool(text)
    assert {k.kind: k.count for k in st.kinds} == dict(counts)
    assert {k.kind: k.bytes for k in st.kinds} == dict(sizes)
    assert {k.kind: k.duplicates for k in st.kinds if k.duplicates} == dict(dups)
    assert st.nr_types == sum(counts.values())
    assert st.type_bytes == sum(sizes.values())
    assert st.duplicate_types == sum(dups.values())
    assert (st.named_types, st.anon_types) == (named, anon)

    # Section sizes from the header of the .BTF bytes.
    if path.suffix in (".o", ".ko"):
        blob = section_bytes(path, ".BTF", tmp_path)
    else:
        blob = path.read_bytes()
    assert blob is not None
    bo = "<" if blob[:2] == b"\x9f\xeb" else ">"
    hdr_len, _type_off, type_len, _str_off, str_len = struct.unpack_from(bo + "5I", blob, 4)
    assert (st.hdr_bytes, st.type_bytes, st.str_bytes) == (hdr_len, type_len, str_len)
    if len(blob) == hdr_len + type_len + str_len:
        assert st.total_bytes == len(blob)

    # .BTF.ext record counts from the section bytes.
    if path.suffix == ".o":
        ext = section_bytes(path, ".BTF.ext", tmp_path)
        if ext is None:
            assert st.ext is None
        else:
            assert st.ext is not None, "the ELF reader did not attach .BTF.ext"
            want = ext_counts(ext)
            assert {k: (v["blocks"], v["records"]) for k, v in st.ext.items()} == want
            assert st.ext_bytes == len(ext)


def test_duplicates_are_counted_by_name_content_not_offset() -> None:
    """Two copies of the same string at different offsets still name the same type name."""
    from tests import _btf_build as bb

    b = bb.Builder()
    i = b.int_("int")
    b.struct("s", 4, [("a", i, 0)])
    b.strs += b"s\0"  # a second copy of "s"
    b.struct(len(b.strs) - 2, 4, [("a", i, 0)])
    b.struct(0, 4, [("a", i, 0)])  # anonymous: not counted
    b.struct(0, 4, [("a", i, 0)])
    b.typedef("s", i)  # same name, other kind: not a duplicate
    st = btf_stats(btfdedup.load(b.blob()))
    assert st.duplicate_types == 2 and st.duplicate_groups == 1
    assert (st.named_types, st.anon_types) == (4, 2)
    assert {k.kind: k.duplicates for k in st.kinds} == {"INT": 0, "STRUCT": 2, "TYPEDEF": 0}
    assert "2 of 4 named types" in format_stats(st)


def test_stats_cli(edge_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["stats", "--json", str(edge_file), str(edge_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    doc = json.loads(lines[0])
    assert doc["nr_types"] == 31 and doc["kinds"]["ENUM64"]["count"] == 2
    assert doc["total_bytes"] == edge_file.stat().st_size
    assert "ext" not in doc
    assert cli_main(["stats", str(edge_file)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  ENUM64 +2 +72 +0$", out, re.M)
    assert "anonymous types not counted" in out
    bad = tmp_path / "bad.btf"
    bad.write_bytes(b"not btf at all")
    assert cli_main(["stats", str(bad)]) == 1
    assert capsys.readouterr().err.startswith("btfdedup: error:")


module_split_files = _raw.module_split_files
big_plain = _raw.big_plain


@pytest.mark.corpus
def test_corpus_stats_of_every_module(corpora_dir: Path, module_split_files: list[Path]) -> None:
    need_bpftool()
    base_path = corpora_dir / "modules-6.1" / "vmlinux.btf"
    base = btfdedup.load(str(base_path))
    with ThreadPoolExecutor(max_workers=2) as pool:
        refs = pool.map(lambda p: bpftool_raw(p, base_path), module_split_files)
        for p, ref in zip(module_split_files, refs, strict=True):
            st = btf_stats(btfdedup.load(str(p), base=base))
            counts, sizes, dups, named, anon = reference_from_bpftool(ref)
            got = ({k.kind: k.count for k in st.kinds}, {k.kind: k.bytes for k in st.kinds}, st.duplicate_types)
            assert got == (dict(counts), dict(sizes), sum(dups.values())), p.name
            assert (st.named_types, st.anon_types) == (named, anon), p.name
            assert st.total_bytes == p.stat().st_size, p.name
