"""``btfdedup dedup``: merge inputs into one fresh BTF and deduplicate it.

``btfdedup dedup INPUT... -o OUT [--base BASE] [--ext] [--json] [--force-collisions]``

INPUT is anything :func:`btfdedup.load` reads (raw BTF, BPF objects, modules,
compressed modules, /sys/kernel/btf files) or a directory (every file under it that
carries BTF, in sorted path order; others are skipped with a note).  The inputs are
merged in the order given, then deduplicated byte-identically to libbpf v1.6; with
``--base`` the result is split BTF on that base.  The output is written atomically
and never over an input.  One summary line on stdout (``--json``: one JSON object);
a progress line on stderr for runs longer than a second, when stderr is a terminal.
"""

from __future__ import annotations

import argparse
import json
import sys

from btfdedup.cli.output import ProgressLine, human_bytes
from btfdedup.io.load import load


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``dedup`` verb."""
    p = sub.add_parser(
        "dedup",
        help="merge inputs into one BTF and deduplicate it (byte-identical to libbpf btf__dedup)",
        description="Merge the INPUTs, in the order given, into one fresh BTF (as libbpf btf__add_btf does) "
        "and deduplicate it byte-identically to libbpf v1.6 btf__dedup. A directory INPUT stands for all files "
        "under it that carry BTF, sorted by path.",
    )
    p.add_argument("inputs", metavar="INPUT", nargs="+", help="raw BTF, ELF object, module, or a directory")
    p.add_argument("-o", "--output", metavar="OUT", required=True, help="where to write the deduplicated raw BTF")
    p.add_argument("--base", "-B", metavar="BASE",
                   help="base BTF: split inputs are read on it and the output is split BTF on it")
    p.add_argument("--strategy", default="libbpf", choices=("libbpf",), help="dedup algorithm (default: libbpf)")
    p.add_argument("--ext", action="store_true",
                   help="dedup the single INPUT together with its .BTF.ext (libbpf opts.btf_ext) instead of "
                   "merging; the rewritten .BTF.ext is written to OUT.ext")
    p.add_argument("--force-collisions", action="store_true",
                   help="libbpf's testing knob: every hash key collides (same output, slower)")
    p.add_argument("--json", action="store_true", help="print the summary as one compact JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from btfdedup.workflows.dedup import dedup_files

    progress = ProgressLine()
    base = load(args.base) if args.base else None

    def report(stage: str, done: int, total: int) -> None:
        progress.update(f"btfdedup: {stage} {done}/{total}" if stage != "dedup" else "btfdedup: deduplicating")

    try:
        res = dedup_files(
            args.inputs,
            args.output,
            base=base,
            base_path=args.base,
            ext=args.ext,
            force_collisions=args.force_collisions,
            strategy=args.strategy,
            progress=report,
        )
    finally:
        progress.done()
    for f, why in res.skipped:
        print(f"btfdedup: note: skipped {f}: {why}", file=sys.stderr)
    if args.json:
        print(json.dumps(res.to_json(), separators=(",", ":")))
    else:
        n = len(res.inputs)
        print(
            f"{n} input{'s' if n != 1 else ''}: {res.types_in:,} types -> {res.types_out:,} types"
            f"{' (split)' if res.split else ''}, {human_bytes(res.bytes_in)} -> {human_bytes(res.bytes_out)}, "
            f"{res.seconds:.2f} s -> {res.output}" + (f" (+ {res.ext_output})" if res.ext_output else "")
        )
    return 0
