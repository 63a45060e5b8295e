"""``btfdedup dedup``: merge inputs into one fresh BTF and deduplicate it.

``btfdedup dedup INPUT... -o OUT [--base BASE] [--ext] [--finalize-datasec] [--keep-going] [--json]
[--force-collisions] [--libbpf-version 1.1|1.6|1.7|1.8]`` and ``btfdedup dedup --link OBJ... -o OUT [--ext] [--json]``

INPUT is anything :func:`btfdedup.load` reads (raw BTF, BPF objects, modules,
compressed modules, /sys/kernel/btf files) or a directory (every file under it that
carries BTF, in sorted path order; others are skipped with a note).  The inputs are
merged in the order given, then deduplicated byte-identically to libbpf v1.6; with
``--base`` the result is split BTF on that base.  OUT is written by
:mod:`btfdedup.io.writer`'s rule: a regular file atomically, a device or FIFO in
place, ``-`` to stdout (then the summary goes to stderr); never over an input.
``--libbpf-version`` reproduces another libbpf release's merge and dedup (default 1.6;
see :mod:`btfdedup.engine.profiles`).  One
summary line on stdout (``--json``: one JSON object); a progress line on stderr for
runs longer than a second, when stderr is a terminal.  ``--keep-going`` leaves bad
inputs out (one ``btfdedup: error:`` line each), writes the rest and exits 1.
``--sort`` writes the result in the kernel's name order (``btfdedup sort``).

``--finalize-datasec`` reads each BPF object as libbpf's object open leaves its BTF
(DATASEC sizes and VAR offsets from the ELF, externs laid out) before the merge, so
the merged BTF loads into a kernel.  ``--link`` replaces the merge by the static
linker's (``bpftool gen object``): same-named DATASECs concatenated, externs
resolved, then libbpf 1.1.2's dedup; with ``--ext`` the linked ``.BTF.ext`` too.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from btfdedup import strategies
from btfdedup.cli.choices import EXECUTOR_CHOICES, LIBBPF_VERSION_CHOICES, MAP_FORMAT_CHOICES
from btfdedup.cli.output import ProgressLine, human_bytes, report_failures
from btfdedup.errors import BtfError, CommandLineError
from btfdedup.io.load import load

if TYPE_CHECKING:
    from btfdedup.workflows.dedup import DedupRun



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
    p.add_argument("-o", "--output", metavar="OUT", required=True,
                   help="where to write the deduplicated raw BTF ('-' for stdout; a device or FIFO is written in place)")
    p.add_argument("--base", "-B", metavar="BASE",
                   help="base BTF: split inputs are read on it and the output is split BTF on it")
    p.add_argument("--strategy", default=strategies.DEFAULT, choices=strategies.names(),
                   help="dedup algorithm (default: libbpf; see 'btfdedup strategies')")
    p.add_argument("--ext", action="store_true",
                   help="dedup the single INPUT together with its .BTF.ext (libbpf opts.btf_ext) instead of "
                   "merging; the rewritten .BTF.ext is written to OUT.ext")
    p.add_argument("--force-collisions", action="store_true",
                   help="libbpf's testing knob: every hash key collides (same output, slower)")
    p.add_argument("--keep-going", action="store_true",
                   help="leave out inputs that cannot be read or merged (one error line each), write the result "
                   "of the others, and exit 1")
    p.add_argument("--finalize-datasec", action="store_true",
                   help="read each ELF input as libbpf's bpf_object__open leaves its BTF (DATASEC sizes, VAR "
                   "offsets, extern sections) before merging, so the result loads into a kernel")
    p.add_argument("--link", action="store_true",
                   help="link the BPF object INPUTs as the static linker does (bpftool gen object) and write the "
                   "linked .BTF (with --ext also the linked .BTF.ext to OUT.ext)")
    p.add_argument("--json", action="store_true", help="print the summary as one compact JSON object")
    p.add_argument("--sort", action="store_true",
                   help="write the types in the kernel's name order (as resolve_btfids sorts them with libbpf "
                   "btf__permute; see 'btfdedup sort'), .BTF.ext remapped with them")
    p.add_argument("--libbpf-version", choices=LIBBPF_VERSION_CHOICES, default=None,
                   help="reproduce this libbpf release's btf__add_btf and btf__dedup bytes (default: 1.6; "
                   "1.7 dedups typedefs by graph equivalence, 1.8 = master also writes new BTF with a 32-byte header)")
    p.add_argument("--map", metavar="FILE", dest="map_output",
                   help="write, for every input type, the output type ID it became (JSON lines {\"input\": FILE, \"id\": ID, \"output_id\": ID}, or CSV with --map-format csv)")
    p.add_argument("--map-format", choices=MAP_FORMAT_CHOICES, default="jsonl",
                   help="format of the --map file (default: jsonl)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="reduce groups of inputs in N worker processes first (canonical strategy; same bytes)")
    p.add_argument("--executor", choices=EXECUTOR_CHOICES, default="local",
                   help="where the workers run: local processes, or a Dask cluster (pip install 'btfdedup[dask]')")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="with --executor dask: a running Dask scheduler (default: a local cluster of N workers)")
    p.set_defaults(func=run)


def _check_link_options(args: argparse.Namespace) -> None:
    """``--link`` is a merge and a dedup of its own: options of the other merge do not apply."""
    if not args.link:
        return
    for flag, given in (("--base", args.base), ("--finalize-datasec", args.finalize_datasec),
                        ("--keep-going", args.keep_going), ("--force-collisions", args.force_collisions),
                        ("--libbpf-version", args.libbpf_version), ("--map", args.map_output),
                        ("--workers", args.workers != 1), ("--executor", args.executor != "local"),
                        ("--strategy", args.strategy != "libbpf")):
        if given:
            raise CommandLineError(f"--link does not combine with {flag}: the static linker fixes up, merges "
                                   "and dedups the objects itself")


def run(args: argparse.Namespace) -> int:
    from btfdedup.engine.profiles import DEFAULT_LIBBPF_VERSION
    from btfdedup.workflows.dedup import check_arguments, dedup_files, link_files, open_object_loader
    from btfdedup.workflows.inputs import Failure

    progress = ProgressLine()
    failures: list[Failure] | None = [] if args.keep_going else None
    _check_link_options(args)
    if args.link:
        _summary(args, link_files(args.inputs, args.output, ext=args.ext, sort=args.sort))
        return 0
    check_arguments(args.inputs, args.output, ext=args.ext)  # before the base is read
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
            failures=failures,
            libbpf_version=args.libbpf_version or DEFAULT_LIBBPF_VERSION,
            sort=args.sort,
            map_output=args.map_output,
            map_format=args.map_format,
            workers=args.workers,
            executor=args.executor,
            scheduler=args.scheduler,
            **({"loader": open_object_loader} if args.finalize_datasec else {}),
        )
    except BtfError:
        progress.done()
        report_failures(failures)  # before the error that ended the run
        raise
    finally:
        progress.done()
    report_failures(failures)
    _summary(args, res)
    return 1 if res.failed else 0


def _summary(args: argparse.Namespace, res: DedupRun) -> None:
    """Skip notes, then the one summary line (or JSON object)."""
    from btfdedup.io.writer import STDOUT

    for f, why in res.skipped:
        print(f"btfdedup: note: skipped {f}: {why}", file=sys.stderr)
    if res.parallel_fallback:
        print(f"btfdedup: note: {res.parallel_fallback}", file=sys.stderr)
    summary = sys.stderr if args.output == STDOUT else sys.stdout  # stdout carries the BTF
    if args.json:
        print(json.dumps(res.to_json(), separators=(",", ":")), file=summary)
    else:
        n = len(res.inputs)
        print(
            f"{n} input{'s' if n != 1 else ''}{' linked' if args.link else ''}: {res.types_in:,} types -> "
            f"{res.types_out:,} types{' (split)' if res.split else ''}, {human_bytes(res.bytes_in)} -> "
            f"{human_bytes(res.bytes_out)}, {res.seconds:.2f} s -> {res.output}"
            + (f" (+ {res.ext_output})" if res.ext_output else ""),
            file=summary,
        )
