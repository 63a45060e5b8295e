""":class:`Btf` -> raw bytes, and the one place where output files are written.

The byte layout is libbpf's ``btf__raw_data``: header (zero padded to the input's
hdr_len), type records, layout section, strings, in the object's byte order.

Every output of every verb goes through :class:`OutputSet` (or its one-file form
:func:`write_output`), which applies one rule, decided per path:

* ``-`` is standard output: the bytes go to ``sys.stdout.buffer``; refused when
  stdout is a terminal (binary on a terminal is never what was meant);
* a path that exists and is not a regular file once symlinks are followed (a
  character or block device such as ``/dev/null``, a FIFO, a socket) is opened and
  written in place: it is never renamed over, truncated into a regular file or
  unlinked;
* anything else (a regular file, or nothing yet) is written atomically: a temporary
  file in the target's directory, flushed to disk, then renamed over the target, so a
  reader never sees half a file and a failure leaves the previous file intact.  A symlink
  to a regular file is written through: its target is replaced, the link stays.

No output may be one of the inputs (same file by any path, devices included).

An :class:`OutputSet` stages all its files first and renames them into place
together at :meth:`OutputSet.commit`, with SIGINT/SIGTERM deferred for the renames,
so a multi-file run (``split``, ``dedup --ext``) ends with all of its files or none.
The staged data is made durable once for the whole set, just before the renames: one
``fsync`` for a single file, one ``sync`` for several (a thousand modules fsynced one
by one cost seconds; one ``sync`` a fraction of that).
Temporary files and the directories a set created are kept in a process-wide
ledger (:func:`pending_paths`) until committed or discarded, so that an interrupt
handler (:mod:`btfdedup.cli.interrupt`) can remove them before the process exits.
This module imports nothing heavy: the interrupt handler relies on it at startup.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING

from btfdedup.errors import BtfUsageError, CommandLineError

if TYPE_CHECKING:
    from btfdedup.model.btf import Btf

#: The output path that stands for standard output.
STDOUT = "-"

#: Temporary files and created directories not yet committed or discarded, in
#: creation order; value True for a directory.
_PENDING: dict[str, bool] = {}
#: Paths committed by this process since :func:`forget_committed`.
_COMMITTED: list[str] = []

_DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def btf_to_bytes(btf: Btf) -> bytes:
    """Raw bytes of ``btf``'s own types and strings."""
    hdr = btf.header()
    words = btf.words
    if btf.byteorder == ">":
        body = words.astype(">u4").tobytes()
    else:
        body = words.astype("<u4", copy=False).tobytes()
    return b"".join((hdr.encode(), body, btf.layout, btf.strings.data))


# ----------------------------------------------------------------------------- ledger


def pending_paths() -> list[str]:
    """Temporary files and created directories that a discard would remove."""
    return list(_PENDING)


def discard_pending() -> None:
    """Remove every uncommitted temporary file, then every directory created for
    uncommitted outputs (innermost first).  Best effort: errors are ignored, since
    this runs on the way out of an interrupted or failed run."""
    for path, is_dir in reversed(list(_PENDING.items())):
        with contextlib.suppress(OSError):
            if is_dir:
                os.rmdir(path)
            else:
                os.unlink(path)
        _PENDING.pop(path, None)


def outputs_committed() -> bool:
    """True once an output has been put in place since :func:`forget_committed`:
    the run's result exists, whatever happens to the process afterwards."""
    return bool(_COMMITTED)


def forget_committed() -> None:
    """Start a new run's record of committed outputs."""
    _COMMITTED.clear()


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM for the duration of the block, then deliver them.

    Used where stopping half-way would leave the file system inconsistent: between
    creating a temporary file and recording it in the ledger, and while renaming
    staged files into place.  Works with whatever handler is installed (Python's
    KeyboardInterrupt or the CLI's): the handlers are swapped for a recorder and
    restored, and a recorded signal is raised again at the end.  Outside the main
    thread (where handlers cannot be changed) the block runs as is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in _DEFERRED_SIGNALS}
    if any(h is None for h in previous.values()):
        # A handler installed outside Python cannot be restored: leave it alone.
        yield
        return
    got: list[int] = []

    def record(signum: int, frame: FrameType | None) -> None:
        got.append(signum)

    for s in _DEFERRED_SIGNALS:
        signal.signal(s, record)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        for signum in dict.fromkeys(got):
            signal.raise_signal(signum)


# ----------------------------------------------------------------------------- the rule


