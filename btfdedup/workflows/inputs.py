"""Turning command-line input paths into loaded :class:`Btf` objects.

Shared by the ``dedup`` and ``split`` workflows:

* a directory stands for every regular file under it, in sorted path order;
  files that carry no BTF (not raw BTF, not an ELF with ``.BTF``) are skipped
  with a note, while a file that *has* BTF and fails to parse is an error;
* with a base given, each input is first tried as standalone BTF, and read as
  split BTF on the base only when it cannot be base BTF (``load`` says so with a
  :class:`BtfUsageError`).  Reading a standalone blob "on a base" would silently
  misread its type IDs, so the base is never forced on an input;
* a batch is all-or-nothing unless the caller passes a ``failures`` list
  (``--keep-going``): then an input that cannot be read (unreadable, malformed,
  split on another base) is recorded there as a :class:`Failure` and left out, and
  the rest goes on.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from btfdedup.errors import BtfError, BtfUsageError, ElfError
from btfdedup.format.constants import BTF_MAGIC_BYTES
from btfdedup.io.load import load, load_data, read_input
from btfdedup.io.writer import check_output, inputs_by_identity
from btfdedup.model.btf import Btf

#: Reads one input file, on the base when given: ``loader(path, base)``.
Loader = Callable[[str, Btf | None], Btf]


@dataclass
class Failure:
    """One input left out of a ``--keep-going`` batch, and why."""

    file: str
    error: str  # the whole message, naming the file: "FILE: ... rule"

    @classmethod
    def of(cls, file: str, exc: BaseException) -> Failure:
        """The failure of ``file`` from the error it raised (an OSError's text, or a
        BtfError's message, which usually names the file already)."""
        text = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
        if not text.startswith(file):
            text = f"{file}: {text}"
        return cls(file, text)

    def to_json(self) -> dict[str, str]:
        return {"file": self.file, "error": self.error}


#: What a bad input raises: an error of ours, or the operating system's.
INPUT_ERRORS = (BtfError, OSError)


@dataclass
class Inputs:
    """Files to read, in order, and directory entries skipped for carrying no BTF."""

    files: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: Every input file in command-line and directory order, the ones recorded as
    #: failures included: the order failures are reported in.
    order: list[str] = field(default_factory=list)

    def sort_failures(self, failures: list[Failure]) -> None:
        """Put ``failures`` in input order, whichever step found them."""
        rank = {f: i for i, f in enumerate(self.order)}
        failures.sort(key=lambda x: rank.get(x.file, -1))

    def require_some(self, what: str) -> None:
        """Fail when no file carries BTF, naming the first skipped one and why."""
        if self.files:
            return
        if not self.skipped:
            raise BtfUsageError(f"no {what} carries BTF")
        n = len(self.skipped)
        f, why = self.skipped[0]
        raise BtfUsageError(f"no {what} carries BTF ({n} file{'s' if n != 1 else ''} skipped; {f}: {why})")


def carries_btf(path: str) -> str | None:
    """``None`` when ``path`` holds BTF, else why not (for the skip note)."""
    data = read_input(path)
    if data[:2] in BTF_MAGIC_BYTES:
        return None
    if data[:4] == b"\x7fELF":
        from btfdedup.io.elf import find_btf_sections

        if find_btf_sections(data, path).btf is None:
            return "ELF without a .BTF section"
        return None
    return "neither raw BTF nor ELF"


def expand(paths: Iterable[str], failures: list[Failure] | None = None) -> Inputs:
    """Expand directories (recursively, sorted) and check that files exist.

    A file under a directory that cannot even be probed (unreadable, corrupt
    compression), or an input that does not exist, fails the call, or is recorded
    in ``failures`` when given."""
    out = Inputs()
    for p in paths:
        if os.path.isdir(p):
            found: list[str] = []
            for root, dirs, files in os.walk(p):
                dirs.sort()
                found += [os.path.join(root, f) for f in files]
            for f in sorted(found):
                if not os.path.isfile(f):
                    continue
                out.order.append(f)
                try:
                    why = carries_btf(f)
                except ElfError as e:
                    # A directory also holds objects whose .BTF is unusable (stripped
                    # debug files): not BTF-bearing, so noted and skipped, not fatal.
                    why = e.rule
                except INPUT_ERRORS as e:
                    if failures is None:
                        raise
                    failures.append(Failure.of(f, e))
                    continue
                if why is None:
                    out.files.append(f)
                else:
                    out.skipped.append((f, why))
        else:
            out.order.append(p)
            if os.path.exists(p):
                out.files.append(p)
                continue
            missing = BtfUsageError(f"{p}: no such file or directory")
            if failures is None:
                raise missing
            failures.append(Failure.of(p, missing))
    return out


def load_input(path: str, base: Btf | None) -> Btf:
    """Load ``path``: standalone when it is base BTF, else split on ``base``.

    The file is read and decompressed once for both tries (a module batch reads
    every module this way, and standard input cannot be read twice)."""
    if base is None:
        return load(path)
    from btfdedup.io.sysfs import auto_base

    data = read_input(path)
    try:
        return load_data(data, path, auto_base(path))
    except BtfUsageError:
        # "this is split BTF, pass --base": it is.
        return load_data(data, path, base)


def load_all(
    files: list[str],
    base: Btf | None,
    progress: Callable[[int, int], None] | None = None,
    *,
    loader: Loader = load_input,
    failures: list[Failure] | None = None,
) -> list[tuple[str, Btf]]:
    """``(file, loader(file, base))`` for each file, in order.  The first file that
    fails to load fails the call, unless ``failures`` is given: then it is recorded
    there and left out."""
    out: list[tuple[str, Btf]] = []
    for i, f in enumerate(files):
        try:
            out.append((f, loader(f, base)))
        except INPUT_ERRORS as e:
            if failures is None:
                raise
            failures.append(Failure.of(f, e))
        if progress is not None:
            progress(i + 1, len(files))
    return out


def btf_size(btf: Btf) -> int:
    """Bytes of ``btf``'s raw image (its own header, types, layout and strings)."""
    return int(btf.hdr_len + btf.type_len + len(btf.layout) + len(btf.strings))


def protected_paths(files: Iterable[str], base_path: str | None) -> list[str]:
    """Paths an output must never replace."""
    return [*files, *([base_path] if base_path else [])]


def check_outputs(outputs: Iterable[str], protect: Sequence[str]) -> None:
    """:func:`~btfdedup.io.writer.check_output` for each of ``outputs``, never over one
    of ``protect``, with every protected input looked up once: a batch of n modules
    has n outputs and n inputs, and comparing each output with each input would take
    n² ``stat`` calls.  The writer words any refusal (it is handed the input found)."""
    by_id = inputs_by_identity(protect)
    for out in outputs:
        same: list[str] = []
        if os.path.lexists(out):
            # a dangling symlink (or one we may not follow) names no input
            with contextlib.suppress(OSError):
                st = os.stat(out)
                same = by_id.get((st.st_dev, st.st_ino), [])
        check_output(out, same)
