"""``btfdedup bench``: measure the dedup strategies on one input set.

``btfdedup bench INPUT... [--strategy all|NAME,...] [--repeat N] [--against-libbpf]
[--base BASE] [--timeout S] [--no-scaling] [-o DIR]``

The INPUTs (files or directories, as ``dedup`` takes them; with ``--base``, modules
split on it) are merged once, then each strategy deduplicates the merge in a fresh
process of its own (:mod:`btfdedup.workflows.bench`): types in and out, bytes out,
median wall time of ``--repeat`` runs, peak memory, and with ``--against-libbpf`` the
ratio to libbpf's C ``btf__dedup`` of the same bytes in the same run.  A table goes to
stdout; with ``-o DIR``, ``DIR/bench.json`` and PNG plots (sizes, times, scaling)
are written there.  A progress bar is drawn on stderr when it is a terminal.

rich and matplotlib (the ``bench`` extra) are imported by this verb only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from btfdedup.errors import BtfUsageError, CommandLineError

if TYPE_CHECKING:
    from btfdedup.workflows.bench import BenchReport

HELP = "measure the dedup strategies on one input set: sizes, time, memory, scaling, vs libbpf"
#: Seconds one measurement may take before it is recorded as timed out.
DEFAULT_TIMEOUT = 1800.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``bench`` verb."""
    p = sub.add_parser(
        "bench",
        help=HELP,
        description="Merge the INPUTs once (as 'dedup' does) and deduplicate the merge with each strategy, each in a "
        "fresh process: types and bytes out, median wall time, peak memory, and the time against growing prefixes "
        "of the inputs. A failing or timed-out strategy is reported in its row; the others go on.",
    )
    p.add_argument("inputs", metavar="INPUT", nargs="+", help="raw BTF, ELF object, module, or a directory")
    p.add_argument("--strategy", default="all", metavar="all|NAME,...",
                   help="the strategies to measure: all (default) or comma-separated names (see 'btfdedup strategies')")
    p.add_argument("--repeat", type=int, default=3, metavar="N",
                   help="timed runs per strategy; the median is reported (default: 3)")
    p.add_argument("--against-libbpf", action="store_true",
                   help="also run libbpf's C btf__dedup (system libbpf.so.1, through ctypes) on the same merged "
                   "bytes and report each strategy's time as a ratio to it")
    p.add_argument("--base", "-B", metavar="BASE",
                   help="base BTF: the inputs are modules, read as split BTF on it, and the merge is split")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                   help=f"seconds one measurement may run before it is recorded as timed out (0: no limit; "
                   f"default: {DEFAULT_TIMEOUT:g})")
    p.add_argument("--no-scaling", action="store_true",
                   help="skip the scaling measurement (growing prefixes of the inputs)")
    p.add_argument("-o", "--output", metavar="DIR",
                   help="write DIR/bench.json and the plots bench-size.png, bench-time.png, bench-scaling.png")
    p.set_defaults(func=run)


def _need_extras() -> None:
    """rich and matplotlib are the ``bench`` extra; say how to get them."""
    import importlib.util

    missing = [m for m in ("rich", "matplotlib") if importlib.util.find_spec(m) is None]
    if missing:
        raise BtfUsageError(f"bench needs {' and '.join(missing)}: pip install 'btfdedup[bench]'")


def run(args: argparse.Namespace) -> int:
    from btfdedup import strategies
    from btfdedup.workflows.bench import check_output_dir, parse_strategies, run_bench

    names = parse_strategies(args.strategy, strategies.names())
    if args.repeat < 1:
        raise CommandLineError(f"--repeat {args.repeat}: give at least 1")
    if args.timeout < 0:
        raise CommandLineError(f"--timeout {args.timeout:g}: give 0 (no limit) or more")
    if args.output:
        check_output_dir(args.output)
    _need_extras()

    with _Progress() as progress:
        report = run_bench(args.inputs, strategy_names=names, base_path=args.base, repeat=args.repeat,
                           against_libbpf=args.against_libbpf, scaling=not args.no_scaling,
                           timeout=args.timeout or None, progress=progress)
    for f, why in report.skipped:
        print(f"btfdedup: note: skipped {f}: {why}", file=sys.stderr)
    if args.output:
        _write(report, args.output)
    _print_table(report, args.output)
    return 0


