"""bpftool-compatible JSON dump (``bpftool -j btf dump file F``; ``-p`` for pretty).

The document is ``{"types":[...]}`` with one object per type whose keys follow the
raw dump's field names (``id``, ``kind``, ``name`` first) and whose element lists
are ``members``, ``values``, ``params`` and ``vars``.  Compact output is one line;
pretty output reproduces bpftool's json_writer layout (4-space indent, ``"key": v``,
``},{`` between array elements).  Values are bpftool's, quirks included: an
unsigned ENUM prints its 32-bit value sign-extended to 64 bits (bpftool passes
the ``__s32`` to a ``uint64_t`` field), a signed one as ``%d``; ``bitfield_size``
appears only when non-zero; DATASEC entries carry no ``(VAR 'x')`` suffix.

String escaping is where we deliberately differ, to always emit valid JSON:
bpftool escapes ``'`` as ``\\'`` and ``\\`` as ``\\n`` and passes other control
bytes through raw; we leave ``'`` alone, escape ``\\`` as ``\\\\`` and other
control bytes as ``\\u00XX``.  Real BTF names contain none of these.  Name bytes
that are not UTF-8 are passed through raw, as bpftool does.

The type objects are written by the same compiled walk as the raw text
(:mod:`btfdedup.render.walk`); this module wraps them in the document.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING

from btfdedup.render.raw import DumpTables, _chunks, resolve_ids
from btfdedup.render.walk import FORMAT_JSON, FORMAT_JSON_PRETTY

if TYPE_CHECKING:
    from btfdedup.model.btf import Btf


def iter_json_chunks(
    btf: Btf, ids: Iterable[int] | None = None, *, pretty: bool = False, tables: DumpTables | None = None
) -> Iterator[bytes]:
    """The JSON document as byte chunks, ending with bpftool's final newline.

    Every ID in ``ids`` is checked before the first chunk, so a bad ID raises
    without a half-written document."""
    runs = resolve_ids(btf, ids)
    yield b'{\n    "types": [' if pretty else b'{"types":['
    any_type = False
    for data, _ends in _chunks(FORMAT_JSON_PRETTY if pretty else FORMAT_JSON, btf, runs, tables):
        if not any_type:
            data = data[1:]  # no separator before the first type
            any_type = True
        yield data
    if pretty:
        yield b"\n    ]\n}\n" if any_type else b"]\n}\n"
    else:
        yield b"]}\n"


def dump_json_bytes(btf: Btf, ids: Iterable[int] | None = None, *, pretty: bool = False) -> bytes:
    """The whole JSON document as bytes."""
    return b"".join(iter_json_chunks(btf, ids, pretty=pretty))


def dump_json(btf: Btf, ids: Iterable[int] | None = None, *, pretty: bool = False) -> str:
    """The whole JSON document as text (non-UTF-8 name bytes kept with ``surrogateescape``)."""
    return dump_json_bytes(btf, ids, pretty=pretty).decode("utf-8", "surrogateescape")


def write_json(btf: Btf, stream: IO[bytes], ids: Iterable[int] | None = None, *, pretty: bool = False) -> int:
    """Write the JSON document to a binary stream; returns the bytes written."""
    n = 0
    for data in iter_json_chunks(btf, ids, pretty=pretty):
        stream.write(data)
        n += len(data)
    return n
