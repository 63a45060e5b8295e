"""The validate() API: inputs it takes, every problem reported, the first one the kernel's, formatting.

Verdicts and reasons here are the ones the running 6.18 kernel gives for the
same blobs (see test_validate_kernel_agreement); tests that compare live with
the kernel skip when bpf(2) is refused.
"""

from __future__ import annotations

import errno

import pytest

from btfdedup.io.raw import parse_raw
from btfdedup.verifier import Problem, is_valid, validate
from tests._btf_build import INT, Builder, info
from tests._kernel_probe import kernel_verdict, probe_skip_reason
from tests._mutations import rich


def _kernel_last_line(blob: bytes) -> tuple[bool, str]:
    if probe_skip_reason():
        pytest.skip(f"no kernel oracle: {probe_skip_reason()}")
    ok, _err, log = kernel_verdict(blob)
    lines = [ln.rstrip() for ln in log.split("\n") if ln.strip()]
    return ok, lines[-1] if lines else ""


def test_valid_rich_blob_is_clean() -> None:
    b, _ids = rich()
    assert validate(b.blob()) == []
    assert is_valid(b.blob())


def test_btf_object_and_path_inputs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    b, _ids = rich()
    blob = b.blob()
    assert validate(parse_raw(blob)) == []
    path = tmp_path / "x.btf"
    path.write_bytes(blob)
    assert validate(path) == []
    assert validate(str(path)) == []


def test_every_broken_type_is_reported_first_is_kernels() -> None:
    b, ids = rich()
    b.types[ids["int"] - 1][3] = (3 << 24) | 32  # two encoding bits
    b.types[ids["float"] - 1][2] = 3  # bad float size
    b.types[ids["func"] - 1][1] = info(12, 2)  # extern linkage
    blob = b.blob()
    problems = validate(blob)
    reasons = [(p.type_id, p.reason) for p in problems]
    assert reasons == [
        (ids["int"], "Unsupported encoding"),
        (ids["float"], "Invalid type_size"),
        (ids["func"], "Invalid func linkage"),
    ]
    assert validate(blob, stop_at_first=True) == problems[:1]
    ok, last = _kernel_last_line(blob)
    assert not ok and last.endswith("Unsupported encoding")


def test_resolve_problems_after_meta_problems() -> None:
    """Pass-2 problems are still found when pass 1 has failures (the kernel would stop earlier)."""
    b, ids = rich()
    b.types[ids["enum"] - 1][2] = 3  # "Unexpected size" (pass 1)
    b.types[ids["struct"] - 1][2] = 24  # the last member (a pointer at byte 24) runs past it (pass 2)
    problems = validate(b.blob())
    assert [p.reason for p in problems] == ["Unexpected size", "Member exceeds struct_size"]
    assert problems[1].phase == "resolve" and problems[1].context == "member #3 'next'"


def test_problem_format() -> None:
    p = Problem(reason="Invalid name", type_id=5, kind="TYPEDEF", name="a-b")
    assert str(p) == "[5] TYPEDEF 'a-b': Invalid name"
    anon = Problem(reason="vlen != 0", type_id=2, kind="PTR", context="member #1")
    assert str(anon) == "[2] PTR (anon): vlen != 0 (member #1)"
    assert str(Problem(reason="Invalid magic")) == "Invalid magic"
    assert Problem(reason="x").to_json()["errno"] == errno.EINVAL


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"\x9f\xeb\x01", "hdr_len not found"),
        (b"\xeb\x9f\x01\x00\x00\x00\x00\x18" + b"\0" * 16, "btf_header not found"),
        (b"\x9f\xeb\x01\x00\x18\x00\x00\x00" + b"\0" * 16, "No data"),
    ],
)
def test_unparsable_blobs_are_problems_not_crashes(blob: bytes, reason: str) -> None:
    problems = validate(blob)
    assert problems and problems[0].reason == reason
    ok, last = _kernel_last_line(blob)
    assert not ok and last.endswith(reason)


def test_truncated_record() -> None:
    b = Builder()
    b.int_()
    b.add([0, info(INT), 4])  # INT without its data word
    problems = validate(b.blob())
    assert [str(p) for p in problems] == ["[2] INT (anon): meta_left:0 meta_needed:4"]
    ok, last = _kernel_last_line(b.blob())
    assert not ok and last.endswith("meta_left:0 meta_needed:4")


def test_kernel_version_rule_sets() -> None:
    """Rules that differ by release (documented in validate.rules)."""
    b = Builder()
    i = b.int_()
    t = b.type_tag("attr", i, kflag=1)
    b.ptr(t)
    assert validate(b.blob(), kernel_version="6.18") == []
    assert [p.reason for p in validate(b.blob(), kernel_version="6.13")] == ["Invalid btf_info kind_flag"]
    assert [p.reason for p in validate(b.blob(), kernel_version="5.16")] == ["Invalid kind:18"]
    e = Builder()
    e.enum64("e", 8, [("A", 1)])
    assert validate(e.blob(), kernel_version="5.19") == []
    assert [p.reason for p in validate(e.blob(), kernel_version="5.18")] == ["Invalid kind:19"]
    n = Builder()
    n.typedef("x" * 200, n.int_())
    assert validate(n.blob(), kernel_version=(6, 1)) == []
    assert [p.reason for p in validate(n.blob(), kernel_version=(6, 0))] == ["Invalid name"]
    d = Builder()
    d.typedef("a.b", d.int_())
    assert validate(d.blob(), kernel_version=(6, 8)) == []
    assert [p.reason for p in validate(d.blob(), kernel_version=(6, 7))] == ["Invalid name"]


def test_split_btf_on_base() -> None:
    base_b = Builder()
    base_b.int_("int")
    base = base_b.blob()
    # split: types continue at ID 2, strings at the base's str_len
    split = Builder()
    split.strs = bytearray()
    split._str_off = {}
    start = len(base_b.strs)
    name = start + split.s("s")
    split.strs = bytearray(split.strs)
    split.add([name, info(4, 1), 4, 0, 1, 0])  # struct s { int <anon>; }
    split.add([0, info(2), 2])  # ptr to s
    blob = split.blob()
    assert validate(blob, base=base) == []
    assert validate(blob, base=parse_raw(base)) == []
    bad2 = Builder()
    bad2.strs, bad2._str_off, bad2.types = split.strs, {}, [list(t) for t in split.types]
    bad2.types[1][1] |= 1 << 31
    assert [str(p) for p in validate(bad2.blob(), base=base)] == ["[3] PTR (anon): Invalid btf_info kind_flag"]
    # without the base the same bytes are not a valid base BTF
    assert validate(blob)


def test_base_given_as_a_compressed_path() -> None:
    """A base path is read by the loader: ``.xz`` and ELF bases work as in every verb.
    The module and its base are the shipped 6.1 pair that the kernel loads."""
    from tests.conftest import FIXTURES

    mods = FIXTURES / "modules"
    assert validate(str(mods / "veth.btf"), base=str(mods / "vmlinux-6.1.btf.xz")) == []
    problems = validate(str(mods / "veth.btf"), base=str(mods / "missing.btf"))
    assert len(problems) == 1 and "no such file or directory" in problems[0].reason
