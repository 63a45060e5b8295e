"""Ctrl-C and SIGTERM on the command line: one line, exit 130 (143), no partial output.

Python's default SIGINT handler raises KeyboardInterrupt wherever the main thread
happens to be: inside an import, inside the cleanup of a half-written file, or
where a call into the compiled core returns (a signal that arrives while compiled
code runs is handled at the next Python boundary, like anywhere else).  The
command line replaces it with a handler that never raises: it removes what the
run has not committed (the ledger of :mod:`btfdedup.io.writer`: temporary files of
atomic writes, the OUTDIR ``split`` created), prints ``btfdedup: interrupted`` on
stderr and ends the process with status 128 + the signal number.  Further signals
are ignored while it cleans up, and :func:`btfdedup.io.writer.deferred_signals`
holds signals while files are being renamed into place, so the cleanup never sees
a half-done rename.

Once a run's outputs are in place (:func:`btfdedup.io.writer.outputs_committed`)
the run is finished: what is left is printing its summary, so a first interrupt
then is ignored and the run ends normally; a second one still ends the process.

The handler is installed as early as possible: when this module is imported by
``btfdedup`` itself in a process that *is* the command line (the console script or
``python -m btfdedup``), so that an interrupt while the chosen verb's module
imports numpy and the compiled extension modules is covered too, and by
:func:`run` around :func:`btfdedup.cli.main.main`.  A library user's handlers are
never touched.  When Python code calls :func:`btfdedup.cli.main.main` in its own
process (tests do), ending that process is not ours to do: there the handler
raises KeyboardInterrupt instead, and :func:`run` cleans up, prints the line and
returns 130 (143) to the caller.
"""

from __future__ import annotations

import os
import signal
import sys

# Imported while the interpreter starts the command, before the handler is in
# place: nothing here may take time, so the typing imports are for checkers only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import FrameType
    from typing import NoReturn

MESSAGE = "btfdedup: interrupted"
_SIGNALS = (signal.SIGINT, signal.SIGTERM)

#: A signal arrived after the run's outputs were committed and was ignored.
_late = False
#: The handler was installed for the whole process (the process is the CLI).
_process_wide = False
#: The signal that interrupted an in-process run (0: none).
_received = 0


def _ledger(name: str) -> Callable[[], object] | None:
    """Function ``name`` of the writer module, if that module has been imported far
    enough to define it.  A signal may arrive while the module is still being
    imported: then it has staged nothing yet, and there is nothing to ask it."""
    writer = sys.modules.get("btfdedup.io.writer")
    return getattr(writer, name, None) if writer is not None else None


def _run_is_done() -> bool:
    committed = _ledger("outputs_committed")
    return bool(committed is not None and committed())


def discard_and_report() -> None:
    """Remove what the run has not committed and print the one interrupt line."""
    discard = _ledger("discard_pending")
    if discard is not None:
        discard()
    line = MESSAGE + "\n"
    try:
        if os.isatty(2):
            line = "\r\x1b[K" + line  # over a progress line, not after it
        os.write(2, line.encode())
    except OSError:
        return


def _ignore_signals() -> None:
    """SIGINT and SIGTERM ignored by the whole process (every thread), from now on."""
    try:
        for s in _SIGNALS:
            signal.signal(s, signal.SIG_IGN)
    except ValueError:
        return  # not the main thread: the handlers stay


def exit_interrupted(signum: int) -> NoReturn:
    """Clean up and end the process now, with status 128 + ``signum``.

    Further SIGINT/SIGTERM are ignored first, so the cleanup runs to its end.
    ``os._exit`` skips the interpreter's shutdown, which could itself be
    interrupted or print tracebacks from half-initialised modules.
    """
    _ignore_signals()
    discard_and_report()
    os._exit(128 + signum)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _late, _received
    if _run_is_done() and not _late:
        _late = True
        return
    if not _process_wide:
        _received = signum
        raise KeyboardInterrupt
    exit_interrupted(signum)


def install() -> dict[int, object] | None:
    """Install the handler for SIGINT and SIGTERM; the previous handlers, or None
    when this thread cannot install handlers (only the main thread can)."""
    previous: dict[int, object] = {}
    try:
        for s in _SIGNALS:
            previous[s] = signal.signal(s, _on_signal)
    except ValueError:
        for signum, h in previous.items():
            signal.signal(signum, h)  # type: ignore[arg-type]
        return None
    return previous


def _is_cli_process() -> bool:
    """True when this interpreter was started as the ``btfdedup`` command (the
    console script, or ``python -m btfdedup``)."""
    if sys.argv and os.path.basename(sys.argv[0]) == "btfdedup":
        return True
    orig = list(getattr(sys, "orig_argv", []))
    i = 1
    while i < len(orig):
        a = orig[i]
        if a == "-m":
            return orig[i + 1 : i + 2] in (["btfdedup"], ["btfdedup.cli.main"])
        if a.startswith("-m"):
            return a[2:] in ("btfdedup", "btfdedup.cli.main")
        if a == "-c" or not a.startswith("-"):
            return False
        i += 2 if a in ("-X", "-W") else 1
    return False


def install_for_cli_process() -> None:
    """Install the handler for the rest of the process when it is the command line."""
    global _process_wide
    if not _process_wide and _is_cli_process() and install() is not None:
        _process_wide = True


def _finish_process() -> None:
    """The command has done its work: flush what it printed, then ignore SIGINT and
    SIGTERM for the rest of the process.  The interpreter's shutdown puts the
    default handler back in place of a Python one, under which a late Ctrl-C would
    kill a finished run with a signal status (numpy's worker threads receive
    signals too, so blocking them in the main thread would not do)."""
    try:
        sys.stdout.flush()
    except OSError:
        # stdout closed early (piped into head(1)): nothing more to print.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    _ignore_signals()


def run(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None) -> int:
    """Run ``main(argv)`` with the interrupt handler installed (restoring the caller's
    handlers afterwards, unless the process is the command line), and turn a
    KeyboardInterrupt that escaped ``main`` into the interrupt line.  Any other
    exception is not an interrupt and propagates."""
    global _late, _received
    forget = _ledger("forget_committed")
    if forget is not None:
        forget()
    _late = False
    _received = 0
    previous = None if _process_wide else install()
    try:
        rc = main(argv)
        if _process_wide:
            _finish_process()
        elif _received and rc == 128 + signal.SIGINT:
            # ``main`` caught the KeyboardInterrupt and printed the line itself.
            discard = _ledger("discard_pending")
            if discard is not None:
                discard()
            return 128 + _received
        return rc
    except KeyboardInterrupt:
        _ignore_signals()
        discard_and_report()
        return 128 + (_received or signal.SIGINT)
    finally:
        if previous is not None:
            for s, h in previous.items():
                signal.signal(s, h)  # type: ignore[arg-type]


install_for_cli_process()

__all__ = ["MESSAGE", "exit_interrupted", "install", "install_for_cli_process", "run"]
