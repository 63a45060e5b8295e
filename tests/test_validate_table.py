"""validate()'s result as a table: ProblemList reads like a list, rows become Problems only when read.

The words are the kernel's (test_validate_kernel_agreement compares them with the
running kernel); these tests pin what the columnar form must keep: each row's own
context, one report per repeated failure, per-rule counts in the order the CLI
prints them, and every list operation callers use.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from btfdedup.verifier import Problem, ProblemList, validate
from btfdedup.verifier.problem import rule_of
from tests._btf_build import PTR, STRUCT, TYPEDEF, Builder, info


def _flood() -> bytes:
    """Three kinds of meta failure, interleaved: anonymous TYPEDEFs, a struct member, out-of-range PTRs."""
    b = Builder()
    i = b.int_()
    b.typedef(0, i)
    b.add([b.s("s"), info(STRUCT, 2), 8, b.s("ok"), i, 0, b.s("bad-name"), i, 32])
    b.add([0, info(PTR), 0x100000])
    b.typedef(0, i)
    b.add([0, info(PTR), 0x100001])
    return b.blob()


def test_context_belongs_to_its_row() -> None:
    """A member's context is not carried over to the next failing record."""
    problems = validate(_flood())
    assert [str(p) for p in problems] == [
        "[2] TYPEDEF (anon): Invalid name",
        "[3] STRUCT 's': Invalid name (member #1 'bad-name')",
        "[4] PTR (anon): Invalid type_id",
        "[5] TYPEDEF (anon): Invalid name",
        "[6] PTR (anon): Invalid type_id",
    ]
    assert [p.context for p in problems] == [None, "member #1 'bad-name'", None, None, None]


def test_a_failure_reached_twice_is_reported_once() -> None:
    """T fails resolution as a root, and again when P's DFS reaches it: one row for T."""
    b = Builder()
    b.int_()
    t = b.add([b.s("t"), info(TYPEDEF), 99])  # no type 99
    b.ptr(t)
    problems = validate(b.blob())
    assert [(p.type_id, p.reason, p.phase) for p in problems] == [
        (t, "Invalid type_id", "resolve"),
        (t, "modifier chain reaches a type ID that does not exist", "type_tags"),
    ]
    assert not problems[1].logged


def test_list_behaviour() -> None:
    problems = validate(_flood())
    assert isinstance(problems, ProblemList)
    assert len(problems) == 5 and bool(problems)
    everything = list(problems)
    assert problems == everything and everything == list(problems)
    assert problems[1:3] == everything[1:3] and isinstance(problems[1:3], list)
    assert problems[-1] == everything[4] and problems[::2] == everything[::2]
    assert problems != everything[:4] and problems != "not a list"
    with pytest.raises(IndexError):
        problems[5]
    assert validate(_flood(), stop_at_first=True) == everything[:1]
    one = Builder()
    one.int_()
    empty = validate(one.blob())
    assert empty == [] and not empty and repr(empty) == "[]"
    assert repr(problems).startswith("[Problem(reason='Invalid name', type_id=2")


def test_rule_counts_match_a_counter_over_the_reasons() -> None:
    """Most frequent first, ties in order of first appearance: Counter.most_common() over rule_of."""
    problems = validate(_flood())
    want = Counter(rule_of(p.reason) for p in problems).most_common()
    assert problems.rule_counts() == want == [("Invalid name", 3), ("Invalid type_id", 2)]
    assert ProblemList().rule_counts() == []


def test_ready_made_rows_keep_their_problem() -> None:
    """Header problems are rows too, in front of the type rows."""
    blob = _flood() + b"\0" * 4  # 4 bytes no section covers
    problems = validate(blob)
    assert [(p.type_id, p.phase, p.reason) for p in problems[:2]] == [
        (None, "header", "Unsupported section found"),
        (None, "header", "String section is not at the end"),
    ]
    assert [p.type_id for p in problems[2:]] == [2, 3, 4, 5, 6]
    assert isinstance(problems[0], Problem)


def test_hash_collisions_do_not_merge_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every row hashing alike, repeated rows are still dropped and distinct ones kept."""
    from btfdedup.verifier import problem

    b = Builder()
    b.int_()
    t = b.add([b.s("t"), info(TYPEDEF), 99])
    b.ptr(t)
    b.ptr(t)
    u = b.add([b.s("u"), info(TYPEDEF), 98])
    b.ptr(u)
    want = [(p.type_id, p.reason) for p in validate(b.blob())]
    assert want == [
        (t, "Invalid type_id"),
        (u, "Invalid type_id"),
        (t, "modifier chain reaches a type ID that does not exist"),
        (u, "modifier chain reaches a type ID that does not exist"),
    ]
    monkeypatch.setattr(problem, "_row_hash", lambda keys: np.zeros(len(keys[0]), dtype=np.uint64))
    assert [(p.type_id, p.reason) for p in validate(b.blob())] == want


def test_compiled_checks_use_the_format_limits() -> None:
    """The limits compiled into the check_meta pass are the wire format's, and so are its char classes."""
    from btfdedup.format import constants
    from btfdedup.verifier import meta_checks, strings
    from btfdedup.verifier.rules import rules_for

    assert {name: getattr(constants, name) for name in meta_checks.LIMITS} == meta_checks.LIMITS
    cls = strings.char_classes(rules_for((6, 18)))
    assert cls[ord("a")] & strings.IDENT_FIRST and not cls[ord("1")] & strings.IDENT_FIRST
    assert (
        cls[ord(".")] & strings.IDENT_REST
        and not strings.char_classes(rules_for((6, 7)))[ord(".")] & strings.IDENT_REST
    )


def test_kind_past_the_release_ends_the_walk_without_reading_its_tail() -> None:
    """On 4.18 a FUNC_PROTO is an unknown kind: its (huge) vlen is never used to read parameters."""
    b = Builder()
    b.int_()
    b.add([0, info(13, 0xFFFF), 0])
    assert [str(p) for p in validate(b.blob(), kernel_version="4.18")] == ["[2] FUNC_PROTO (anon): Invalid kind:13"]


def test_compiled_passes_refuse_records_outside_the_words() -> None:
    """Columns that do not come from the walk are refused, not read past their end."""
    from btfdedup.format import constants
    from btfdedup.verifier import meta_checks, resolve, strings, walk
    from btfdedup.verifier.rules import rules_for

    rules = rules_for((6, 18))
    words = np.array([0, info(STRUCT, 5), 8, 0, 1, 0], dtype=np.uint32)  # five members promised, one present
    fixed, vlen = constants.KIND_FIXED_TAIL_WORDS, constants.KIND_VLEN_WORDS
    with pytest.raises(ValueError, match="outside the words"):
        meta_checks.check_metas(
            words, 24, np.array([0]), False, np.zeros(0, np.uint8), np.zeros(1, np.uint8),
            strings.char_classes(rules), fixed, vlen, 512, True, rules.info_mask, rules.vlen_mask,
            rules.kind_mask, rules.kind_max, True, True,
        )  # fmt: skip
    with pytest.raises(ValueError, match="outside the words"):
        resolve.resolve_all(
            np.array([0, STRUCT], np.uint8), np.array([0, info(STRUCT, 5)], np.uint32),
            np.array([0, 8], np.uint32), words, np.array([0, 0]), np.full(2, -1, np.int32), fixed, vlen, False,
        )  # fmt: skip
    with pytest.raises(ValueError, match="outside the words"):
        walk.record_columns(words[:2], np.array([0]))
