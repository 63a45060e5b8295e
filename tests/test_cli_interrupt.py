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
    # A first run warms the page cache, then one run is timed.
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


def imported_names(importtime_stderr: bytes) -> list[str]:
    """Module names of ``-X importtime`` lines, in the order their imports finished."""
    return [ln.rpartition(b"|")[2].strip().decode() for ln in importtime_stderr.splitlines()
            if ln.startswith(b"import time:") and not ln.rstrip().endswith(b"imported package")]


def modules_of_the_verb_import(verb: str) -> set[str]:
    """What importing ``btfdedup.cli.<verb>`` imports, after the front end's own imports."""
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import btfdedup.cli.main\nimport btfdedup.cli.{verb}"],
                       capture_output=True, cwd=REPO, check=True)
    names = imported_names(r.stderr)
    return set(names[names.index("btfdedup.cli.main") + 1 : names.index(f"btfdedup.cli.{verb}") + 1])


def test_interrupt_while_the_verb_is_imported(tmp_path: Path) -> None:
    """The verb's module, and with it numpy and the compiled core, is imported after
    the interrupt handler is in place: Ctrl-C while that import is under way is the
    same one line.  The child reports each import as it finishes (``-X importtime``
    on its stderr); the signal goes when the first module of the package that only
    the verb imports has finished, and some module of the verb's import must not have."""
    verb_import = modules_of_the_verb_import("dedup")
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    p = subprocess.Popen([*btfdedup_command(), "dedup", str(FIXTURES / "cus"), "-o", str(work / "out.btf")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=work, env=env)
    assert p.stderr is not None
    startup = {"btfdedup", "btfdedup.cli", "btfdedup.cli.interrupt", "btfdedup.cli.main", "btfdedup.errors"}
    lines: list[bytes] = []
    for line in p.stderr:
        lines.append(line)
        name = imported_names(line)
        if name and name[0].startswith("btfdedup.") and name[0] not in startup:
            p.send_signal(signal.SIGINT)
            break
    out, rest = p.communicate(timeout=120)
    err = b"".join(lines) + rest
    assert verb_import - set(imported_names(err)), "the verb's import had finished before the signal arrived"
    messages = b"".join(ln + b"\n" for ln in err.splitlines() if not ln.startswith(b"import time:"))
    assert (p.returncode, messages, out) == (130, MESSAGE, b"")
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


def test_signal_during_compiled_code_is_an_interrupt_after_it(capfd: pytest.CaptureFixture[str]) -> None:
    """A signal that arrives while compiled code runs (here a C loop that neither
    checks for signals nor holds the GIL) is handled when the call returns to Python,
    as a KeyboardInterrupt like any other: the line, 130, and nothing after the call
    runs.  Any other exception, SystemError included, is a bug and propagates."""
    import hashlib
    import threading

    from btfdedup.cli import interrupt

    after: list[str] = []

    def compiled_call_interrupted(argv: object) -> int:
        timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        hashlib.pbkdf2_hmac("sha256", b"key", b"salt", 1_000_000)  # well over 0.05 s of C
        timer.join()
        after.append("ran on")
        return 0

    def broken(argv: object) -> int:
        raise SystemError("a bug")

    assert interrupt.run(compiled_call_interrupted, []) == 130
    assert after == []
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
