"""Ctrl-C anywhere in a run, as a user presses it: the installed ``btfdedup`` command
in a subprocess, SIGINT sent at seeded random moments spread over a measured run.

Each interrupted run must either have finished normally (exit 0, every output
byte-identical to an uninterrupted run) or print exactly ``btfdedup: interrupted``
on stderr, exit 130 and leave its working directory empty: no OUTDIR, no output
file, no temporary file.

The moments start after the bare interpreter's own start-up (measured here): until
the interpreter runs the first line of btfdedup, no Python code can handle a signal.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO

MODDIR = FIXTURES / "modules"
NAMES = ("8021q", "bfq", "cast_common", "crc-itu-t", "dummy", "ip_set", "nls_utf8", "sunrpc", "veth")
BASE = str(MODDIR / "vmlinux-6.1.btf.xz")
MOMENTS = 20
SEED = 20261206
MESSAGE = b"btfdedup: interrupted\n"


def btfdedup_command() -> list[str]:
    """The installed console script next to this interpreter, or ``python -m btfdedup``."""
    script = shutil.which("btfdedup", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "btfdedup"]


def split_argv(workdir: Path) -> list[str]:
    return ["split", *(str(MODDIR / f"{n}.btf") for n in NAMES), "--base", BASE, "-o", str(workdir / "out")]


def dedup_argv(workdir: Path) -> list[str]:
    return ["dedup", str(FIXTURES / "cus"), str(FIXTURES / "vmlinux-6.18.btf.xz"), "-o", str(workdir / "big.btf")]


def snapshot(workdir: Path) -> dict[str, bytes]:
    """Every file under ``workdir`` (relative path -> bytes)."""
    return {str(p.relative_to(workdir)): p.read_bytes() for p in sorted(workdir.rglob("*")) if p.is_file()}


def interpreter_startup() -> float:
    """Seconds a bare interpreter (with this venv's site) takes to start and exit."""
    times = []
    for _ in range(3):
        t = time.monotonic()
        subprocess.run([sys.executable, "-c", "import tempfile"], check=True)
        times.append(time.monotonic() - t)
    return min(times)


def interrupt_at(argv: list[str], workdir: Path, at: float) -> tuple[subprocess.Popen[bytes], bool, bytes, bytes]:
    """Start the command in ``workdir``, send SIGINT ``at`` seconds later; the process,
    whether it was still running then, and its stdout and stderr."""
    t0 = time.monotonic()
    p = subprocess.Popen([*btfdedup_command(), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=workdir)
    time.sleep(max(0.0, at - (time.monotonic() - t0)))
    running = p.poll() is None
    if running:
        p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=300)
    return p, running, out, err


def check_moments(make_argv: Callable[[Path], list[str]], tmp_path: Path) -> None:
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    # Warm numba's cache, then time one run.
    r = subprocess.run([*btfdedup_command(), *make_argv(ref_dir)], capture_output=True, cwd=ref_dir, timeout=600)
    assert r.returncode == 0, r.stderr
    durations = []
    for _ in range(2):  # the faster of two runs: a run's length on a quiet machine
        shutil.rmtree(ref_dir)
        ref_dir.mkdir()
        t = time.monotonic()
        r = subprocess.run([*btfdedup_command(), *make_argv(ref_dir)], capture_output=True, cwd=ref_dir, timeout=600)
        durations.append(time.monotonic() - t)
        assert r.returncode == 0, r.stderr
    duration = min(durations)
    reference = snapshot(ref_dir)
    assert reference
    floor = 2 * interpreter_startup()
    rng = random.Random(SEED)
    moments = sorted(rng.uniform(floor, max(duration, floor + 0.05)) for _ in range(MOMENTS))
    mid_run = finished = 0
    for k, at in enumerate(moments):
        work = tmp_path / f"run{k}"
        work.mkdir()
        p, running, out, err = interrupt_at(make_argv(work), work, at)
        where = f"SIGINT at {at:.3f} s of a {duration:.3f} s run"
        if p.returncode == 0:
            finished += 1
            assert snapshot(work) == reference, where
        else:
            mid_run += 1
            assert running, where
            assert (p.returncode, err) == (130, MESSAGE), f"{where}: exit {p.returncode}, stderr {err!r}"
            assert out == b"", where
            assert os.listdir(work) == [], f"{where}: left {os.listdir(work)}"
    print(f"{make_argv(tmp_path)[0]}: {MOMENTS} moments in [{floor:.3f}, {duration:.3f}] s: "
          f"{mid_run} interrupted mid-run (one line, exit 130, nothing left), {finished} finished first",
          file=sys.stderr)
    # The moments lie inside the measured run: a good part of them must have hit it
    # (the rest finished first, when this run went faster than the measured one).
    assert mid_run >= MOMENTS // 4, (mid_run, finished)


def test_split_interrupted_at_random_moments(tmp_path: Path) -> None:
    check_moments(split_argv, tmp_path)


def test_dedup_interrupted_at_random_moments(tmp_path: Path) -> None:
    check_moments(dedup_argv, tmp_path)


def test_interrupt_during_numba_compilation(tmp_path: Path) -> None:
    """With an empty compile cache the first seconds are spent compiling (a warm run
    of the whole command takes under one); Ctrl-C there is the same one line."""
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    p = subprocess.Popen([*btfdedup_command(), "dedup", str(FIXTURES / "cus"), "-o", str(work / "out.btf")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=work, env=env)
    deadline = time.monotonic() + 120
    # Compilation is under way once the first function has been written to the cache.
    while not any(cache.rglob("*.nbi")) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    assert p.poll() is None, "the run ended before it could be interrupted while compiling"
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert (p.returncode, err, out) == (130, MESSAGE, b"")
    assert os.listdir(work) == []


def test_sigterm_is_exit_143(tmp_path: Path) -> None:
    p = subprocess.Popen([*btfdedup_command(), *dedup_argv(tmp_path)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd=tmp_path)
    time.sleep(0.3)
    assert p.poll() is None
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=120)
    assert (p.returncode, err, out) == (143, MESSAGE, b"")
    assert os.listdir(tmp_path) == []


def test_interrupt_while_writing_leaves_outdir_as_it_was(tmp_path: Path) -> None:
    """split blocked while writing its outputs (one of them is a FIFO nobody reads,
    written in place after the other files were staged next to their targets):
    Ctrl-C removes the staged files, and OUTDIR holds only what it held before."""
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "veth.btf")
    (out / "keep.txt").write_bytes(b"mine")
    argv = ["split", str(MODDIR / "veth.btf"), str(MODDIR / "8021q.btf"), str(MODDIR / "dummy.btf"),
            "--base", BASE, "-o", str(out)]
    p = subprocess.Popen([*btfdedup_command(), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    deadline = time.monotonic() + 120
    # Staged: the temporary files of 8021q and dummy sit in OUTDIR while the FIFO blocks.
    while len(os.listdir(out)) < 4 and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    assert p.poll() is None, p.communicate()
    staged = sorted(os.listdir(out))
    assert len(staged) == 4 and all(n.startswith(".btfdedup-") for n in staged if n not in ("veth.btf", "keep.txt"))
    p.send_signal(signal.SIGINT)
    stdout, err = p.communicate(timeout=120)
    assert (p.returncode, err, stdout) == (130, MESSAGE, b"")
    assert sorted(os.listdir(out)) == ["keep.txt", "veth.btf"]


@pytest.mark.parametrize("verb", [["dump", str(FIXTURES / "vmlinux-6.18.btf.xz")],
                                  ["stats", str(FIXTURES / "vmlinux-6.18.btf.xz")],
                                  ["validate", str(FIXTURES / "vmlinux-6.18.btf.xz")]],
                         ids=["dump", "stats", "validate"])
def test_other_verbs(verb: list[str], tmp_path: Path) -> None:
    """The verbs that only print, interrupted early in a run of about half a second:
    the same one line.  A run that got to its end first (the signal then arrives
    while it exits, and is ignored by design) exits 0; at least one of the moments
    must land inside the run."""
    interrupted = 0
    for at in (0.15, 0.25, 0.35):
        p = subprocess.Popen([*btfdedup_command(), *verb], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             cwd=tmp_path)
        time.sleep(at)
        p.send_signal(signal.SIGINT)
        _out, err = p.communicate(timeout=120)
        if p.returncode == 0:
            assert err == b"", err
            continue
        interrupted += 1
        assert (p.returncode, err) == (130, MESSAGE), f"SIGINT at {at} s"
    assert interrupted >= 1


def test_in_process_main_returns_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """``main()`` called by Python code in its own process: the interrupt does not end
    that process; the staged files are removed, the line printed, 130 returned and
    the caller's SIGINT handler is back in place."""
    from btfdedup.cli.main import main
    from btfdedup.io import writer

    real_commit = writer.OutputSet.commit

    def interrupted_commit(self: writer.OutputSet) -> None:
        assert len([n for n in os.listdir(tmp_path / "out") if n.startswith(".btfdedup-")]) == 2
        signal.raise_signal(signal.SIGINT)  # Ctrl-C with both files staged
        real_commit(self)

    monkeypatch.setattr(writer.OutputSet, "commit", interrupted_commit)
    before = signal.getsignal(signal.SIGINT)
    rc = main(["split", str(MODDIR / "veth.btf"), str(MODDIR / "dummy.btf"), "--base", BASE,
               "-o", str(tmp_path / "out")])
    assert rc == 130
    assert capsys.readouterr().err == MESSAGE.decode()
    assert os.listdir(tmp_path) == []
    assert signal.getsignal(signal.SIGINT) is before


def test_keyboard_interrupt_turned_into_system_error(capfd: pytest.CaptureFixture[str]) -> None:
    """numba reports a KeyboardInterrupt raised while a compiled function was being
    dispatched as ``SystemError: CPUDispatcher(...) returned a result with an
    exception set``, chained to the interrupt: recognised as an interrupt, while any
    other SystemError stays a bug and propagates."""
    from btfdedup.cli import interrupt

    def interrupted_in_numba(argv: object) -> int:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as e:
            raise SystemError("CPUDispatcher(<function prep_phase>) returned a result with an exception set") from e

    def broken(argv: object) -> int:
        raise SystemError("a bug")

    assert interrupt.run(interrupted_in_numba, []) == 130
    assert capfd.readouterr().err == MESSAGE.decode()  # written to fd 2 directly
    with pytest.raises(SystemError, match="a bug"):
        interrupt.run(broken, [])


@pytest.mark.corpus
def test_split_of_the_1121_corpus_modules_interrupted(corpora_dir: Path, tmp_path: Path) -> None:
    """The issue's case at full size: ``split`` of every module of the 6.1 corpus."""
    import tarfile

    d = corpora_dir / "modules-6.1"
    src = tmp_path / "src"
    with tarfile.open(d / "split.tar.xz", "r:xz") as tf:
        tf.extractall(src, filter="data")
    runs = tmp_path / "runs"
    runs.mkdir()

    def argv(workdir: Path) -> list[str]:
        return ["split", str(src / "split"), "--base", str(d / "vmlinux.btf"), "-o", str(workdir / "out")]

    check_moments(argv, runs)


@pytest.mark.corpus
def test_dedup_of_the_raw_vmlinux_interrupted(corpora_dir: Path, tmp_path: Path) -> None:
    """A big ``dedup``: the undeduplicated 3.4 M-type vmlinux."""
    raw = corpora_dir / "vmlinux-6.1-raw" / "vmlinux-raw.btf.xz"

    def argv(workdir: Path) -> list[str]:
        return ["dedup", str(raw), "-o", str(workdir / "vmlinux.btf")]

    check_moments(argv, tmp_path)
