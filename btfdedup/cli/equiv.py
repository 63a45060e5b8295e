"""``btfdedup equiv``: are A and B the same BTF up to renumbering type IDs and strings?

Decided exactly by :mod:`btfdedup.explain.equiv` (colour refinement of the two type
graphs, then a word-by-word verification of the bijection found).  When they are,
``--map FILE`` writes the bijection as JSON lines ``{"a": ID_IN_A, "b": ID_IN_B}``,
one per type of A's chain (base types included, void excluded), in A's ID order;
``-`` is standard output (the verdict line then goes to standard error).  When they are not, the first witness of the difference
is printed: the type whose copies or structure differ, as a path where there is one.

Exit status, as cmp(1): 0 equivalent, 1 not equivalent, 2 trouble (an input that
cannot be read, a wrong command line, an undecided answer).
"""

from __future__ import annotations

import argparse
import json
import sys

from btfdedup.cli.main import EXIT_DIFFER, EXIT_TROUBLE
from btfdedup.errors import CommandLineError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``equiv`` verb."""
    p = sub.add_parser(
        "equiv",
        help="decide whether A and B are the same BTF up to renumbering (exit 1 when not)",
        description="Decide whether A and B are the same BTF up to a renumbering of type IDs and string "
        "offsets (exact: colour refinement, then the bijection is verified). Exit status 0: equivalent, "
        "1: not, 2: trouble.",
    )
    p.add_argument("a", metavar="A", help="raw BTF, ELF object, kernel module")
    p.add_argument("b", metavar="B", help="raw BTF, ELF object, kernel module")
    p.add_argument("--base", "-B", metavar="BASE", help="base BTF of both A and B when they are split BTF")
    p.add_argument("--base-a", metavar="BA", help="base BTF of A")
    p.add_argument("--base-b", metavar="BB", help="base BTF of B")
    p.add_argument("--map", metavar="FILE", help='write {"a": ID, "b": ID} JSON lines, one per type (- for stdout)')
    p.set_defaults(func=run, error_status=EXIT_TROUBLE)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from btfdedup.explain.equiv import equivalence
    from btfdedup.explain.inputs import load_pair
    from btfdedup.io.writer import write_output

    if args.base and (args.base_a or args.base_b):
        raise CommandLineError("--base names the base of both inputs: use it alone, or --base-a/--base-b")
    base_a = args.base or args.base_a
    base_b = args.base or args.base_b
    a, b = load_pair(args.a, args.b, base_a, base_b)
    result = equivalence(a, b)
    if not result.equivalent:
        print(f"not equivalent: {result.witness}")
        return EXIT_DIFFER
    assert result.a_to_b is not None
    moved = int(np.count_nonzero(result.a_to_b != np.arange(len(result.a_to_b))))
    # With the map on standard output, the verdict goes to stderr so the JSON lines stay clean.
    print(f"equivalent: {len(result.a_to_b) - 1} types, {moved} renumbered "
          f"({result.rounds} refinement rounds, {result.individualized} classes individualized)",
          file=sys.stderr if args.map == "-" else sys.stdout)
    if args.map:
        lines = "".join(json.dumps({"a": i, "b": int(j)}) + "\n" for i, j in enumerate(result.a_to_b.tolist()) if i)
        protect = [p for p in (args.a, args.b, base_a, base_b) if p]
        write_output(args.map, lines.encode(), protect)
    return 0
