"""Exit status and messages, the same for every verb (the rule is in btfdedup/cli/main.py).

0 done; 1 the work failed (missing or bad input, a file validate finds
invalid); 2 usage: the command line is wrong in itself (argparse's errors,
printed with the usage of the verb they belong to, and CommandLineError).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import btfdedup
from btfdedup.cli.main import main
from btfdedup.errors import BtfUsageError, CommandLineError
from tests.conftest import FIXTURES

CU = str(FIXTURES / "cus" / "cu1412.btf")
BASE = str(FIXTURES / "modules" / "vmlinux-6.1.btf.xz")
OBJ = str(FIXTURES / "bpf" / "types.bpf.o")


def _argv(verb: str, tmp_path: Path, inp: str) -> list[str]:
    """A well-formed command line of ``verb`` reading ``inp``."""
    return {
        "dump": ["dump", inp],
        "stats": ["stats", inp],
        "validate": ["validate", inp],
        "dedup": ["dedup", inp, "-o", str(tmp_path / "out.btf")],
        "split": ["split", inp, "--base", BASE, "-o", str(tmp_path / "outdir")],
        "kernel": ["kernel", "load", inp],
    }[verb]


VERBS = ("dump", "stats", "validate", "dedup", "split", "kernel")


@pytest.mark.parametrize("verb", VERBS)
def test_unknown_flag_prints_the_verbs_usage(verb: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([*_argv(verb, tmp_path, CU), "--no-such-flag"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    prog = "btfdedup kernel load" if verb == "kernel" else f"btfdedup {verb}"
    assert err.startswith(f"usage: {prog} "), err
    assert err.rstrip().endswith(f"{prog}: error: unrecognized arguments: --no-such-flag"), err


def test_unknown_option_before_the_verb_is_the_top_levels(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--no-such-flag", "dump", CU])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: btfdedup [-h]") and "btfdedup: error: unrecognized arguments: --no-such-flag" in err


def test_unknown_verb_and_missing_argument_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["frobnicate"], ["dump"], ["stats"], ["validate"], ["dump", CU, "--id", "x"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2, argv
        assert "usage: btfdedup" in capsys.readouterr().err


@pytest.mark.parametrize("verb", VERBS)
def test_missing_input_has_one_wording(verb: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "nope.btf")
    assert main(_argv(verb, tmp_path, missing)) == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"btfdedup: error: {missing}: no such file or directory"], err
    assert out == ""


def test_the_loader_says_it_the_same_way(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.btf")
    with pytest.raises(BtfUsageError, match=f"^{missing}: no such file or directory$"):
        btfdedup.load(missing)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["dump", "--format", "raw", "--json", CU], "--format raw cannot be combined with --json/--pretty"),
        (["dump", "--ext", OBJ, str(FIXTURES / "bpf")], "--ext belongs to one BTF file"),
        (["stats", "--ext", OBJ, OBJ, CU], "--ext belongs to one BTF file"),
        (["validate", "--kernel-version", "4.1", CU], "--kernel-version: kernel 4.1 predates BTF loading"),
        (["validate", "--kernel-version", "six", CU], "--kernel-version: bad kernel version 'six'"),
    ],
)
def test_conflicting_or_bad_options_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"btfdedup: error: {message}"), err


def test_command_line_error_is_a_usage_error() -> None:
    assert issubclass(CommandLineError, BtfUsageError)
    assert CommandLineError("x").usage and not BtfUsageError("x").usage


@pytest.mark.parametrize("verb", ["dump", "stats", "validate"])
def test_unreadable_input_is_one_error_line(verb: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"hello world, not btf")
    assert main([verb, str(junk)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"btfdedup: error: {junk}, offset 0x0: neither raw BTF (magic 9f eb / eb 9f) nor an ELF object (\\x7fELF), "
        "nor xz/zstd/gzip compressed"
    ]


@pytest.mark.parametrize("verb", ["dump", "stats", "validate"])
def test_directories_are_expanded(verb: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    (d / "b.btf").write_bytes(Path(CU).read_bytes())
    (d / "sub" / "a.btf").write_bytes((FIXTURES / "cus" / "cu1413.btf").read_bytes())
    (d / "notes.txt").write_text("not BTF\n")
    assert main([verb, str(d)]) == 0
    out, err = capsys.readouterr()
    first, second = str(d / "b.btf"), str(d / "sub" / "a.btf")  # sorted by path
    assert f"btfdedup: note: skipped {d / 'notes.txt'}: neither raw BTF nor ELF" in err
    assert first in out and second in out and out.index(first) < out.index(second)
    if verb == "dump":
        assert main(["dump", CU]) == 0
        alone = capsys.readouterr().out
        assert out.startswith(f"==> {first} <==\n" + alone + f"\n==> {second} <==\n")


def test_directory_without_btf_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.txt").write_text("hello")
    for verb in ("dump", "stats", "validate"):
        assert main([verb, str(tmp_path)]) == 1
        assert "carries BTF" in capsys.readouterr().err
