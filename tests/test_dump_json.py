"""``btfdedup dump --format json`` against ``bpftool -j`` / ``bpftool -p``.

For real files the bytes are identical.  For names with a backslash bpftool's
escaping is broken (it writes ``\\n``); ours writes ``\\\\``, so the corner-case
test compares after correcting that one name in bpftool's text.  bpftool's outputs
are committed in ``tests/expected/bpftool_dump.json``: the comparisons run, and fail
on a difference, without bpftool too (see :mod:`tests.expected`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import btfdedup
import tests.test_dump_raw as _raw
from btfdedup.cli.main import main as cli_main
from btfdedup.render.json import dump_json, dump_json_bytes
from tests import _btf_build as bb
from tests.expected import BPFTOOL_DUMP, case_key
from tests.test_dump_raw import (
    EDGE_KEY,
    FIXTURE_CASES,
    big_file,
    bpftool_json,
    bpftool_raw,
    case_inputs,
    dump_key,
    edge_blob,
    load_case,
)

# fixtures shared with the raw-dump tests
big_plain = _raw.big_plain
edge_file = _raw.edge_file
module_split_files = _raw.module_split_files
plain_dir = _raw.plain_dir


def json_diff(ours: bytes, ref: bytes) -> str:
    for i, (x, y) in enumerate(zip(ours, ref, strict=False)):
        if x != y:
            return f"byte {i}: ours {ours[max(0, i - 80) : i + 40]!r} != bpftool {ref[max(0, i - 80) : i + 40]!r}"
    return f"ours {len(ours)} bytes, bpftool {len(ref)}"


def _fmt(pretty: bool) -> str:
    return "-p" if pretty else "-j"


@pytest.mark.parametrize(("rel", "base_rel"), FIXTURE_CASES, ids=[c[0] for c in FIXTURE_CASES] or None)
def test_json_matches_bpftool(rel: str, base_rel: str | None, plain_dir: Path) -> None:
    btf, path, base = load_case(rel, base_rel, plain_dir)
    # Pretty output of the big fixtures is left to the corpus tests (bpftool -p takes seconds there).
    for pretty in (False, True) if btf.nr_types < 20000 else (False,):
        ours = dump_json_bytes(btf, pretty=pretty)
        BPFTOOL_DUMP.check(dump_key(rel, base_rel, _fmt(pretty)), ours,
                           lambda _tool, p=pretty: bpftool_json(path, base, pretty=p),  # type: ignore[misc]
                           inputs=case_inputs(rel, base_rel), text=True)


def test_json_corner_cases(edge_file: Path) -> None:
    btf = btfdedup.load(str(edge_file))
    for pretty in (False, True):
        ours = dump_json_bytes(btf, pretty=pretty)
        # bpftool's json_writer prints a backslash as "\n"; we print a valid "\\".  Ours,
        # given bpftool's one wrong escape back, must be bpftool's bytes.
        assert ours.count(b'"back\\\\sl"') == 1
        as_bpftool = ours.replace(b'"back\\\\sl"', b'"back\\nsl"')
        BPFTOOL_DUMP.check(f"{EDGE_KEY} {_fmt(pretty)}", as_bpftool,
                           lambda _tool, p=pretty: bpftool_json(edge_file, pretty=p),  # type: ignore[misc]
                           inputs=edge_blob(), text=True)
    doc = json.loads(ours.decode("utf-8", "surrogateescape"))
    by_id = {t["id"]: t for t in doc["types"]}
    assert [v["val"] for v in by_id[2]["values"]] == [-1, 5, -(2**31)]
    assert [v["val"] for v in by_id[3]["values"]] == [2**64 - 1, 1 << 40]
    assert [v["val"] for v in by_id[4]["values"]] == [-1, -(2**63)]
    # unsigned 32-bit ENUM: bpftool sign-extends the __s32 into its uint64 field
    assert [v["val"] for v in by_id[31]["values"]] == [2**64 - 1, 2**64 - 2]
    names = [m["name"] for m in by_id[12]["members"]]
    assert names == ["q'uote", "back\\sl", "(anon)", b"\xff\xfe".decode("utf-8", "surrogateescape"), "tab\there"]
    assert "bitfield_size" in by_id[12]["members"][0] and "bitfield_size" not in by_id[12]["members"][1]


def test_json_is_valid_for_every_control_byte(tmp_path: Path) -> None:
    b = bb.Builder()
    i = b.int_("int")
    name = bytes(range(1, 32)) + b'"\\/'
    b.struct("s", 4, [(name, i, 0)])
    btf = btfdedup.load(b.blob())
    for pretty in (False, True):
        doc = json.loads(dump_json(btf, pretty=pretty))
        assert doc["types"][1]["members"][0]["name"].encode() == name


def test_empty_split_btf(edge_file: Path, tmp_path: Path) -> None:
    """No types: bpftool prints nothing (raw) and an empty list (JSON)."""
    empty = tmp_path / "empty.btf"
    empty.write_bytes(bb.Builder().blob(str_len=0)[:24])
    base = btfdedup.load(str(edge_file))
    btf = btfdedup.load(str(empty), base=base)
    assert btf.nr_types == 0
    from btfdedup.render.raw import dump_raw_bytes

    inputs = [empty.read_bytes(), edge_blob()]
    assert dump_raw_bytes(btf) == b""
    BPFTOOL_DUMP.check(case_key("empty split on edge_blob raw"), dump_raw_bytes(btf),
                       lambda _tool: bpftool_raw(empty, edge_file), inputs=inputs, text=True)
    for pretty in (False, True):
        BPFTOOL_DUMP.check(case_key(f"empty split on edge_blob {_fmt(pretty)}"), dump_json_bytes(btf, pretty=pretty),
                           lambda _tool, p=pretty: bpftool_json(empty, edge_file, pretty=p),  # type: ignore[misc]
                           inputs=inputs, text=True)


def test_json_ids_and_cli(edge_file: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    btf = btfdedup.load(str(edge_file))
    assert [t["id"] for t in json.loads(dump_json(btf, [5, 1]))["types"]] == [5, 1]
    assert cli_main(["dump", str(edge_file), "--format", "json"]) == 0
    assert capsysbinary.readouterr().out == dump_json_bytes(btf)
    assert cli_main(["dump", str(edge_file), "--pretty", "--id", "2"]) == 0
    out = capsysbinary.readouterr().out
    assert out == dump_json_bytes(btf, [2], pretty=True)
    assert out.startswith(b'{\n    "types": [{\n            "id": 2,\n')
    assert cli_main(["dump", str(edge_file), "--format", "raw", "--json"]) == 2  # conflicting options: a usage error


def test_json_is_the_same_in_chunks_of_any_size(edge_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk stops and resumes only between whole types: tiny chunks (one type
    each, and a struct bigger than a chunk growing it) give the same document."""
    import btfdedup.render.raw as raw_mod

    b = bb.Builder()
    i = b.int_("int")
    b.struct("big", 4 * 300, [(f"member_{n:04d}", i, 32 * n) for n in range(300)])
    for btf in (btfdedup.load(str(edge_file)), btfdedup.load(b.blob())):
        for pretty in (False, True):
            whole = dump_json_bytes(btf, pretty=pretty)
            with monkeypatch.context() as m:
                m.setattr(raw_mod, "CHUNK_BYTES", 256)
                assert dump_json_bytes(btf, pretty=pretty) == whole


