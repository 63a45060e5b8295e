"""``btfdedup stats``: per-kind counts and bytes, section sizes, duplicates.

For each FILE: a table of kinds (count, record bytes, how many named types of
that kind share their name with another type of the same kind), the string and
header sizes, the total, and ``.BTF.ext`` record counts when the input is an
ELF object with one, or ``--ext EXT`` names one (the ``OUT.ext`` written by
``dedup --ext``; one FILE only).  Bytes of a file that no BTF section covers
are counted apart (a ``no section:`` line; ``trailing_bytes``/``gap_bytes`` in
JSON).  ``--json`` prints one compact JSON object per file, one per line.  A
directory stands for every file under it that carries BTF, in sorted path
order.  Files that fail are reported on stderr and skipped (exit status 1).
Definitions are in :mod:`btfdedup.statistics`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from btfdedup.errors import BtfError, CommandLineError
from btfdedup.io.load import load, load_ext
from btfdedup.statistics import btf_stats, format_stats


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``stats`` verb."""
    p = sub.add_parser(
        "stats",
        help="per-kind counts and sizes, string section size, duplicates, .BTF.ext records",
        description="Summarize BTF files: types and bytes per kind, section sizes, .BTF.ext record counts and "
        "how many named types share (kind, name) with another type (anonymous types are not counted).",
    )
    p.add_argument("files", metavar="FILE", nargs="+", help="raw BTF, ELF object, kernel module")
    p.add_argument("--base", "-B", metavar="BASE", help="base BTF when the FILEs are split BTF")
    p.add_argument("--json", action="store_true", help="one compact JSON object per file, one per line")
    p.add_argument("--ext", metavar="EXT", help="count the records of this .BTF.ext (the OUT.ext of 'dedup --ext')")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the statistics of every FILE (the base is loaded once).

    A FILE that cannot be read does not stop the others: its error is printed
    as one ``btfdedup: error:`` line on stderr when its turn comes, the good
    files are all reported, and the exit status is then 1.
    """
    from btfdedup.cli.main import input_files

    if args.ext and (len(args.files) != 1 or os.path.isdir(args.files[0])):
        raise CommandLineError("--ext belongs to one BTF file: give exactly one FILE, not a directory")
    base = load(args.base) if args.base else None
    failed = False
    printed = False
    for arg in args.files:
        try:
            paths = input_files(arg)
        except BtfError as e:
            sys.stdout.flush()
            print(f"btfdedup: error: {e}", file=sys.stderr)
            failed = True
            continue
        for path in paths:
            try:
                btf = load(path, base=base)
                if args.ext:
                    btf.ext = load_ext(args.ext, btf)
                st = btf_stats(btf)
            except BtfError as e:
                sys.stdout.flush()
                print(f"btfdedup: error: {e}", file=sys.stderr)
                failed = True
                continue
            if args.json:
                print(json.dumps(st.to_json(), separators=(",", ":")))
            else:
                if printed:
                    print()
                print(format_stats(st))
            printed = True
            sys.stdout.flush()
    return 1 if failed else 0
