"""``btfdedup sort``: order a BTF's types by name, as the kernel build does.

``btfdedup sort FILE -o OUT [--base BASE] [--ext] [--json]``

Since 2026 ``resolve_btfids`` sorts vmlinux and module BTF by name (anonymous types
first, equal names in their original order) with libbpf's ``btf__permute``; this
verb does the same to FILE: the bytes equal libbpf's, strings and header untouched,
every type ID renumbered.  FILE is anything :func:`btfdedup.load` reads; split BTF
(a module) needs ``--base`` and only its own types move.  ``--ext`` also remaps the
input's ``.BTF.ext`` (func_info and CO-RE relocation type IDs) and writes it to
``OUT.ext``.  OUT is written by :mod:`btfdedup.io.writer`'s rule (``-`` for stdout,
then the summary goes to stderr); never over an input.
"""

from __future__ import annotations

import argparse
import json
import sys

from btfdedup.cli.choices import MAP_FORMAT_CHOICES
from btfdedup.cli.output import human_bytes
from btfdedup.io.load import load


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sort`` verb."""
    p = sub.add_parser(
        "sort",
        help="order types by name as the kernel's resolve_btfids does (libbpf btf__permute bytes)",
        description="Renumber the types of FILE in the kernel's name order (resolve_btfids: strcmp of the "
        "names, anonymous first, equal names in original ID order) exactly as libbpf btf__permute does: "
        "strings and header unchanged, every type ID remapped. Split BTF sorts only its own types.",
    )
    p.add_argument("file", metavar="FILE", help="raw BTF, ELF object, module, or /sys/kernel/btf file")
    p.add_argument("-o", "--output", metavar="OUT", required=True,
                   help="where to write the sorted raw BTF ('-' for stdout; a device or FIFO is written in place)")
    p.add_argument("--base", "-B", metavar="BASE", help="base BTF of a split FILE (its types keep their IDs)")
    p.add_argument("--ext", action="store_true",
                   help="remap FILE's .BTF.ext with the types (libbpf opts.btf_ext) and write it to OUT.ext")
    p.add_argument("--json", action="store_true", help="print the summary as one compact JSON object")
    p.add_argument("--map", metavar="FILE", dest="map_output",
                   help="write each type's new ID (JSON lines {\"input\": FILE, \"id\": ID, \"output_id\": ID}, "
                   "or CSV with --map-format csv)")
    p.add_argument("--map-format", choices=MAP_FORMAT_CHOICES, default="jsonl",
                   help="format of the --map file (default: jsonl)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from btfdedup.io.writer import STDOUT
    from btfdedup.workflows.sort import check_arguments, sort_file

    check_arguments(args.output, ext=args.ext)  # before the base is read
    base = load(args.base) if args.base else None
    res = sort_file(args.file, args.output, base=base, base_path=args.base, ext=args.ext,
                    map_output=args.map_output, map_format=args.map_format)
    summary = sys.stderr if args.output == STDOUT else sys.stdout  # stdout carries the BTF
    if args.json:
        print(json.dumps(res.to_json(), separators=(",", ":")), file=summary)
        return 0
    first = f", named from [{res.named_start_id}]" if res.named_start_id else ""
    print(f"{res.input}: {res.types:,} types{' (split)' if res.split else ''} sorted by name, {res.moved:,} moved"
          f"{first}, {human_bytes(res.bytes_out)}, {res.seconds:.2f} s -> {res.output}"
          + (f" (+ {res.ext_output})" if res.ext_output else ""), file=summary)
    return 0
