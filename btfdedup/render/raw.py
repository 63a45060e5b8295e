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
from array import array
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any, cast

from btfdedup.errors import BtfUsageError
from btfdedup.model.records import U32
from btfdedup.render.walk import FORMAT_RAW, dump_chunk, name_offsets

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
        # Buffers, not numpy arrays: a dump of a file imports no numpy.
        chain = btf.chain()
        datas = []
        expect = 0
        for c in chain:
            if c.strings.start_off != expect:
                raise BtfUsageError(f"string offsets of {c!r} do not continue its base's")
            datas.append(c.strings.data)
            expect = c.strings.end_off
        # Empty when the chain has no string bytes: every non-zero offset is then invalid.
        self.strs = b"".join(datas)
        self.all_kind = btf.all_kinds_buffer()
        self.type_cnt = int(btf.type_cnt)
        self.all_name = array(U32, bytes(4 * self.type_cnt))
        for c in chain:
            name_offsets(c.words_buffer, c.type_start_buffer, self.all_name, c.start_id)


#: What :func:`resolve_ids` gives for each run: the owning object and the local
#: indices to dump, ``None`` meaning all of them in order.
Run = tuple["Btf", "array[int] | None"]


def resolve_ids(btf: Btf, ids: Iterable[int] | None) -> list[Run]:
    """Group the IDs to dump into runs of (owning object, local indices), in order.

    ``None`` means every type of ``btf`` itself (not its base), given as the run
    ``(btf, None)``.  An ID that is not a type raises :class:`BtfUsageError` naming it.
    """
    if ids is None:
        return [(btf, None)]
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
    return [(o, array("q", ix)) for o, ix in runs]


def _chunks(
    fmt: int, btf: Btf, runs: list[Run], tables: DumpTables | None, *, with_ends: bool = False
) -> Iterator[tuple[bytes, array[int]]]:
    """Drive the walk (:func:`~btfdedup.render.walk.dump_chunk` in format ``fmt``)
    over :func:`resolve_ids` runs; yields (bytes, end offset of each type in them,
    or an empty array unless ``with_ends``)."""
    t = tables or DumpTables(btf)
    cap = CHUNK_BYTES
    no_sel = array("q")
    for owner, sel in runs:
        n = owner.nr_types if sel is None else len(sel)
        if n == 0:
            continue
        ends = array("q", bytes(8 * n)) if with_ends else no_sel
        words: Any = owner.words_buffer
        type_start: Any = owner.type_start_buffer
        j = 0
        while j < n:
            nj, data = dump_chunk(
                words,
                type_start,
                no_sel if sel is None else sel,
                int(owner.start_id),
                t.strs,
                t.all_kind,
                t.all_name,
                t.type_cnt,
                j,
                cap,
                ends,
                fmt,
                n if sel is None else -1,
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