def _kind(path: str) -> str:
    """``stdout``, ``inplace`` (exists, not a regular file) or ``file``."""
    if path == STDOUT:
        return "stdout"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "file"  # new file, or a dangling symlink: created at its target
    except OSError as e:
        raise BtfUsageError(f"{path}: cannot write the output: {e.strerror or e}") from e
    if stat.S_ISDIR(st.st_mode):
        raise BtfUsageError(f"{path}: is a directory (give the output file name)")
    return "file" if stat.S_ISREG(st.st_mode) else "inplace"


def inputs_by_identity(protect: Iterable[str]) -> dict[tuple[int, int], list[str]]:
    """The paths in ``protect`` by ``(st_dev, st_ino)`` (symlinks followed; ``-`` and
    paths that cannot be stat'ed are left out), each input stat'ed once."""
    ids: dict[tuple[int, int], list[str]] = {}
    for p in protect:
        if p == STDOUT:
            continue
        try:
            st = os.stat(p)
        except OSError:
            continue
        ids.setdefault((st.st_dev, st.st_ino), []).append(p)
    return ids


def input_identities(protect: Iterable[str]) -> set[tuple[int, int]]:
    """``(st_dev, st_ino)`` of each existing input in ``protect``: what
    :func:`check_output` compares an output with."""
    return set(inputs_by_identity(protect))


def check_output(path: str, protect: Iterable[str] = (), *, not_stdout: str | None = None,
                 overwrite_input: bool = False, identities: set[tuple[int, int]] | None = None) -> None:
    """Refuse, before any work is done, an output that cannot be written by the rule
    above: ``-`` where the command cannot stream its output (``not_stdout`` says
    why) or stdout is a terminal (a command-line error, exit 2), a directory, a file
    in a directory that does not exist, or one of the inputs in ``protect`` (by any
    path or symlink; ``identities``, from :func:`input_identities`, stands for
    ``protect`` when the caller checks many outputs against the same inputs)."""
    if path == STDOUT:
        if not_stdout is not None:
            raise CommandLineError(f"-o -: {not_stdout}")
        if sys.stdout.isatty():
            raise CommandLineError("-o -: refusing to write binary BTF to a terminal (redirect or pipe stdout)")
        return
    kind = _kind(path)
    if kind == "file":
        parent = os.path.dirname(os.path.realpath(path))
        if not os.path.isdir(parent):
            raise BtfUsageError(f"{path}: directory {parent} does not exist")
    if overwrite_input or not os.path.lexists(path):
        return
    ids = identities if identities is not None else input_identities(protect)
    if not ids:
        return
    try:
        st = os.stat(path)
    except OSError:
        return
    if (st.st_dev, st.st_ino) in ids:
        raise BtfUsageError(f"refusing to overwrite input file {path}")


