"""``btfdedup dump``: print a BTF file the way ``bpftool btf dump file`` does.

``--format raw`` (default) is bpftool 7.1.0's raw text byte for byte;
``--format json`` (or ``--json``) is ``bpftool -j``'s one-line document and
``--pretty`` its ``-p`` layout (implies JSON).  ``--base`` makes FILE split BTF on
BASE (module files under ``/sys/kernel/btf`` get vmlinux automatically); only the
split part is printed, with absolute type IDs.  ``--id`` restricts the dump to
the listed type IDs, in the order given (base IDs allowed).
"""

from __future__ import annotations

import argparse
import sys

from btfdedup.io.load import load


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``dump`` verb."""
    p = sub.add_parser(
        "dump",
        help="print BTF types like 'bpftool btf dump file FILE' (raw text or JSON)",
        description="Print every type of a BTF file (raw BTF, ELF object, kernel module) in bpftool's "
        "raw format or its JSON shape.",
    )
    p.add_argument("file", metavar="FILE", help="raw BTF, ELF object (.o, .ko, vmlinux) or /sys/kernel/btf/*")
    p.add_argument("--base", "-B", metavar="BASE", help="base BTF when FILE is split BTF (like bpftool -B)")
    p.add_argument("--format", choices=("raw", "json"), default=None, help="output format (default: raw)")
    p.add_argument("--json", "-j", action="store_true", help="same as --format json")
    p.add_argument("--pretty", "-p", action="store_true", help="indented JSON like bpftool -p (implies JSON)")
    p.add_argument(
        "--id",
        dest="ids",
        metavar="ID",
        type=int,
        nargs=1,
        action="extend",
        help="dump only this type ID (repeat --id for more; printed in the order given)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load FILE (on BASE) and stream the dump to stdout."""
    fmt = args.format or ("json" if (args.json or args.pretty) else "raw")
    if args.format == "raw" and (args.json or args.pretty):
        from btfdedup.errors import BtfUsageError

        raise BtfUsageError("--format raw cannot be combined with --json/--pretty")
    btf = load(args.file, base=args.base)
    if fmt == "json":
        from btfdedup.render.json import iter_json_chunks

        chunks = iter_json_chunks(btf, args.ids, pretty=args.pretty)
    else:
        from btfdedup.render.raw import iter_raw_chunks

        chunks = iter_raw_chunks(btf, args.ids)
    sys.stdout.flush()
    out = sys.stdout.buffer
    for data in chunks:
        out.write(data)
    out.flush()
    return 0