# ------------------------------------------------------------- big corpora
@pytest.mark.corpus
def test_corpus_json_vmlinux(corpora_dir: Path, big_plain: Path) -> None:
    for rel in ("vmlinux-6.18.btf.xz", "modules-6.1/vmlinux.btf"):
        p = big_file(corpora_dir, rel, big_plain)
        btf = btfdedup.load(str(p))
        for pretty in (False, True):
            ours = dump_json_bytes(btf, pretty=pretty)
            ref = bpftool_json(p, pretty=pretty)
            assert ours == ref, f"{rel} pretty={pretty}: {json_diff(ours, ref)}"


@pytest.mark.corpus
def test_corpus_json_module_sample(corpora_dir: Path, module_split_files: list[Path]) -> None:
    base_path = corpora_dir / "modules-6.1" / "vmlinux.btf"
    base = btfdedup.load(str(base_path))
    sample = module_split_files[::10]
    for p in sample:
        btf = btfdedup.load(str(p), base=base)
        ours = dump_json_bytes(btf)
        ref = bpftool_json(p, base_path)
        assert ours == ref, f"{p.name}: {json_diff(ours, ref)}"
    # and parsed, for a few pretty ones
    for p in sample[:5]:
        btf = btfdedup.load(str(p), base=base)
        assert json.loads(dump_json(btf, pretty=True)) == json.loads(bpftool_json(p, base_path, pretty=True))
