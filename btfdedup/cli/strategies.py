"""``btfdedup strategies``: list the dedup strategies ``--strategy`` takes.

One line per strategy: its name and what its output guarantees (the default,
``libbpf``, first).  ``--json`` prints one compact JSON object
``{"strategies": [{"name", "guarantee", "default"}]}``.  Nothing is imported
beyond the registry (:mod:`btfdedup.strategies.registry`).
"""

from __future__ import annotations

import argparse
import json

from btfdedup.strategies.registry import DEFAULT, available


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``strategies`` verb."""
    p = sub.add_parser(
        "strategies",
        help="list the dedup strategies of 'dedup/split --strategy' and what each guarantees",
        description="List the dedup strategies 'btfdedup dedup --strategy' and 'btfdedup split --strategy' "
        "take, each with one line on what its output guarantees.",
    )
    p.add_argument("--json", action="store_true", help="print one compact JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the registry (exit 0)."""
    entries = available()
    if args.json:
        print(json.dumps({"strategies": [{"name": e.name, "guarantee": e.guarantee, "default": e.name == DEFAULT}
                                         for e in entries]}, separators=(",", ":")))
        return 0
    width = max(len(e.name) for e in entries)
    for e in entries:
        print(f"{e.name:<{width}}  {e.guarantee}")
    return 0
