"""``btfdedup diff``: types only in A, only in B, and changed, matched by kind and name.

Matching and the definition of "changed" are those of :mod:`btfdedup.explain.diff`
(by kind and name, never by ID; anonymous enums by their first enumerator,
top-level anonymous types by structure).  Each changed type is listed with its
changes: member-level detail for structs and unions (added, removed, renamed,
offset and size changes, bitfield widths, member types), enum values, function
prototypes, typedef targets.  ``--summary`` prints only the counts per kind and
per class of change.  ``--json`` prints one JSON document (with ``--summary``,
just the counts).

Exit status, as cmp(1) and diff(1): 0 when A and B have no difference, 1 when they
have one, 2 for trouble (an input that cannot be read, a wrong command line).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from btfdedup.cli.main import EXIT_DIFFER, EXIT_TROUBLE

if TYPE_CHECKING:
    from btfdedup.explain.diff import BtfDiff
    from btfdedup.model.btf import Btf


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``diff`` verb."""
    p = sub.add_parser(
        "diff",
        help="types only in A, only in B and changed, matched by kind and name (exit 1 when they differ)",
        description="Compare two BTFs type by type, matched by kind and name (not by ID): types only in A, "
        "only in B, and changed, with member-level detail. Exit status 0: no difference, 1: "
        "differences, 2: trouble.",
    )
    p.add_argument("a", metavar="A", help="the old BTF (raw, ELF object, kernel module)")
    p.add_argument("b", metavar="B", help="the new BTF")
    p.add_argument("--base-a", metavar="BA", help="base BTF when A is split BTF")
    p.add_argument("--base-b", metavar="BB", help="base BTF when B is split BTF")
    p.add_argument("--summary", action="store_true", help="only the counts per kind and per class of change")
    p.add_argument("--json", action="store_true", help="one JSON document")
    p.set_defaults(func=run, error_status=EXIT_TROUBLE)


def run(args: argparse.Namespace) -> int:
    from btfdedup.explain.diff import diff
    from btfdedup.explain.inputs import load_pair

    a, b = load_pair(args.a, args.b, args.base_a, args.base_b)
    result = diff(a, b)
    if args.json:
        doc = {"summary": result.summary()} if args.summary else diff_json(result)
        print(json.dumps(doc, separators=(",", ":")))
    elif args.summary:
        print(format_summary(result))
    else:
        print(format_diff(result))
    return 0 if result.same else EXIT_DIFFER


def format_diff(d: BtfDiff) -> str:
    """The text report: only in A (``-``), only in B (``+``), changed (``~``), then the totals."""
    from btfdedup.explain.naming import kind_name

    lines = [f"--- {d.a.source or 'A'}", f"+++ {d.b.source or 'B'}"]
    lines += [f"- [{t}] {entry_name(d.a, t)}" for t in d.only_a]
    lines += [f"+ [{t}] {entry_name(d.b, t)}" for t in d.only_b]
    for c in d.changed:
        lines.append(f"~ {kind_name(d.a, c.a)} [{c.a} → {c.b}]")
        lines += [f"    {ch.render()}" for ch in c.changes]
    lines.append(f"{len(d.only_a)} only in A, {len(d.only_b)} only in B, {len(d.changed)} changed")
    return "\n".join(lines)


def entry_name(btf: Btf, type_id: int) -> str:
    """``KIND 'name'``, and for an anonymous reference type its C spelling too
    (``PTR (__u8 *)``): a bare ``PTR`` says nothing."""
    from btfdedup.explain.naming import c_name, kind_name

    head = kind_name(btf, type_id)
    return head if btf.name(type_id) or "'" in head else f"{head} ({c_name(btf, type_id)})"


def format_summary(d: BtfDiff) -> str:
    """Counts per kind, then per class of change."""
    s = d.summary()
    rows = [("kind", "only in A", "only in B", "changed")]
    rows += [(k, str(v["only_a"]), str(v["only_b"]), str(v["changed"])) for k, v in s["kinds"].items()]
    t = s["total"]
    rows.append(("total", str(t["only_a"]), str(t["only_b"]), str(t["changed"])))
    lines = [f"{r[0]:<12}{r[1]:>11}{r[2]:>11}{r[3]:>9}" for r in rows]
    if s["classes"]:
        lines.append("changed types by class of change:")
        lines += [f"  {cls:<22}{n:>8}" for cls, n in s["classes"].items()]
    return "\n".join(lines)


def diff_json(d: BtfDiff) -> dict[str, Any]:
    """The whole result as JSON."""

    return {
        "only_a": [{"id": t, "type": entry_name(d.a, t)} for t in d.only_a],
        "only_b": [{"id": t, "type": entry_name(d.b, t)} for t in d.only_b],
        "changed": [
            {"kind": c.kind.name, "name": c.name, "a": c.a, "b": c.b,
             "changes": [{"class": ch.cls, "path": ch.steps, "detail": ch.detail} for ch in c.changes]}
            for c in d.changed
        ],
        "summary": d.summary(),
    }
