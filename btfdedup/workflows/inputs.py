"""Turning command-line input paths into loaded :class:`Btf` objects.

Shared by the ``dedup`` and ``split`` workflows:

* a directory stands for every regular file under it, in sorted path order;
  files that carry no BTF (not raw BTF, not an ELF with ``.BTF``) are skipped
  with a note, while a file that *has* BTF and fails to parse is an error;
* with a base given, each input is first tried as standalone BTF, and read as
  split BTF on the base only when it cannot be base BTF (``load`` says so with a
  :class:`BtfUsageError`).  Reading a standalone blob "on a base" would silently
  misread its type IDs, so the base is never forced on an input.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from btfdedup.errors import BtfUsageError, ElfError
from btfdedup.io.compressed import maybe_decompress
from btfdedup.io.load import load, read_file
from btfdedup.io.writer import atomic_write
from btfdedup.model.btf import Btf

BTF_MAGICS = (b"\x9f\xeb", b"\xeb\x9f")


@dataclass
class Inputs:
    """Files to read, in order, and directory entries skipped for carrying no BTF."""

    files: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

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
    data = maybe_decompress(read_file(path), path)
    if data[:2] in BTF_MAGICS:
        return None
    if data[:4] == b"\x7fELF":
        from btfdedup.io.elf import find_btf_sections

        if find_btf_sections(data, path).btf is None:
            return "ELF without a .BTF section"
        return None
    return "neither raw BTF nor ELF"


def expand(paths: Iterable[str]) -> Inputs:
    """Expand directories (recursively, sorted) and check that files exist."""
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
                try:
                    why = carries_btf(f)
                except ElfError as e:
                    # A directory also holds objects whose .BTF is unusable (stripped
                    # debug files): not BTF-bearing, so noted and skipped, not fatal.
                    why = e.rule
                if why is None:
                    out.files.append(f)
                else:
                    out.skipped.append((f, why))
        elif os.path.exists(p):
            out.files.append(p)
        else:
            raise BtfUsageError(f"{p}: no such file or directory")
    return out


def load_input(path: str, base: Btf | None) -> Btf:
    """Load ``path``: standalone when it is base BTF, else split on ``base``."""
    if base is None:
        return load(path)
    try:
        return load(path)
    except BtfUsageError:
        # "this is split BTF, pass --base": it is.
        return load(path, base=base)


def load_all(files: list[str], base: Btf | None, progress: Callable[[int, int], None] | None = None) -> list[Btf]:
    out = []
    for i, f in enumerate(files):
        out.append(load_input(f, base))
        if progress is not None:
            progress(i + 1, len(files))
    return out


def btf_size(btf: Btf) -> int:
    """Bytes of ``btf``'s raw image (its own header, types, layout and strings)."""
    return int(btf.hdr_len + btf.type_len + len(btf.layout) + len(btf.strings))


def protected_paths(files: Iterable[str], base_path: str | None) -> list[str]:
    """Paths an output must never replace."""
    return [*files, *([base_path] if base_path else [])]


def check_outputs(outputs: Iterable[str], protect: Iterable[str]) -> None:
    """Refuse, before any work is done, an output that is one of the inputs (by any
    path or symlink): a run writing several files must not write some of them and
    then stop at the protected one."""
    protect = list(protect)
    for out in outputs:
        if not os.path.exists(out):
            continue
        for p in protect:
            try:
                same = os.path.samefile(out, p)
            except OSError:
                continue
            if same:
                raise BtfUsageError(f"refusing to overwrite input file {out}")


def write_output(path: str, data: bytes, protect: Iterable[str]) -> None:
    """:func:`atomic_write`, with an operating-system failure (read-only or pseudo
    file system, no space) reported as one error line naming ``path``."""
    try:
        atomic_write(path, data, protect=protect)
    except OSError as e:
        raise BtfUsageError(f"{path}: cannot write the output: {e.strerror or e}") from e
