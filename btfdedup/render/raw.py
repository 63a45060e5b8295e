"""bpftool-compatible raw text dump (``bpftool btf dump file F format raw``).

The output matches Debian's bpftool 7.1.0 byte for byte: one ``[ID] KIND 'NAME'``
line per type followed by its fields, one TAB-indented line per member,
enumerator, parameter or DATASEC entry.  For split BTF only the split part is
printed, with absolute type IDs.  Names are printed as raw bytes (like C's
``%s``), ``(anon)`` for offset 0 and ``(invalid)`` for an offset past the string
section; kinds above ENUM64 print as ``UNKNOWN`` with no fields.

The text is written by the compiled walk of :mod:`btfdedup.render.walk`, which
:mod:`btfdedup.render.json` shares: one traversal of the records, spelled per
format, straight into the bytes of each chunk: the 12 MB text of a 125,000-type
kernel vmlinux takes about 10 ms, a tenth of what ``bpftool btf dump`` needs for
it.  This module holds the Python side both formats use: the lookup tables of a
dump, the ID selection and the chunk loop.

Known, deliberate difference: vlen is the full 24-bit field (as the rest of
btfdedup decodes it); bpftool 7.1.0 truncates vlen to 16 bits, which only
matters for records libbpf 1.1 cannot parse in the first place.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING, cast

import numpy as np

from btfdedup.errors import BtfUsageError
from btfdedup.render.walk import FORMAT_RAW, dump_chunk

if TYPE_CHECKING:
    from btfdedup.model.btf import Btf

#: Bytes of text per chunk; a single type bigger than this grows it.  Small
#: enough for the chunk's memory to be reused from one chunk to the next (no
#: fresh pages to fault in) and to stay in cache until it is written out.
CHUNK_BYTES = 1 << 17


# ------------------------------------------------------------ shared tables
class DumpTables:
    """Whole-chain lookup arrays a dump needs, computed once per :class:`Btf`.

    ``strs`` is every string section of the base chain concatenated (so a global
    name offset indexes it directly); ``all_kind``/``all_name`` give the kind and
    name offset of every type ID (0 = void) for DATASEC entries that point into
    the base.
    """

    __slots__ = ("strs", "all_kind", "all_name", "type_cnt")

    def __init__(self, btf: Btf) -> None:
        chain: list[Btf] = []
        b: Btf | None = btf
        while b is not None:
            chain.append(b)
            b = b.base
        chain.reverse()
        datas = []
        expect = 0
        for c in chain:
            if c.strings.start_off != expect:
                raise BtfUsageError(f"string offsets of {c!r} do not continue its base's")
            datas.append(c.strings.data)
            expect = c.strings.end_off
        self.strs = np.frombuffer(b"".join(datas) or b"\0", dtype=np.uint8)
        if not any(datas):
            # No string bytes at all: every non-zero offset is invalid.
            self.strs = self.strs[:0]
        self.all_kind = btf.all_kinds().astype(np.uint8, copy=False)
        self.all_name = np.concatenate(
            [np.zeros(1, dtype=np.uint32), *[c.name_off.astype(np.uint32, copy=False) for c in chain]]
        )
        self.type_cnt = int(btf.type_cnt)


def resolve_ids(btf: Btf, ids: Iterable[int] | None) -> list[tuple[Btf, np.ndarray]]:
    """Group the IDs to dump into runs of (owning object, local indices), in order.

    ``None`` means every type of ``btf`` itself (not its base).  An ID that is
    not a type raises :class:`BtfUsageError` naming it.
    """
    if ids is None:
        return [(btf, np.arange(btf.nr_types, dtype=np.int64))]
    runs: list[tuple[Btf, list[int]]] = []
    for tid in ids:
        tid = int(tid)
        if tid < 1 or tid >= btf.type_cnt:
            where = f"{btf.source}: " if btf.source else ""
            raise BtfUsageError(f"{where}type ID {tid} is out of range (valid IDs are 1..{btf.type_cnt - 1})")
        owner, i = btf.owner_of(tid)
        if runs and runs[-1][0] is owner:
            runs[-1][1].append(i)
        else:
            runs.append((owner, [i]))
    return [(o, np.asarray(ix, dtype=np.int64)) for o, ix in runs]


def _chunks(
    fmt: int, btf: Btf, runs: list[tuple[Btf, np.ndarray]], tables: DumpTables | None, *, with_ends: bool = False
) -> Iterator[tuple[bytes, np.ndarray]]:
    """Drive the walk (:func:`~btfdedup.render.walk.dump_chunk` in format ``fmt``)
    over :func:`resolve_ids` runs; yields (bytes, end offset of each type in them,
    or an empty array unless ``with_ends``)."""
    t = tables or DumpTables(btf)
    cap = CHUNK_BYTES
    no_ends = np.zeros(0, dtype=np.int64)
    for owner, sel in runs:
        if len(sel) == 0:
            continue
        ends = np.zeros(len(sel), dtype=np.int64) if with_ends else no_ends
        j = 0
        while j < len(sel):
            nj, data = dump_chunk(
                owner.words,
                owner.type_start,
                sel,
                int(owner.start_id),
                t.strs,
                t.all_kind,
                t.all_name,
                t.type_cnt,
                j,
                cap,
                ends,
                fmt,
            )
            if data is None:
                # One type does not fit: grow the buffer and retry.
                cap = max(4 * cap, 1 << 12)
                continue
            yield data, ends[j:nj]
            j = nj


def iter_raw_chunks(btf: Btf, ids: Iterable[int] | None = None, tables: DumpTables | None = None) -> Iterator[bytes]:
    """The raw dump as byte chunks of whole types (the fast path for writing)."""
    for data, _ends in _chunks(FORMAT_RAW, btf, resolve_ids(btf, ids), tables):
        yield data


def dump_raw(btf: Btf, ids: Iterable[int] | None = None) -> Iterator[str]:
    """bpftool's raw dump, one string per type (header plus member lines, ending in ``\\n``).

    Name bytes that are not UTF-8 are kept with ``surrogateescape`` so that
    ``s.encode("utf-8", "surrogateescape")`` gives bpftool's exact bytes.
    """
    for data, ends in _chunks(FORMAT_RAW, btf, resolve_ids(btf, ids), None, with_ends=True):
        text = data.decode("utf-8", "surrogateescape")
        if text.isascii():
            prev = 0
            for e in ends.tolist():
                yield text[prev:e]
                prev = e
        else:
            prev = 0
            for e in ends.tolist():
                yield data[prev:e].decode("utf-8", "surrogateescape")
                prev = e


def dump_raw_bytes(btf: Btf, ids: Iterable[int] | None = None) -> bytes:
    """The whole raw dump as bytes."""
    return b"".join(iter_raw_chunks(btf, ids))


def write_raw(btf: Btf, stream: IO[bytes] | IO[str], ids: Iterable[int] | None = None) -> int:
    """Write the raw dump to a binary stream (or a text stream, decoding with
    ``surrogateescape``); returns the bytes of dump text written."""
    text = isinstance(stream, io.TextIOBase)
    n = 0
    for data in iter_raw_chunks(btf, ids):
        if text:
            cast("IO[str]", stream).write(data.decode("utf-8", "surrogateescape"))
        else:
            cast("IO[bytes]", stream).write(data)
        n += len(data)
    return n
