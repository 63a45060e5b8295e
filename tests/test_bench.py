"""``btfdedup bench``: the verb on committed fixtures, its JSON and plots, the slope
fit, ``--strategy`` parsing, failures recorded per row, and the libbpf comparison.

Times and memory are never asserted (no thresholds: the machine decides them); what
is asserted is the shape of the results and the facts that do not depend on the
machine (types out equal to the dedup's, libbpf's C dedup agreeing with the
``libbpf`` strategy on the type count).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import struct
from pathlib import Path
from typing import Any

import pytest

from btfdedup.cli.main import main
from btfdedup.workflows import bench
from btfdedup.workflows.libbpf_ref import LibbpfMissing, find_libbpf

pytest.importorskip("rich")
pytest.importorskip("matplotlib")

REPO = Path(__file__).resolve().parent.parent
CUS = sorted((REPO / "corpora" / "cus").glob("cu*.btf"))[:4]
MODULES = REPO / "corpora" / "modules"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STRATEGY_KEYS = {"name", "guarantee", "types_in", "types_out", "bytes_out", "seconds", "runs", "peak_rss_bytes",
                 "added_rss_bytes", "peak_method", "time_vs_libbpf_c", "types_vs_libbpf_c", "error"}


def have_libbpf() -> bool:
    try:
        find_libbpf()
    except LibbpfMissing:
        return False
    return True


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (which must come first)."""
    assert data[:8] == PNG_MAGIC
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    w, h = struct.unpack(">II", data[16:24])
    return w, h


@pytest.fixture(scope="module")
def cus_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, str]:
    """One run of the verb on four CUs, every strategy, scaling, against libbpf when present."""
    out = tmp_path_factory.mktemp("bench") / "out"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["bench", *map(str, CUS), "--repeat", "2", "--against-libbpf", "-o", str(out)])
    assert rc == 0
    return json.loads((out / "bench.json").read_text()), out, buf.getvalue()


def test_json_shape(cus_run: tuple[dict[str, Any], Path, str]) -> None:
    data, _, _ = cus_run
    from btfdedup.strategies import names

    assert data["version"] == bench.JSON_VERSION
    assert data["input"]["files"] == 4 and data["input"]["split"] is False
    assert data["input"]["types_in"] > 0 and data["input"]["merged_bytes"] > 0
    assert data["repeat"] == 2
    assert [s["name"] for s in data["strategies"]] == list(names())
    for s in data["strategies"]:
        assert set(s) == STRATEGY_KEYS
        assert s["error"] is None, s
        assert s["types_in"] == data["input"]["types_in"]
        assert 0 < s["types_out"] <= s["types_in"]
        assert len(s["runs"]) == 2 and s["seconds"] == pytest.approx(sorted(s["runs"])[0] / 2 + sorted(s["runs"])[1] / 2,
                                                                     abs=2e-6)
        assert s["peak_rss_bytes"] > 0 and s["added_rss_bytes"] >= 0
    sc = data["scaling"]
    assert [p["files"] for p in sc["points"]] == bench.scaling_sizes(4) == [1, 2, 4]
    assert sorted(sc["slopes"]) == sorted([*names(), *([bench.LIBBPF_C] if data["libbpf_c"] else [])])
    assert all(isinstance(v, float) for v in sc["slopes"].values())
    assert data["plots"] == ["bench-scaling.png", "bench-size.png", "bench-time.png"]


def test_types_out_is_the_dedups(cus_run: tuple[dict[str, Any], Path, str]) -> None:
    """The ``libbpf`` row counts what ``btfdedup dedup`` writes for the same inputs."""
    import btfdedup
    from btfdedup.strategies import run

    data, _, _ = cus_run
    merged = btfdedup.merge([btfdedup.load(str(p)) for p in CUS])
    row = next(s for s in data["strategies"] if s["name"] == "libbpf")
    assert row["types_out"] == run("libbpf", merged).btf.nr_types


def test_plots_are_png(cus_run: tuple[dict[str, Any], Path, str]) -> None:
    _, out, _ = cus_run
    for name in ("bench-size.png", "bench-time.png", "bench-scaling.png"):
        w, h = png_size((out / name).read_bytes())
        assert w > 100 and h > 100


def test_table_on_stdout(cus_run: tuple[dict[str, Any], Path, str]) -> None:
    _, out, text = cus_run
    from btfdedup.strategies import names

    for name in names():
        assert f" {name} " in text
    assert "scaling slope" in text
    assert "\x1b[" not in text  # not a terminal: no colour codes
    assert str(out / "bench.json") in text


@pytest.mark.skipif(not have_libbpf(), reason="libbpf.so.1 not installed: --against-libbpf leaves the comparison out")
def test_against_libbpf(cus_run: tuple[dict[str, Any], Path, str]) -> None:
    data, _, text = cus_run
    ref = data["libbpf_c"]
    assert ref is not None and ref["error"] is None and ref["path"]
    libbpf_row = next(s for s in data["strategies"] if s["name"] == "libbpf")
    assert ref["types_out"] == libbpf_row["types_out"]  # the same dedup, in C
    assert libbpf_row["types_vs_libbpf_c"] == 1.0
    for s in data["strategies"]:
        assert s["time_vs_libbpf_c"] > 0
    assert "vs libbpf-c" in text and "libbpf-c" in data["scaling"]["slopes"]


