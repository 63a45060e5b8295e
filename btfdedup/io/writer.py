""":class:`Btf` -> raw bytes, and atomic file writes.

The byte layout is libbpf's ``btf__raw_data``: header (zero padded to the input's
hdr_len), type records, layout section, strings, in the object's byte order.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable

from btfdedup.errors import BtfUsageError
from btfdedup.model.btf import Btf


def btf_to_bytes(btf: Btf) -> bytes:
    """Raw bytes of ``btf``'s own types and strings."""
    from btfdedup.io.raw import header_of

    hdr = header_of(btf)
    words = btf.words
    if btf.byteorder == ">":
        body = words.astype(">u4").tobytes()
    else:
        body = words.astype("<u4", copy=False).tobytes()
    return b"".join((hdr.encode(), body, btf.layout, btf.strings.data))


def _sources(btf: Btf) -> Iterable[str]:
    b: Btf | None = btf
    while b is not None:
        if b.source:
            yield b.source
        b = b.base


def atomic_write(path: str, data: bytes, *, protect: Iterable[str] = (), overwrite_input: bool = False) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename.

    Readers never see a half-written file, a failed write leaves any previous
    file intact, and ``path`` may not be one of ``protect`` (the inputs) unless
    ``overwrite_input``.
    """
    if not overwrite_input:
        for p in protect:
            try:
                if os.path.exists(path) and os.path.samefile(path, p):
                    raise BtfUsageError(f"refusing to overwrite input file {path}")
            except OSError:
                continue
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".btfdedup-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_btf(btf: Btf, path: str, *, overwrite_input: bool = False) -> None:
    """Atomically write ``btf`` as raw BTF to ``path``."""
    atomic_write(path, btf_to_bytes(btf), protect=list(_sources(btf)), overwrite_input=overwrite_input)


__all__ = ["atomic_write", "btf_to_bytes", "save_btf"]