def _new_file_mode(path: str) -> int:
    """The mode a replaced regular file keeps, or the umask's mode for a new one."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


@dataclass
class _Staged:
    path: str  # as given (for messages)
    kind: str  # stdout / inplace / file
    data: bytes | None = None  # stdout and inplace: written at commit
    target: str = ""  # file: the resolved path renamed over
    temp: str = ""  # file: the staged temporary file


class OutputSet:
    """The outputs of one run: staged one by one, put in place all at once.

    Use as a context manager: leaving the block by an exception discards what was
    staged (temporary files and directories this set created are removed).
    """

    def __init__(self, protect: Iterable[str] = (), *, overwrite_input: bool = False) -> None:
        self.protect = list(protect)
        self.overwrite_input = overwrite_input
        self._identities = input_identities(self.protect) if not overwrite_input else set()
        self._staged: list[_Staged] = []
        self._dirs: list[str] = []

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is not None:
            self.discard()

    def make_dir(self, path: str) -> None:
        """Create directory ``path`` and its missing parents; the ones created here
        are removed again if the set is discarded."""
        missing: list[str] = []
        p = os.path.abspath(path)
        while not os.path.isdir(p):
            if os.path.lexists(p):
                raise BtfUsageError(f"{path}: exists and is not a directory")
            missing.append(p)
            parent = os.path.dirname(p)
            if parent == p:
                break
            p = parent
        for d in reversed(missing):
            try:
                with deferred_signals():
                    os.mkdir(d)
                    _PENDING[d] = True
                    self._dirs.append(d)
            except FileExistsError:
                continue
            except OSError as e:
                raise BtfUsageError(f"{path}: cannot create the output directory: {e.strerror or e}") from e

    def add(self, path: str, data: bytes) -> None:
        """Stage ``data`` for ``path``: a regular file is written to a temporary file
        next to it now; stdout and special files are written at :meth:`commit`."""
        check_output(path, overwrite_input=self.overwrite_input, identities=self._identities)
        kind = _kind(path)
        if kind != "file":
            self._staged.append(_Staged(path, kind, data=data))
            return
        target = os.path.realpath(path)
        try:
            mode = _new_file_mode(target)
            with deferred_signals():
                fd, temp = tempfile.mkstemp(prefix=".btfdedup-", dir=os.path.dirname(target))
                _PENDING[temp] = False
                entry = _Staged(path, kind, target=target, temp=temp)
                self._staged.append(entry)
            try:
                _write_all(fd, data)
                os.fchmod(fd, mode)
            finally:
                os.close(fd)
        except OSError as e:
            raise BtfUsageError(f"{path}: cannot write the output: {e.strerror or e}") from e

    def _flush(self) -> None:
        """Make the staged files' data durable before any is renamed into place: one
        ``fsync`` for a single file, one ``sync`` for several."""
        temps = [s for s in self._staged if s.kind == "file"]
        if len(temps) > 1:
            os.sync()
            return
        for s in temps:
            try:
                fd = os.open(s.temp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as e:
                self.discard()
                raise BtfUsageError(f"{s.path}: cannot write the output: {e.strerror or e}") from e

    def commit(self) -> None:
        """Write stdout and special files in place, make the staged files durable, then
        rename every staged file over its target with SIGINT/SIGTERM held, so the
        regular files appear together and the run counts as done
        (:func:`outputs_committed`)."""
        for s in self._staged:
            if s.kind == "file":
                continue
            try:
                if s.kind == "stdout":
                    sys.stdout.flush()
                    sys.stdout.buffer.write(s.data or b"")
                    sys.stdout.buffer.flush()
                else:
                    fd = os.open(s.path, os.O_WRONLY | os.O_NOCTTY)
                    try:
                        _write_all(fd, s.data or b"")
                    finally:
                        os.close(fd)
            except BrokenPipeError:
                raise
            except OSError as e:
                self.discard()
                raise BtfUsageError(f"{s.path}: cannot write the output: {e.strerror or e}") from e
        self._flush()
        with deferred_signals():
            for s in self._staged:
                if s.kind != "file":
                    continue
                try:
                    os.replace(s.temp, s.target)
                except OSError as e:
                    self.discard()
                    raise BtfUsageError(f"{s.path}: cannot write the output: {e.strerror or e}") from e
                _PENDING.pop(s.temp, None)
                s.temp = ""
            for d in self._dirs:
                _PENDING.pop(d, None)
            _COMMITTED.extend(s.path for s in self._staged)
            self._staged.clear()
            self._dirs.clear()

    def discard(self) -> None:
        """Remove the staged temporary files and the directories this set created."""
        with deferred_signals():
            for s in self._staged:
                if s.temp:
                    with contextlib.suppress(OSError):
                        os.unlink(s.temp)
                    _PENDING.pop(s.temp, None)
            for d in reversed(self._dirs):
                with contextlib.suppress(OSError):
                    os.rmdir(d)
                _PENDING.pop(d, None)
            self._staged.clear()
            self._dirs.clear()


def write_output(path: str, data: bytes, protect: Iterable[str] = (), *, overwrite_input: bool = False) -> None:
    """Write ``data`` to ``path`` by the rule of this module (stdout for ``-``, in
    place for a device, FIFO or socket, atomically for a regular file), never over
    one of ``protect`` unless ``overwrite_input``.  Failures are :class:`BtfUsageError`
    naming ``path``."""
    with OutputSet(protect, overwrite_input=overwrite_input) as out:
        out.add(path, data)
        out.commit()


def _sources(btf: Btf) -> Iterable[str]:
    return (b.source for b in btf.chain() if b.source)


def save_btf(btf: Btf, path: str, *, overwrite_input: bool = False) -> None:
    """Write ``btf`` as raw BTF to ``path`` (:func:`write_output`), never over the
    file it or its bases came from unless ``overwrite_input``."""
    write_output(path, btf_to_bytes(btf), list(_sources(btf)), overwrite_input=overwrite_input)


__all__ = [
    "STDOUT",
    "OutputSet",
    "btf_to_bytes",
    "check_output",
    "deferred_signals",
    "discard_pending",
    "forget_committed",
    "input_identities",
    "inputs_by_identity",
    "outputs_committed",
    "pending_paths",
    "save_btf",
    "write_output",
]
