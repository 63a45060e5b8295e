"""``dump --ext`` / ``stats --ext``: the ``.BTF.ext`` that ``dedup --ext`` writes can be read back.

bpftool has no text form for ``.BTF.ext``, so the dump's format is ours
(btfdedup/render/ext.py).  The checks: the records read back from ``OUT.ext``
are the object's own records, name for name, with the type IDs the dedup gave
them (each func_info names a FUNC, each CO-RE record the same type as before);
the counts equal the ones in the object; libbpf's ``btf_ext__new`` accepts the
file where the oracle exists.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import btfdedup
from btfdedup.cli.main import main
from btfdedup.model.ext import parse_ext
from btfdedup.render.ext import CORE_RELO_KINDS, format_ext
from tests.conftest import FIXTURES

OBJS = ["types.bpf.o", "maps.bpf.o", "tags.bpf.o"]


@pytest.fixture(scope="module", params=OBJS)
def deduped(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    obj = FIXTURES / "bpf" / request.param
    out = tmp_path_factory.mktemp("ext") / "out.btf"
    assert main(["dedup", str(obj), "--ext", "-o", str(out)]) == 0
    ext = Path(str(out) + ".ext")
    assert ext.exists()
    return obj, out, ext


def _without_ids(text: str) -> str:
    """The text without type IDs and string offsets, which the dedup renumbers."""
    return re.sub(r"sec_name_off \d+", "sec_name_off #", re.sub(r"\[\d+\] ", "[#] ", text))


def test_dump_ext_reads_back_the_objects_records(
    deduped: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    obj, out, ext = deduped
    assert main(["dump", str(out), "--ext", str(ext)]) == 0
    text = capsys.readouterr().out
    assert main(["dump", str(out)]) == 0
    types_only = capsys.readouterr().out
    assert text.startswith(types_only + "\n.BTF.ext: ")
    ext_text = text[len(types_only) + 1 :]
    # Same records as the object's own .BTF.ext, read through the object's own .BTF;
    # the sections, strings, kinds and names agree, only type IDs were renumbered.
    original = btfdedup.load(obj)
    assert original.ext is not None
    assert _without_ids(ext_text) == _without_ids(format_ext(original, original.ext))
    # An ELF object as EXT: its own section.
    assert main(["dump", str(obj), "--ext", str(obj)]) == 0
    assert capsys.readouterr().out.endswith(format_ext(original, original.ext))


def test_dump_json_ext_is_the_last_member(deduped: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    import json

    _obj, out, ext_path = deduped
    btf = btfdedup.load(out)
    ext = parse_ext(ext_path.read_bytes(), byteorder=btf.byteorder)
    assert main(["dump", "--json", str(out)]) == 0
    plain = json.loads(capsys.readouterr().out)
    for flag in ("--json", "--pretty"):
        assert main(["dump", flag, str(out), "--ext", str(ext_path)]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert list(doc) == ["types", "btf_ext"] and doc["types"] == plain["types"]
        got = doc["btf_ext"]
        for sub in ext.subsections:
            if not sub.present:
                assert got[sub.name] is None
                continue
            recs = [r for sec in got[sub.name]["sections"] for r in sec["records"]]
            assert len(recs) == sub.nr_records and got[sub.name]["rec_size"] == sub.rec_size
            assert [r["insn_off"] for r in recs] == sub.field(0).tolist()
        if ext.func_info.present:
            assert {r["kind"] for sec in got["func_info"]["sections"] for r in sec["records"]} == {"FUNC"}


def test_func_info_names_funcs_and_relo_kinds_are_known(deduped: tuple[Path, Path, Path]) -> None:
    _obj, out, ext_path = deduped
    btf = btfdedup.load(out)
    ext = parse_ext(ext_path.read_bytes(), byteorder=btf.byteorder)
    text = format_ext(btf, ext)
    funcs = [ln for ln in text.splitlines() if ln.startswith("    insn_off") and "FUNC" in ln]
    assert len(funcs) >= ext.func_info.nr_records
    assert "<no such type>" not in text and "<bad string offset" not in text
    kinds = {int(k) for k in ext.core_relo.field(3).tolist()} if ext.core_relo.present else set()
    assert all(k < len(CORE_RELO_KINDS) for k in kinds)


def test_stats_ext_counts_the_records(deduped: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    import json

    obj, out, ext = deduped
    assert main(["stats", "--json", str(out), "--ext", str(ext)]) == 0
    got = json.loads(capsys.readouterr().out)["ext"]
    assert main(["stats", "--json", str(obj)]) == 0
    want = json.loads(capsys.readouterr().out)["ext"]
    for name in ("func_info", "line_info", "core_relo"):
        assert got[name] == want[name], name
    assert got["bytes"] == ext.stat().st_size
    assert main(["stats", str(out), "--ext", str(ext)]) == 0
    assert "  .BTF.ext: " in capsys.readouterr().out


def test_libbpf_accepts_the_written_ext(deduped: tuple[Path, Path, Path]) -> None:
    """libbpf v1.6 parses the written OUT.ext and hands back the same bytes (live where
    pylibbpf is installed, else its committed answer)."""
    from tests.expected import PARSE_V16

    obj, _out, ext = deduped
    data = ext.read_bytes()

    def judge(lib: Any) -> bytes:
        with lib.btf_ext_new(data) as h:
            return bytes(lib.btf_ext_raw_data(h))

    PARSE_V16.check(f"tests/test_cli_ext_input.py::dedup --ext {obj.name} output read back", data, judge, inputs=data)


def test_bad_ext_inputs_are_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cu = str(FIXTURES / "cus" / "cu1412.btf")
    missing = str(tmp_path / "nope.ext")
    for verb in ("dump", "stats"):
        assert main([verb, cu, "--ext", missing]) == 1
        assert capsys.readouterr().err.splitlines() == [f"btfdedup: error: {missing}: no such file or directory"]
    junk = tmp_path / "junk.ext"
    junk.write_bytes(b"\x01\x02\x03\x04\x05\x06\x07\x08\x09")
    assert main(["dump", cu, "--ext", str(junk)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"btfdedup: error: {junk}, offset 0x0: bad .BTF.ext magic")
    assert main(["dump", cu, "--ext", cu]) == 1  # an ELF-less, non-.BTF.ext file: the magic is BTF's, not ext's
    assert capsys.readouterr().err.startswith("btfdedup: error: ")