class _Progress:
    """A rich progress bar on stderr while the benchmark runs, when stderr is a terminal."""

    def __enter__(self) -> Any:
        if not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                            TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self.bar.start()
        self.task = self.bar.add_task("bench", total=1)

        def update(what: str, done: int, total: int) -> None:
            self.bar.update(self.task, description=what, completed=done, total=total)

        return update

    def __exit__(self, *exc: object) -> None:
        bar = getattr(self, "bar", None)
        if bar is not None:
            bar.stop()


def _write(report: BenchReport, out_dir: str) -> None:
    """``bench.json`` and the plots into ``out_dir``, all or none (:mod:`btfdedup.io.writer`)."""
    from btfdedup.io.writer import OutputSet
    from btfdedup.workflows.bench_plots import render
    from btfdedup.workflows.inputs import protected_paths

    pngs = render(report)
    report.plots = sorted(pngs)
    with OutputSet(protected_paths(report.inputs, report.base)) as out:
        out.make_dir(out_dir)
        for name, data in pngs.items():
            out.add(os.path.join(out_dir, name), data)
        out.add(os.path.join(out_dir, "bench.json"), (json.dumps(report.to_json(), indent=2) + "\n").encode())
        out.commit()


def _mib(n: int | None) -> str:
    return f"{n / (1 << 20):,.1f}" if n is not None else "-"


def _ms(seconds: float | None) -> str:
    """Milliseconds, two decimals below 10 ms (BPF objects dedup in well under one)."""
    if seconds is None:
        return "-"
    ms = seconds * 1000
    return f"{ms:,.2f}" if ms < 10 else f"{ms:,.0f}"


def _print_table(report: BenchReport, out_dir: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from btfdedup.cli.output import human_bytes

    tty = sys.stdout.isatty()
    console = Console(width=None if tty else 160, highlight=False, soft_wrap=False)
    split = " split on " + report.base if report.base else ""
    title = (f"{report.files} input file{'s' if report.files != 1 else ''}{split}: {report.types_in:,} types, "
             f"{human_bytes(report.merged_bytes)} merged; median of {report.repeat}")
    console.print(title)
    table = Table()
    against = report.libbpf_c is not None
    for col in ("strategy", "types out", "bytes out", "time ms", "peak MiB", "+MiB", "vs libbpf-c", "error"):
        if col != "vs libbpf-c" or against:
            table.add_column(col, justify="left" if col in ("strategy", "error") else "right")
    rows = list(report.results) + ([report.libbpf_c] if report.libbpf_c is not None else [])
    for m in rows:
        ratio = [f"{m.time_vs_libbpf_c:.2f}x" if m.time_vs_libbpf_c is not None else "-"] if against else []
        table.add_row(m.name, f"{m.types_out:,}" if m.types_out is not None else "-",
                      human_bytes(m.bytes_out) if m.bytes_out is not None else "-", _ms(m.seconds),
                      _mib(m.peak_rss), _mib(m.added_rss), *ratio, m.error or "")
    console.print(table)
    if report.slopes:
        console.print("scaling slope (log time / log types in): " + ", ".join(
            f"{k} {v:.2f}" if v is not None else f"{k} -" for k, v in report.slopes.items()))
    for note in (report.libbpf_c_note, report.scaling_note):
        if note:
            console.print(f"note: {note}")
    if out_dir:
        console.print(f"wrote {os.path.join(out_dir, 'bench.json')} and {', '.join(report.plots)}")
