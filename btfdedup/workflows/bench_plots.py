"""The PNG plots of ``btfdedup bench``, drawn with matplotlib's Agg backend.

* ``bench-size.png``: types out and bytes out per strategy (and libbpf's C dedup);
* ``bench-time.png``: median dedup time and peak memory per strategy;
* ``bench-scaling.png``: time against types in over the scaling prefixes, log-log,
  one line per strategy with its fitted slope in the legend.

Figures are built as :class:`matplotlib.figure.Figure` objects on an Agg canvas
(never through pyplot's global state, which would pick a GUI backend) and returned
as PNG bytes; the caller writes them.  matplotlib is imported here only, and this
module only by the ``bench`` verb.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from btfdedup.workflows.bench import BenchReport, Measurement

SIZE_PNG = "bench-size.png"
TIME_PNG = "bench-time.png"
SCALING_PNG = "bench-scaling.png"


def _png(fig: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, metadata={"Software": None})
    return buf.getvalue()


def _rows(report: BenchReport) -> list[Measurement]:
    rows = [m for m in report.results if m.error is None]
    if report.libbpf_c is not None and report.libbpf_c.error is None:
        rows.append(report.libbpf_c)
    return rows


def _title(report: BenchReport) -> str:
    what = f"{report.files} file{'s' if report.files != 1 else ''}, {report.types_in:,} types in"
    return what + (" (split)" if report.base else "")


def _bars(report: BenchReport, left: tuple[str, str], right: tuple[str, str], values: tuple[str, str]) -> bytes:
    from matplotlib.figure import Figure

    rows = _rows(report)
    names = [m.name for m in rows]
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    fig.suptitle(_title(report), fontsize=10)
    for ax, (label, unit), attr in zip(fig.subplots(1, 2), (left, right), values, strict=True):
        vals = [float(getattr(m, attr) or 0) for m in rows]
        if unit == "MiB":
            vals = [v / (1 << 20) for v in vals]
        bars = ax.bar(names, vals, color=["C0" if n != "libbpf-c" else "C7" for n in names])
        ax.bar_label(bars, labels=[f"{v:,.0f}" if v >= 100 else f"{v:.3g}" for v in vals], fontsize=8)
        ax.set_ylabel(f"{label} ({unit})" if unit else label)
        ax.tick_params(axis="x", labelsize=8)
    return _png(fig)


def size_png(report: BenchReport) -> bytes:
    """Types out and bytes out per measurement."""
    return _bars(report, ("types out", ""), ("bytes out", "MiB"), ("types_out", "bytes_out"))


def time_png(report: BenchReport) -> bytes:
    """Median time and peak memory per measurement."""
    return _bars(report, ("median dedup time", "s"), ("peak memory", "MiB"), ("seconds", "peak_rss"))


def scaling_png(report: BenchReport) -> bytes:
    """Time against types in, log-log, with each fitted slope."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    names = list(report.slopes)
    for i, name in enumerate(names):
        pts = [(p.types_in, s) for p in report.scaling if (s := p.seconds.get(name))]
        if not pts:
            continue
        slope = report.slopes.get(name)
        label = f"{name} (slope {slope:.2f})" if slope is not None else name
        ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", color=f"C{i}", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("types in (merged prefix of the inputs)")
    ax.set_ylabel("dedup time (s)")
    ax.set_title(_title(report), fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    if names:
        ax.legend(fontsize=8)
    return _png(fig)


def render(report: BenchReport) -> dict[str, bytes]:
    """File name -> PNG bytes of every plot the report has data for."""
    import matplotlib

    matplotlib.use("Agg")  # no display, whatever the environment says
    out = {SIZE_PNG: size_png(report), TIME_PNG: time_png(report)}
    if report.scaling:
        out[SCALING_PNG] = scaling_png(report)
    return out
