"""``btfdedup dump`` raw text against bpftool's own output, byte for byte.

The judge is the installed ``bpftool btf dump file F format raw`` (Debian's
7.1.0; ``-B BASE`` for split BTF).  Its output for every committed fixture and
hand-built case is committed in ``tests/expected/bpftool_dump.json`` (sha256 and
size; the text when small), so every comparison runs, and fails on a difference,
without bpftool; with it, the live comparison runs too (see :mod:`tests.expected`).  Default tests cover every committed fixture
under ``corpora/`` plus a hand-built BTF with the corner cases real files lack
(signed ENUM, ENUM64 extremes, unknown linkages, DATASEC entries pointing at
void, odd name bytes); ``corpus`` tests cover the big corpora.

The helpers here (bpftool runner, fixture discovery, decompression) are reused
by the JSON and stats tests.
"""

from __future__ import annotations

import importlib.util
import io
import json
import lzma
import shutil
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import btfdedup
from btfdedup.cli.main import main as cli_main
from btfdedup.errors import BtfUsageError
from btfdedup.render.raw import dump_raw, dump_raw_bytes, write_raw
from tests import _btf_build as bb
from tests.conftest import FIXTURES
from tests.expected import BPFTOOL_DUMP
from tests.oracle.libbpf import find_bpftool

BPFTOOL = find_bpftool()
HAVE_ELF = importlib.util.find_spec("btfdedup.io.elf") is not None
MODULE_BASE_XZ = FIXTURES / "modules" / "vmlinux-6.1.btf.xz"


# ------------------------------------------------------------------ helpers
def need_bpftool() -> str:
    if BPFTOOL is None:
        pytest.skip("bpftool is not installed: it is the reference for the dump format")
    return BPFTOOL


