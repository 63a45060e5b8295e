"""``btfdedup dups``: every (kind, name) held by more than one type, and why.

For each group of copies: each copy against the group's first copy (the base copy
when FILE is split and the base has one): ``identical`` (the same structure all the
way down: a merge the deduplicator missed, with the libbpf rule that missed it when
it is a known one) or the shortest path from the named type to the first pair of
types that differ, with the class of the difference.  Groups are sorted by how many
types their extra copies drag along (types reachable from a copy and not from the
first copy).  ``--json``: one JSON object per group, one per line.  ``--graph DIR``
writes both sides of each compared pair as GraphML and DOT (and PNG when Graphviz's
``dot`` is installed).  Definitions are in :mod:`btfdedup.explain.dups`.

Exit status: 0 when the report is printed (duplicates or not), 1 when an input
cannot be read, 2 for a wrong command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from btfdedup.errors import CommandLineError
from btfdedup.format.constants import Kind

if TYPE_CHECKING:
    from btfdedup.explain.dups import CopyReport, DupGroup
    from btfdedup.model.btf import Btf

#: At most this many pairs are written by ``--graph`` (the rest are counted on stderr).
MAX_GRAPHS = 200


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``dups`` verb."""
    p = sub.add_parser(
        "dups",
        help="list types that occur more than once and where the copies diverge",
        description="List every (kind, name) that occurs more than once in FILE (or in FILE and its base), "
        "compare each copy with the first one (identical: a missed merge; else the path to the first "
        "difference and its class), sorted by how many types the copies drag along.",
    )
    p.add_argument("file", metavar="FILE", help="raw BTF, ELF object, kernel module")
    p.add_argument("--base", "-B", metavar="BASE", help="base BTF when FILE is split BTF")
    p.add_argument("--kind", metavar="K", help="only this kind (STRUCT, TYPEDEF, ...; any case)")
    p.add_argument("--name", metavar="N", help="only this name (or shell pattern)")
    p.add_argument("--json", action="store_true", help="one JSON object per group, one per line")
    p.add_argument("--graph", metavar="DIR", help="write each compared pair's subgraphs to DIR (GraphML, DOT, PNG)")
    p.set_defaults(func=run)


def parse_kind(text: str | None) -> Kind | None:
    """``--kind`` as a :class:`Kind` (case-insensitive name or number)."""
    if text is None:
        return None
    try:
        return Kind(int(text)) if text.isdigit() else Kind[text.upper()]
    except (KeyError, ValueError):
        names = ", ".join(k.name for k in Kind if k != Kind.UNKN)
        raise CommandLineError(f"--kind {text}: not a BTF kind (one of {names})") from None


def run(args: argparse.Namespace) -> int:
    from btfdedup.explain.dups import find_duplicates
    from btfdedup.io.load import load

    kind = parse_kind(args.kind)
    base = load(args.base) if args.base else None
    btf = load(args.file, base=base)
    groups = find_duplicates(btf, kind=kind, name=args.name)
    for g in groups:
        if args.json:
            print(json.dumps(group_json(btf, g), separators=(",", ":")))
        else:
            print(format_group(btf, g))
    if not args.json:
        copies = sum(len(g.reports) for g in groups)
        same = sum(r.identical for g in groups for r in g.reports)
        print(f"{len(groups)} duplicated names, {copies} extra copies ({same} identical), "
              f"{sum(g.drag for g in groups)} types dragged along")
    if args.graph:
        write_graphs(btf, groups, args.graph, [args.file, args.base] if args.base else [args.file])
    return 0


def _where(btf: Btf, t: int) -> str:
    return f"[{t}]" + (" (base)" if btf.is_split and t < btf.start_id else "")


def format_group(btf: Btf, g: DupGroup) -> str:
    """The text of one group: a head line, then one line per extra copy."""
    from btfdedup.explain.naming import kind_name

    lines = [f"{kind_name(btf, g.copies[0])}: {len(g.copies)} copies "
             f"{', '.join(_where(btf, t) for t in g.copies)}, drag {g.drag}"]
    for r in g.reports:
        lines.append(f"  {_where(btf, r.type_id)} vs {_where(btf, r.ref)}: {_verdict(btf, r)}")
        if r.rule:
            lines.append(f"      why: {r.rule}")
    return "\n".join(lines)


def _verdict(btf: Btf, r: CopyReport) -> str:
    if r.divergence is None:
        return "identical (a merge the deduplicator missed)"
    same = f" (same structure as [{r.same_as}])" if r.same_as is not None else ""
    return r.divergence.render(btf, btf) + same + f", drag {r.drag}"


def group_json(btf: Btf, g: DupGroup) -> dict[str, Any]:
    """The JSON object of one group."""
    from btfdedup.explain.naming import kind_name

    pairs = []
    for r in g.reports:
        d = r.divergence
        pairs.append({
            "a": r.ref,
            "b": r.type_id,
            "identical": r.identical,
            "class": r.cls,
            "drag": r.drag,
            "same_as": r.same_as,
            "path": [] if d is None else [
                {"a": n.a, "b": n.b, "step": n.step, "a_type": kind_name(btf, n.a), "b_type": kind_name(btf, n.b)}
                for n in d.path
            ],
            "differences": [] if d is None else [{"class": x.cls, "detail": x.detail} for x in d.differences],
            "rule": r.rule,
        })
    return {
        "kind": g.kind.name,
        "name": g.name,
        "copies": g.copies,
        "base_copies": [t for t in g.copies if btf.is_split and t < btf.start_id],
        "drag": g.drag,
        "pairs": pairs,
    }


def write_graphs(btf: Btf, groups: list[DupGroup], directory: str, protect: list[str]) -> None:
    """``--graph DIR``: both sides of every compared pair (at most :data:`MAX_GRAPHS`)."""
    from btfdedup.explain.graphs import divergence_subgraph, file_stem, write_graph
    from btfdedup.io.writer import OutputSet

    pairs = [(g, r) for g in groups for r in g.reports]
    with OutputSet(protect) as out:
        out.make_dir(directory)
        for g, r in pairs[:MAX_GRAPHS]:
            sub = divergence_subgraph(btf, r.ref, btf, r.type_id, r.divergence)
            write_graph(out, directory, file_stem(g.kind.name, g.name, r.ref, r.type_id), sub)
        out.commit()
    if len(pairs) > MAX_GRAPHS:
        print(f"btfdedup: note: wrote the graphs of the first {MAX_GRAPHS} of {len(pairs)} pairs "
              "(narrow with --kind/--name)", file=sys.stderr)
