"""``btfdedup validate``: problem lines, OK summaries, JSON, exit status, --base and --kernel-version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btfdedup.cli.main import main
from tests._btf_build import Builder
from tests._mutations import rich
from tests.conftest import FIXTURES


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    b, ids = rich()
    good = tmp_path / "good.btf"
    good.write_bytes(b.blob())
    b.types[ids["float"] - 1][2] = 3
    b.types[ids["typedef"] - 1][0] = 0
    bad = tmp_path / "bad.btf"
    bad.write_bytes(b.blob())
    t = Builder()
    i = t.int_()
    t.ptr(t.type_tag("attr", i, kflag=1))
    tag = tmp_path / "tag.btf"
    tag.write_bytes(t.blob())
    return {"good": good, "bad": bad, "tag": tag}


def test_ok_and_problems(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["validate", str(files["good"]), str(files["bad"])])
    out = capsys.readouterr().out.splitlines()
    assert rc == 1
    assert out[0] == f"{files['good']}: OK"
    assert out[1] == f"{files['bad']}: [11] TYPEDEF (anon): Invalid name"
    assert out[2] == f"{files['bad']}: [17] FLOAT 'double': Invalid type_size"
    assert out[3] == f"{files['bad']}: 2 problems"


def test_clean_exit_zero(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(files["good"])]) == 0
    assert capsys.readouterr().out == f"{files['good']}: OK\n"


def test_json(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["validate", "--json", str(files["bad"])])
    line = capsys.readouterr().out.strip()
    assert rc == 1 and "\n" not in line
    doc = json.loads(line)
    assert doc["ok"] is False and doc["file"] == str(files["bad"])
    assert [p["reason"] for p in doc["problems"]] == ["Invalid name", "Invalid type_size"]
    assert doc["problems"][1]["type_id"] == 17 and doc["problems"][1]["kind"] == "FLOAT"


def test_kernel_version(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--kernel-version", "6.18", str(files["tag"])]) == 0
    assert main(["validate", "--kernel-version", "6.13", str(files["tag"])]) == 1
    assert "Invalid btf_info kind_flag" in capsys.readouterr().out
    assert main(["validate", "--kernel-version", "six", str(files["tag"])]) != 0


def test_base_and_elf(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import lzma

    base = tmp_path / "vmlinux.btf"
    base.write_bytes(lzma.decompress((FIXTURES / "modules" / "vmlinux-6.1.btf.xz").read_bytes()))
    assert main(["validate", "--base", str(base), str(FIXTURES / "modules" / "8021q.btf")]) == 0
    assert main(["validate", "--base", str(base), str(FIXTURES / "modules" / "8021q.ko")]) == 0
    out = capsys.readouterr().out
    assert out.count(": OK") == 2
    # a BPF object's .BTF as clang writes it: DATASEC sizes are 0 until libbpf fills them in
    assert main(["validate", str(FIXTURES / "bpf" / "fwd_user.bpf.o")]) == 1
    assert "DATASEC '.bss': size == 0" in capsys.readouterr().out


def test_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Not BTF at all: one ``btfdedup: error:`` line, as every verb prints it (not a problem of the file)."""
    junk = tmp_path / "junk"
    junk.write_bytes(b"hello world, not btf")
    assert main(["validate", str(junk)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and err.startswith(f"btfdedup: error: {junk}")


def test_flood_is_summarised_per_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 5 anonymous TYPEDEFs: the kernel rejects each with "Invalid name" (it names a typedef or fails)
    t = Builder()
    i = t.int_()
    for _ in range(5):
        t.typedef(0, i)
    f = tmp_path / "flood.btf"
    f.write_bytes(t.blob())
    assert main(["validate", "--max-problems", "2", str(f)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [f"{f}: [2] TYPEDEF (anon): Invalid name", f"{f}: [3] TYPEDEF (anon): Invalid name"]
    assert out[2:] == [
        f"{f}: 3 more not shown (--max-problems 0 shows all)",
        f"{f}: by rule: 5 Invalid name",
        f"{f}: 5 problems",
    ]
    assert main(["validate", "--json", "--max-problems", "1", str(f)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["problems"]) == 1 and doc["problem_count"] == 5 and doc["rule_counts"] == {"Invalid name": 5}
    assert main(["validate", "--json", str(f)]) == 1
    assert len(json.loads(capsys.readouterr().out)["problems"]) == 5


def test_rule_of_drops_formatted_values() -> None:
    from btfdedup.cli.validate import rule_of

    assert rule_of("Invalid name_offset:1694074") == "Invalid name_offset"
    assert rule_of("Invalid btf_info:ff000000") == "Invalid btf_info"
    assert rule_of("meta_left:4 meta_needed:12") == "meta_left meta_needed"


def test_unsupported_kernel_version_is_one_usage_error(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--kernel-version", "4.1", str(files["good"]), str(files["bad"])]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.splitlines() == [
        "btfdedup: error: --kernel-version: kernel 4.1 predates BTF loading (BPF_BTF_LOAD appeared in 4.18)"
    ]