def bpftool_version() -> str:
    out = subprocess.run([need_bpftool(), "version"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0] if out else "unknown"


def run_bpftool(args: list[str]) -> bytes:
    """bpftool's stdout; a failure fails the test with its stderr."""
    r = subprocess.run([need_bpftool(), *args], capture_output=True, check=False)
    if r.returncode != 0:
        raise AssertionError(f"bpftool {' '.join(args)} failed ({r.returncode}): {r.stderr.decode(errors='replace')}")
    return r.stdout


def bpftool_raw(path: Path, base: Path | None = None) -> bytes:
    return run_bpftool((["-B", str(base)] if base else []) + ["btf", "dump", "file", str(path), "format", "raw"])


def bpftool_json(path: Path, base: Path | None = None, pretty: bool = False) -> bytes:
    return run_bpftool(
        (["-B", str(base)] if base else []) + ["-p" if pretty else "-j", "btf", "dump", "file", str(path)]
    )


def dump_key(rel: str, base_rel: str | None, fmt: str) -> str:
    """Expectation key of bpftool's dump of the fixture ``corpora/<rel>`` (on a base) in ``fmt``."""
    on = f" on corpora/{base_rel}" if base_rel else ""
    return f"corpora/{rel}{on}::btf dump {fmt}"


def case_inputs(rel: str, base_rel: str | None) -> list[bytes]:
    """The fixture files a dump reads (for the expectation's input digest)."""
    return [(FIXTURES / r).read_bytes() for r in (rel, base_rel) if r]


#: key of the hand-built corner-case blob (:func:`edge_blob`), shared by several tests
EDGE_KEY = "tests/test_dump_raw.py::edge_blob::btf dump"


def check_raw_dump(key: str, ours: bytes, path: Path, base: Path | None, inputs: bytes | list[bytes]) -> bytes:
    """Our raw dump against bpftool's (committed, and live when installed); returns bpftool's text."""
    return BPFTOOL_DUMP.check(key, ours, lambda _tool: bpftool_raw(path, base), inputs=inputs, text=True)


def first_diff(ours: bytes, ref: bytes) -> str:
    """Human description of the first differing line."""
    a, b = ours.split(b"\n"), ref.split(b"\n")
    for n, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"line {n + 1}: ours {x[:200]!r} != bpftool {y[:200]!r} ({bpftool_version()})"
    return f"ours has {len(a)} lines, bpftool {len(b)}"


def plain(path: Path, tmp: Path) -> Path:
    """``path`` itself, or its decompressed copy under ``tmp`` for ``.xz`` inputs."""
    if path.suffix != ".xz":
        return path
    out = tmp / path.name[: -len(".xz")]
    if not out.exists():
        with lzma.open(path) as f, open(out, "wb") as g:
            shutil.copyfileobj(f, g, 1 << 20)
    return out


def need_elf(path: Path) -> None:
    if path.suffix in (".o", ".ko") and not HAVE_ELF:
        pytest.skip("the ELF reader (btfdedup.io.elf) is not available yet")


def fixture_cases() -> list[tuple[str, str | None]]:
    """Committed inputs bpftool can read: (path relative to corpora/, base or None).

    Files under ``modules/`` are split BTF on the 6.1 vmlinux base, unless a
    ``<stem>.base.btf`` sits next to them (distilled base), which is then the base.
    """
    cases: list[tuple[str, str | None]] = []
    if not FIXTURES.is_dir():
        return cases
    base_rel = str(MODULE_BASE_XZ.relative_to(FIXTURES)) if MODULE_BASE_XZ.exists() else None
    for p in sorted(FIXTURES.rglob("*")):
        if not p.is_file() or p.suffix not in (".btf", ".o", ".ko", ".xz"):
            continue
        rel = str(p.relative_to(FIXTURES))
        if p.name.endswith(".ko.xz"):
            continue  # bpftool cannot read compressed modules
        own_base = p.with_name(p.name.rsplit(".", 1)[0] + ".base.btf")  # e.g. a distilled base
        if own_base.exists():
            cases.append((rel, str(own_base.relative_to(FIXTURES))))
        elif p.parent.name == "modules" and p != MODULE_BASE_XZ and not p.name.endswith(".base.btf"):
            if base_rel is None:
                continue
            cases.append((rel, base_rel))
        else:
            cases.append((rel, None))
    return cases


FIXTURE_CASES = fixture_cases()


@pytest.fixture(scope="session")
def plain_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("plain")


_BASES: dict[Path, btfdedup.Btf] = {}


def load_base(path: Path) -> btfdedup.Btf:
    """A base BTF, parsed once per test session (bases are never modified)."""
    if path not in _BASES:
        _BASES[path] = btfdedup.load(str(path))
    return _BASES[path]


def load_case(rel: str, base_rel: str | None, tmp: Path) -> tuple[btfdedup.Btf, Path, Path | None]:
    """Our Btf of a fixture, and the plain paths to give bpftool."""
    path = plain(FIXTURES / rel, tmp)
    need_elf(path)
    base = plain(FIXTURES / base_rel, tmp) if base_rel else None
    # An ELF with a distilled .BTF.base carries its base; bpftool 7.1.0 needs it given.
    ours_base = None if base is None or (path.suffix == ".ko" and base.name.endswith(".base.btf")) else base
    btf = btfdedup.load(str(path), base=load_base(ours_base) if ours_base else None)
    return btf, path, base


# ------------------------------------------------------------ committed fixtures
def test_fixtures_present() -> None:
    assert FIXTURE_CASES, "no committed fixtures under corpora/"


@pytest.mark.parametrize(("rel", "base_rel"), FIXTURE_CASES, ids=[c[0] for c in FIXTURE_CASES] or None)
def test_raw_dump_matches_bpftool(rel: str, base_rel: str | None, plain_dir: Path) -> None:
    btf, path, base = load_case(rel, base_rel, plain_dir)
    check_raw_dump(dump_key(rel, base_rel, "raw"), dump_raw_bytes(btf), path, base, case_inputs(rel, base_rel))


def test_compressed_module_dumps_like_the_plain_one(plain_dir: Path) -> None:
    ko = FIXTURES / "modules" / "8021q.ko"
    base_rel = str(MODULE_BASE_XZ.relative_to(FIXTURES))
    base = btfdedup.load(str(plain(MODULE_BASE_XZ, plain_dir)))
    ref = check_raw_dump(dump_key("modules/8021q.ko", base_rel, "raw"), dump_raw_bytes(btfdedup.load(str(ko), base=base)),
                         ko, plain(MODULE_BASE_XZ, plain_dir), case_inputs("modules/8021q.ko", base_rel))
    for name in ("8021q.ko.xz", "8021q.ko.zst", "8021q.ko.gz"):
        p = FIXTURES / "modules" / name
        assert dump_raw_bytes(btfdedup.load(str(p), base=base)) == ref, name


# ------------------------------------------------------------- hand-built corners
def edge_blob() -> bytes:
    """One BTF with every kind and the value/linkage/name corner cases.

    Built with the test-side builder (not our writer); libbpf 1.1 accepts it.
    """
    b = bb.Builder()
    i = b.int_("int")  # 1
    b.enum("e_s", 4, [("A", -1), ("B", 5), ("C", -(2**31))], signed=1)  # 2
    b.enum64("e64u", 8, [("X", 2**64 - 1), ("Y", 1 << 40)])  # 3
    b.enum64("e64s", 8, [("P", -1), ("Q", -(2**63))], signed=1)  # 4
    v = b.var("v", i, linkage=2)  # 5 extern
    b.func("f", 7, linkage=2)  # 6 extern
    b.func_proto(0, [(0, i), ("u", 2)])  # 7
    b.datasec(".sec", 16, [(v, 0, 4), (0, 4, 4), (i, 8, 4)])  # 8: entry naming void
    b.decl_tag("tag", i, -1)  # 9
    b.decl_tag("tag", 12, 2)  # 10
    b.type_tag("tt", i)  # 11
    b.struct(  # 12: kind_flag bitfields, a zero-size one, odd name bytes
        "s",
        8,
        [("q'uote", i, (3 << 24) | 5), ("back\\sl", i, 0), (0, 2, 32), (b"\xff\xfe", i, 40), ("tab\there", i, 48)],
        kflag=1,
    )
    b.fwd("fw", union=1)  # 13
    b.float_("float", 8)  # 14
    b.int_("char", 1, 8, enc=2)  # 15
    b.int_("_Bool", 1, 1, enc=4)  # 16
    b.int_("weird", 4, 30, enc=3, off=2)  # 17: SIGNED|CHAR -> UNKN
    b.struct(0, 4, [(0, i, 0)], union=True)  # 18
    b.array(i, i, 7)  # 19
    b.ptr(0)  # 20
    b.enum(0, 4, [])  # 21
    b.var("v", i, linkage=7)  # 22 unknown linkage
    b.func("f", 7, linkage=0)  # 23 static
    b.func("g", 7, linkage=3)  # 24 unknown linkage
    b.const(20)  # 25
    b.volatile(23)  # 26
    b.ref(bb.RESTRICT, 20)  # 27
    b.typedef(0, 0)  # 28
    b.struct("empty", 0, [])  # 29
    b.fwd("fs")  # 30
    b.enum("e_u", 1, [("big", 0xFFFFFFFF), ("neg", -2)])  # 31 unsigned, values past INT_MAX
    return b.blob()


@pytest.fixture(scope="module")
def edge_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("edge") / "edge.btf"
    p.write_bytes(edge_blob())
    return p


def test_raw_dump_corner_cases_match_bpftool(edge_file: Path) -> None:
    ours = dump_raw_bytes(btfdedup.load(str(edge_file)))
    check_raw_dump(f"{EDGE_KEY} raw", ours, edge_file, None, edge_blob())
    # The corners really are in there (guards against a builder regression).
    for needle in (
        b"val=-9223372036854775808LL",
        b"val=18446744073709551615ULL",
        b"linkage=(unknown)",
        b"(UNKNOWN '(anon)')",
        b"encoding=UNKN",
        b"fwd_kind=union",
        b"component_idx=2",
        b"bitfield_size=3",
        b"\xff\xfe",
        b"'C' val=-2147483648",
        b"'big' val=4294967295",
    ):
        assert needle in ours, needle


def test_dump_raw_yields_one_string_per_type(edge_file: Path) -> None:
    btf = btfdedup.load(str(edge_file))
    parts = list(dump_raw(btf))
    assert len(parts) == btf.nr_types
    assert all(p.startswith(f"[{n}] ") and p.endswith("\n") for n, p in enumerate(parts, start=1))
    joined = "".join(parts).encode("utf-8", "surrogateescape")
    assert joined == dump_raw_bytes(btf)
    text, binary = io.StringIO(), io.BytesIO()
    assert write_raw(btf, text) == write_raw(btf, binary) == len(joined)
    assert text.getvalue() == "".join(parts) and binary.getvalue() == joined
    check_raw_dump(f"{EDGE_KEY} raw", joined, edge_file, None, edge_blob())


def test_ids_select_types_in_order_including_base(plain_dir: Path, edge_file: Path) -> None:
    btf = btfdedup.load(str(edge_file))
    full = list(dump_raw(btf))
    assert list(dump_raw(btf, [12, 2, 12])) == [full[11], full[1], full[11]]
    with pytest.raises(BtfUsageError, match="type ID 32"):
        list(dump_raw(btf, [1, 32]))
    with pytest.raises(BtfUsageError, match="type ID 0"):
        list(dump_raw(btf, [0]))
    split = FIXTURES / "modules" / "dummy.btf"
    if not split.exists() or not MODULE_BASE_XZ.exists():
        pytest.skip("module fixtures not present")
    base = btfdedup.load(str(plain(MODULE_BASE_XZ, plain_dir)))
    mod = btfdedup.load(str(split), base=base)
    base_full = dump_raw_bytes(base).split(b"\n[")
    got = dump_raw_bytes(mod, [1, mod.start_id])
    assert got.startswith(base_full[0] + b"\n[" + str(mod.start_id).encode())


def test_a_type_larger_than_one_output_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """A struct whose text exceeds the chunk buffer grows the buffer instead of looping."""
    import btfdedup.render.raw as raw_mod

    b = bb.Builder()
    i = b.int_("int")
    b.struct("big", 4 * 300, [(f"member_{n:04d}", i, 32 * n) for n in range(300)])
    btf = btfdedup.load(b.blob())
    whole = dump_raw_bytes(btf)
    monkeypatch.setattr(raw_mod, "CHUNK_BYTES", 256)
    assert dump_raw_bytes(btf) == whole
    assert whole.count(b"\n") == 302


# ---------------------------------------------------------------------- CLI
def test_cli_dump_raw_and_bad_id(edge_file: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert cli_main(["dump", str(edge_file)]) == 0
    out = capsysbinary.readouterr().out
    assert out == dump_raw_bytes(btfdedup.load(str(edge_file)))
    assert cli_main(["dump", str(edge_file), "--id", "5", "--id", "1"]) == 0
    out = capsysbinary.readouterr().out
    assert out.startswith(b"[5] VAR 'v' type_id=1, linkage=extern\n[1] INT 'int'")
    assert cli_main(["dump", str(edge_file), "--id", "999"]) == 1
    err = capsysbinary.readouterr().err
    assert b"btfdedup: error:" in err and b"999" in err


def test_cli_dump_subprocess_exit_codes(edge_file: Path, tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "btfdedup", "dump", str(edge_file)], capture_output=True, check=False)
    assert r.returncode == 0, r.stderr
    check_raw_dump(f"{EDGE_KEY} raw", r.stdout, edge_file, None, edge_blob())
    bad = tmp_path / "bad.btf"
    bad.write_bytes(b"\x9f\xeb\x01\x00garbage")
    r = subprocess.run([sys.executable, "-m", "btfdedup", "dump", str(bad)], capture_output=True, check=False)
    assert r.returncode == 1
    assert r.stdout == b""
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("btfdedup: error:") and "bad.btf" in lines[0]
    assert cli_main(["dump", str(tmp_path / "missing.btf")]) == 1


# ------------------------------------------------------------- big corpora
@pytest.fixture(scope="session")
def big_plain(corpora_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scratch directory for decompressed big-corpus files."""
    return tmp_path_factory.mktemp("bigcorp")


def big_file(corpora_dir: Path, rel: str, tmp: Path) -> Path:
    p = corpora_dir / rel
    if not p.exists():
        pytest.skip(f"{rel} not in the big corpora")
    return plain(p, tmp)


@pytest.fixture(scope="session")
def module_split_files(corpora_dir: Path, big_plain: Path) -> list[Path]:
    """All module split files, extracted from modules-6.1/split.tar.xz."""
    tar = corpora_dir / "modules-6.1" / "split.tar.xz"
    if not tar.exists():
        pytest.skip("modules-6.1/split.tar.xz not in the big corpora")
    out = big_plain / "modules"
    if not out.exists():
        out.mkdir()
        with tarfile.open(tar) as t:
            t.extractall(out, filter="data")
    return sorted(out.rglob("*.btf"))


def compare_many(cases: list[tuple[Path, Path | None]]) -> list[str]:
    """Run bpftool on many files (2 at a time) and compare with our dumps."""
    need_bpftool()
    bases: dict[Path, btfdedup.Btf] = {}

    def ours(path: Path, base: Path | None) -> bytes:
        if base is not None and base not in bases:
            bases[base] = btfdedup.load(str(base))
        return dump_raw_bytes(btfdedup.load(str(path), base=bases[base] if base else None))

    bad: list[str] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        refs = pool.map(lambda c: bpftool_raw(*c), cases)
        for (path, base), ref in zip(cases, refs, strict=True):
            got = ours(path, base)
            if got != ref:
                bad.append(f"{path.name}: {first_diff(got, ref)}")
    return bad


@pytest.mark.corpus
def test_corpus_vmlinux_6_18(corpora_dir: Path, big_plain: Path) -> None:
    p = big_file(corpora_dir, "vmlinux-6.18.btf.xz", big_plain)
    assert compare_many([(p, None)]) == []


@pytest.mark.corpus
def test_corpus_vmlinux_6_1_base(corpora_dir: Path, big_plain: Path) -> None:
    p = big_file(corpora_dir, "modules-6.1/vmlinux.btf", big_plain)
    assert compare_many([(p, None)]) == []


@pytest.mark.corpus
def test_corpus_all_module_split_files(corpora_dir: Path, module_split_files: list[Path]) -> None:
    base = corpora_dir / "modules-6.1" / "vmlinux.btf"
    assert len(module_split_files) >= 1000
    bad = compare_many([(p, base) for p in module_split_files])
    assert bad == [], f"{len(bad)} of {len(module_split_files)} differ; first: {bad[:3]}"


@pytest.mark.corpus
def test_corpus_vmlinux_raw(corpora_dir: Path, big_plain: Path) -> None:
    p = big_file(corpora_dir, "vmlinux-6.1-raw/vmlinux-raw.btf.xz", big_plain)
    ours = dump_raw_bytes(btfdedup.load(str(p)))
    ref = bpftool_raw(p)
    assert len(ours) == len(ref) and ours == ref, first_diff(ours, ref)


@pytest.mark.corpus
def test_corpus_bpf_objects(corpora_dir: Path) -> None:
    objs = sorted((corpora_dir / "bpf-objects").rglob("*.o"))
    if not objs:
        pytest.skip("no bpf-objects in the big corpora")
    need_elf(objs[0])
    bad = compare_many([(p, None) for p in objs])
    assert bad == [], bad[:3]


def test_rules_for_records_libbpf_refuses_to_load() -> None:
    """libbpf 1.1 rejects these at parse time, so bpftool never prints them; the
    expected text follows bpftool's printing rules (btf.c: ``btf_str`` prints
    ``(invalid)`` for a bad offset, ``btf_kind_safe`` maps unknown kinds to
    ``UNKNOWN`` with no fields, a DATASEC entry past the last type has no suffix)."""
    import numpy as np

    from btfdedup.model.btf import Btf
    from btfdedup.model.strings import StringTable

    words = np.array(
        [
            0, 0, 0,  # [1] kind 0
            1, 1 << 24, 4, 32,  # [2] INT 'x'
            999, 8 << 24, 2,  # [3] TYPEDEF, name offset past the strings
            0, (15 << 24) | 2, 8, 2, 0, 4, 77, 4, 4,  # [4] DATASEC: entry [2] and entry 77
        ],
        dtype=np.uint32,
    )  # fmt: skip
    starts = np.array([0, 3, 7, 10, 19], dtype=np.int64)
    btf = Btf(words, starts, StringTable(b"\0x\0"))
    assert dump_raw_bytes(btf).decode().splitlines() == [
        "[1] UNKNOWN '(anon)'",
        "[2] INT 'x' size=4 bits_offset=0 nr_bits=32 encoding=(none)",
        "[3] TYPEDEF '(invalid)' type_id=2",
        "[4] DATASEC '(anon)' size=8 vlen=2",
        "\ttype_id=2 offset=0 size=4 (INT 'x')",
        "\ttype_id=77 offset=4 size=4",
    ]
    from btfdedup.render.json import dump_json

    doc = json.loads(dump_json(btf))
    assert [(t["kind"], t["name"]) for t in doc["types"]] == [
        ("UNKNOWN", "(anon)"),
        ("INT", "x"),
        ("TYPEDEF", "(invalid)"),
        ("DATASEC", "(anon)"),
    ]


def test_walk_checks_each_record_fits_the_type_section() -> None:
    """The compiled walk bounds every record it prints by the type section itself:
    a STRUCT whose members run past the last word raises :class:`BtfFormatError`
    naming the type, in every format, instead of reading beyond the words."""
    import numpy as np

    from btfdedup.errors import BtfFormatError
    from btfdedup.format.constants import Kind
    from btfdedup.render.walk import FORMAT_JSON, FORMAT_JSON_PRETTY, FORMAT_RAW, dump_chunk

    def walk(words: list[int], fmt: int) -> tuple[int, bytes | None]:
        return dump_chunk(
            np.array(words, dtype=np.uint32), np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64), 7,
            np.frombuffer(b"\0s\0", dtype=np.uint8), np.zeros(8, dtype=np.uint8), np.zeros(8, dtype=np.uint32),
            8, 0, 4096, np.zeros(0, dtype=np.int64), fmt,
        )

    complete = [1, (int(Kind.STRUCT) << 24) | 1, 4, 0, 0, 0]
    assert walk(complete, FORMAT_RAW) == (1, b"[7] STRUCT 's' size=4 vlen=1\n\t'(anon)' type_id=0 bits_offset=0\n")
    for fmt in (FORMAT_RAW, FORMAT_JSON, FORMAT_JSON_PRETTY):
        with pytest.raises(BtfFormatError, match=r"type ID 7: record runs past the end of the type section"):
            walk(complete[:-1], fmt)
