"""``btfdedup split``: deduplicate modules against a base, each on its own.

``btfdedup split MODULE... --base VMLINUX -o OUTDIR [--keep-going] [--json] [--libbpf-version V]``

Every MODULE (split BTF on the base, or standalone BTF, or a directory of them) is
deduplicated against the base separately and written as split BTF to
``OUTDIR/<name>.btf``; a standalone module is first merged onto the base (as
``pahole --btf_base`` would encode it).  Prints a before/after table with totals
(``--json``: one JSON object).  OUTDIR is created, and its files put in place, only
once every module is deduplicated: a failed or interrupted run leaves it as it was.
``--keep-going`` leaves bad modules out (one ``btfdedup: error:`` line each),
writes the others and exits 1.  ``--libbpf-version`` (1.1, 1.6 default, 1.7, 1.8)
reproduces that libbpf release (see :mod:`btfdedup.engine.profiles`).
``--sort`` writes each module's own types in the kernel's name order (``btfdedup sort``).
"""

from __future__ import annotations

import argparse
import json
import sys

from btfdedup import strategies
from btfdedup.cli.choices import LIBBPF_VERSION_CHOICES, MAP_FORMAT_CHOICES
from btfdedup.cli.output import ProgressLine, human_bytes, report_failures
from btfdedup.errors import BtfError
from btfdedup.io.load import load


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``split`` verb."""
    p = sub.add_parser(
        "split",
        help="dedup each module against a base BTF, writing split BTF per module",
        description="Deduplicate every MODULE against BASE separately (libbpf split dedup) and write each result "
        "as split BTF to OUTDIR/<name>.btf. Standalone modules are merged onto the base first.",
    )
    p.add_argument("modules", metavar="MODULE", nargs="+", help="module (.ko, .ko.xz, raw split BTF) or a directory")
    p.add_argument("--base", "-B", metavar="VMLINUX", required=True, help="the base BTF (vmlinux)")
    p.add_argument("-o", "--output", metavar="OUTDIR", required=True, help="directory for the <name>.btf outputs")
    p.add_argument("--strategy", default=strategies.DEFAULT, choices=strategies.names(),
                   help="dedup algorithm (default: libbpf; see 'btfdedup strategies')")
    p.add_argument("--force-collisions", action="store_true", help="libbpf's testing knob (same output, slower)")
    p.add_argument("--keep-going", action="store_true",
                   help="leave out modules that cannot be read or deduplicated on BASE (one error line each), "
                   "write the others, and exit 1")
    p.add_argument("--json", action="store_true", help="print the results as one compact JSON object")
    p.add_argument("--sort", action="store_true",
                   help="write each module's own types in the kernel's name order (as resolve_btfids sorts "
                   "modules on a sorted vmlinux; see 'btfdedup sort')")
    p.add_argument("--libbpf-version", choices=LIBBPF_VERSION_CHOICES, default=None,
                   help="reproduce this libbpf release's split dedup bytes (default: 1.6)")
    p.add_argument("--map", metavar="FILE", dest="map_output",
                   help="write, for every type of every module, the type ID it has in that module's output (JSON lines {\"input\": FILE, \"id\": ID, \"output_id\": ID}, or CSV with --map-format csv)")
    p.add_argument("--map-format", choices=MAP_FORMAT_CHOICES, default="jsonl",
                   help="format of the --map file (default: jsonl)")
    p.set_defaults(func=run)


def _pct(before: int, after: int) -> str:
    return f"{100.0 * (before - after) / before:.1f}%" if before else "-"


def run(args: argparse.Namespace) -> int:
    from btfdedup.engine.profiles import DEFAULT_LIBBPF_VERSION
    from btfdedup.workflows.inputs import Failure
    from btfdedup.workflows.split import check_arguments, split_files

    progress = ProgressLine()
    failures: list[Failure] | None = [] if args.keep_going else None
    check_arguments(args.output)  # before the base is read
    base = load(args.base)
    try:
        res = split_files(
            args.modules,
            base,
            args.output,
            base_path=args.base,
            force_collisions=args.force_collisions,
            strategy=args.strategy,
            progress=lambda done, total, name: progress.update(f"btfdedup: {done}/{total} {name}"),
            failures=failures,
            sort=args.sort,
            libbpf_version=args.libbpf_version or DEFAULT_LIBBPF_VERSION,
            map_output=args.map_output,
            map_format=args.map_format,
        )
    except BtfError:
        progress.done()
        report_failures(failures)  # before the error that ended the run
        raise
    finally:
        progress.done()
    report_failures(failures)
    for f, why in res.skipped:
        print(f"btfdedup: note: skipped {f}: {why}", file=sys.stderr)
    if args.json:
        print(json.dumps(res.to_json(), separators=(",", ":")))
        return 1 if res.failed else 0
    rows = [
        (m.name + (" (standalone)" if m.standalone else ""), f"{m.types_before:,}", f"{m.types_after:,}",
         f"{m.bytes_before:,}", f"{m.bytes_after:,}", _pct(m.bytes_before, m.bytes_after))
        for m in res.modules
    ]
    tot = res.totals()
    total_row = ("total", f"{tot['types_before']:,}", f"{tot['types_after']:,}", f"{tot['bytes_before']:,}",
                 f"{tot['bytes_after']:,}", _pct(tot["bytes_before"], tot["bytes_after"]))
    head = ("module", "types before", "types after", "bytes before", "bytes after", "saved")
    widths = [max(len(r[i]) for r in [head, total_row, *rows]) for i in range(len(head))]

    def line(r: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))

    print(line(head))
    for r in rows:
        print(line(r))
    print(line(total_row))
    print(f"{tot['modules']} module{'s' if tot['modules'] != 1 else ''} on a base of {res.base_types:,} types, "
          f"{human_bytes(tot['bytes_before'])} -> {human_bytes(tot['bytes_after'])}, {res.seconds:.2f} s -> {args.output}")
    return 1 if res.failed else 0