def test_without_libbpf_the_comparison_is_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BTFDEDUP_BENCH_LIBBPF", str(tmp_path / "no-libbpf.so"))
    rc = main(["bench", str(CUS[0]), "--strategy", "hash", "--repeat", "1", "--against-libbpf", "-o",
               str(tmp_path / "o")])
    assert rc == 0
    data = json.loads((tmp_path / "o" / "bench.json").read_text())
    assert data["libbpf_c"] is None and "libbpf comparison skipped" in data["libbpf_c_note"]
    assert data["strategies"][0]["time_vs_libbpf_c"] is None
    # one input file: no prefixes, no scaling plot
    assert data["scaling"]["points"] == [] and "one input file" in data["scaling"]["note"]
    assert data["plots"] == ["bench-size.png", "bench-time.png"]
    assert "libbpf comparison skipped" in capsys.readouterr().out


def test_split_inputs_on_a_base(tmp_path: Path) -> None:
    rc = main(["bench", str(MODULES / "veth.btf"), str(MODULES / "8021q.btf"), "--base",
               str(MODULES / "vmlinux-6.1.btf.xz"), "--strategy", "libbpf", "--repeat", "1", "--no-scaling",
               "-o", str(tmp_path)])
    assert rc == 0
    data = json.loads((tmp_path / "bench.json").read_text())
    assert data["input"]["split"] is True
    import btfdedup

    base = btfdedup.load(str(MODULES / "vmlinux-6.1.btf.xz"))
    mods = [btfdedup.load(str(MODULES / m), base=base) for m in ("veth.btf", "8021q.btf")]
    assert data["input"]["types_in"] == sum(m.nr_types for m in mods)
    assert data["strategies"][0]["types_out"] == btfdedup.strategies.run("libbpf", btfdedup.merge(mods, base)).btf.nr_types
    assert data["scaling"]["note"] == "scaling not measured (--no-scaling)"


# --------------------------------------------------------------------------- failures are rows


def test_a_failing_measurement_is_an_error_row(tmp_path: Path) -> None:
    """A worker that cannot do its measurement reports why; the run does not fail."""
    bad = tmp_path / "bad.btf"
    bad.write_bytes(b"\x9f\xeb\x01\x00" + b"\x00" * 4)
    inp = bench._Input(str(bad), None, 1, 1, 8, 8, 0.0)
    m = bench._measure("hash", "strategy", inp, 1, None, None)
    assert m.error and "BtfFormatError" in m.error and m.seconds is None
    assert m.to_json()["error"] == m.error


def test_a_timed_out_measurement_is_an_error_row() -> None:
    inp = bench._Input(str(CUS[0]), None, 1, 1, 1, 1, 0.0)
    m = bench._measure("canonical", "strategy", inp, 1, 0.01, None)
    assert m.error == "timed out after 0.01 s"


# --------------------------------------------------------------------------- pure functions


@pytest.mark.parametrize("k", [0.5, 1.0, 1.5, 2.0])
def test_slope_fit_on_synthetic_data(k: float) -> None:
    sizes = [1_000, 2_000, 4_000, 8_000, 16_000]
    assert bench.fit_slope(sizes, [3e-6 * x**k for x in sizes]) == pytest.approx(k)


def test_slope_fit_with_noise_and_degenerate_input() -> None:
    sizes = [1e3, 1e4, 1e5, 1e6]
    noisy = [2e-7 * x * f for x, f in zip(sizes, (1.1, 0.9, 1.05, 0.97), strict=True)]
    assert bench.fit_slope(sizes, noisy) == pytest.approx(1.0, abs=0.05)
    assert bench.fit_slope([10, 10], [1.0, 2.0]) is None
    assert bench.fit_slope([10], [1.0]) is None
    assert bench.fit_slope([], []) is None
    assert bench.fit_slope([10, 100], [0.0, 1.0]) is None  # a zero time has no logarithm


@pytest.mark.parametrize(("n", "sizes"), [(1, [1]), (2, [1, 2]), (3, [1, 2, 3]), (32, [4, 8, 16, 32]),
                                          (2172, [272, 543, 1086, 2172])])
def test_scaling_sizes(n: int, sizes: list[int]) -> None:
    assert bench.scaling_sizes(n) == sizes
    assert all(math.isfinite(s) for s in sizes)


def test_parse_strategies() -> None:
    known = ("libbpf", "canonical", "hash")
    assert bench.parse_strategies("all", known) == list(known)
    assert bench.parse_strategies("hash,libbpf", known) == ["hash", "libbpf"]
    assert bench.parse_strategies(" canonical ", known) == ["canonical"]


@pytest.mark.parametrize(
    ("value", "message"),
    [("nope", "unknown dedup strategy 'nope'"), ("libbpf,libbpf", "libbpf given twice"),
     ("libbpf,", "comma-separated"), ("", "comma-separated"), ("all,hash", "unknown dedup strategy 'all'")],
)
def test_strategy_errors_exit_2(value: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", str(CUS[0]), "--strategy", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("btfdedup: error: --strategy") and message in err


@pytest.mark.parametrize("argv", [["--repeat", "0"], ["--timeout", "-1"]])
def test_bad_numbers_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", str(CUS[0]), *argv]) == 2
    assert capsys.readouterr().err.startswith(f"btfdedup: error: {argv[0]}")


def test_malformed_repeat_is_argparses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["bench", str(CUS[0]), "--repeat", "x"])
    assert e.value.code == 2 and "--repeat" in capsys.readouterr().err


def test_output_that_is_a_file_fails_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["bench", str(CUS[0]), "-o", str(f)]) == 1
    assert "exists and is not a directory" in capsys.readouterr().err
    assert f.read_text() == "x"
