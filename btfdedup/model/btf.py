"""``Btf``: one BTF object as a struct-of-arrays type table plus its strings.

Storage is the type section itself, decoded to native ``uint32`` words
(``words``), with ``type_start[i]`` the word offset of local type ``i``.  Every
per-type column (``kind``, ``name_off``, ``vlen``, ...) is a numpy array derived
from it, and tails (members, params, enumerators, DATASEC entries, array triples)
are gathered with :mod:`btfdedup.model.fields`.  Keeping the words as the source
of truth makes the writer a byte copy and keeps the hot paths free of per-type
Python objects.

The reader hands over ``array.array`` buffers (the words, and the record starts
and kinds the compiled scan found), and a :class:`Btf` makes numpy arrays of them
only when a numpy attribute is asked for, as views of the same memory
(``np.frombuffer``, no copy).  So code that needs only the buffers (the checks
of the reader, the compiled dump walk: ``words_buffer``, ``type_start_buffer``,
``kind_buffer``) never imports numpy, whose import is most of a short command's
run, while every numpy user sees the same arrays it always did.

Type IDs are global: local index ``i`` is type ID ``start_id + i``; ID 0 is void.
The public API speaks type IDs only (``btf[type_id]``, :meth:`Btf.find_by_name`, views
from :mod:`btfdedup.model.view`); the columns are indexed by local index, converted
with :meth:`Btf.index_of` and :attr:`Btf.type_ids` (see the class docstring).
A split BTF links its ``base`` (recursively), and its string offsets start at
``strings.start_off``.
"""

from __future__ import annotations

import operator
from array import array
from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

from btfdedup.errors import BtfUsageError
from btfdedup.format.constants import (
    BTF_HDR_LEN_CLASSIC,
    BTF_HDR_LEN_LAYOUT,
    BTF_VERSION,
    KIND_MASK,
    KIND_NAMES,
    KIND_SHIFT,
    VLEN_MASK,
    Kind,
)
from btfdedup.format.header import BtfHeader
from btfdedup.model.build import check_references, check_strings, parse_layout, record_boundaries
from btfdedup.model.records import KindSizes, native_words
from btfdedup.model.strings import StringTable

if TYPE_CHECKING:
    import numpy as np

    from btfdedup.model.ext import BtfExt
    from btfdedup.model.view import TypeView


class Btf:
    """A parsed or built BTF object (base or split).

    **One indexing convention: type IDs.**  Every public method and every view
    takes and returns BTF type IDs, the numbers ``bpftool btf dump`` prints in
    brackets: ``btf[type_id]``, :meth:`find_by_name`, :meth:`name`,
    :meth:`kind_of`, :meth:`record`, the ``type`` fields of views.  ID 0 is void;
    the IDs of a split BTF's base types are valid too and are resolved through the
    base chain.  A split BTF's own types start at :attr:`start_id`.

    The per-type numpy **columns** (``kind``, ``name_off``, ``info``,
    ``size_type``, ``vlen``, ``kind_flag``, ``type_start``) are the exception,
    kept for the vectorized hot paths: they are 0-based over this object's own
    types, so row ``i`` is type ID ``start_id + i``.  Convert with
    :meth:`index_of` (ID to row) and :attr:`type_ids` (row to ID), never by hand.

    ``len(btf)`` is the number of the object's own types, without void and
    without base types (:attr:`nr_types`), so that it counts what ``for t in
    btf`` yields; libbpf's ``btf__type_cnt`` (one past the last ID, void and base
    types included) is :attr:`type_cnt`.  A ``Btf`` is always true, even with no
    types of its own.

    >>> import btfdedup
    >>> btf = btfdedup.load("corpora/bpf/fwd_owner.bpf.o")
    >>> len(btf), btf.start_id, btf.type_cnt
    (33, 1, 34)
    >>> holder = btf[btf.find_by_name("holder")[0]]
    >>> holder
    TypeView(id=24, kind=STRUCT, name='holder', size=32, vlen=4)
    >>> holder.members[1]
    Member(name='blob', type=25, bits_offset=64, bitfield_size=0)
    >>> btf[holder.members[1].type]
    TypeView(id=25, kind=PTR, name='', type=20)
    >>> btfdedup.Kind(btf.kind[btf.index_of(24)])    # a column is indexed by row, not ID
    <Kind.STRUCT: 4>
    >>> [t.name for t in btf if t.kind == btfdedup.Kind.VAR]
    ['states', 'owner_blob', 'owner_holder', 'LICENSE']
    """

    def __init__(
        self,
        words: np.ndarray | array[int] | memoryview,
        type_start: np.ndarray | array[int],
        strings: StringTable,
        *,
        base: Btf | None = None,
        byteorder: str = "<",
        hdr_len: int = BTF_HDR_LEN_CLASSIC,
        layout: bytes = b"",
        layout_off_hint: int = 0,
        version: int = BTF_VERSION,
        source: str | None = None,
        ext: BtfExt | None = None,
        strs_deduped: bool | None = None,
    ) -> None:
        # The storage as given: numpy arrays, or buffers (array.array) that the numpy
        # attributes of the same names view on first use (see the module docstring).
        self._words: Any = words
        self._type_start: Any = type_start
        self._kind: Any = None
        self.strings = strings
        self.base = base
        self.byteorder = byteorder
        self.hdr_len = hdr_len
        self.layout = layout
        self.layout_off_hint = layout_off_hint
        self.version = version
        self.source = source
        self.ext = ext
        #: Bytes of the blob this object was read from that no section covered, after the
        #: last section and between sections (set by the raw reader; the kernel rejects such
        #: a blob, libbpf ignores them).  The writer never reproduces them.
        self.trailing_len = 0
        self.gap_len = 0
        self.start_id = base.type_cnt if base is not None else 1
        if strs_deduped is None:
            # libbpf: a BTF whose string blob is trivially empty was built with the
            # add-APIs, which intern strings, so dedup skips its strings phase.
            strs_deduped = len(strings) == 0 if base is not None else len(strings) <= 1
        self.strs_deduped = strs_deduped

    # ------------------------------------------------------------------ sizes
    @property
    def nr_types(self) -> int:
        """Number of types this object itself holds (without its base)."""
        return len(self.type_start_buffer) - 1

    @property
    def type_cnt(self) -> int:
        """libbpf's ``btf__type_cnt``: one past the last type ID, void included."""
        return self.start_id + self.nr_types

    @property
    def is_split(self) -> bool:
        return self.base is not None

    @property
    def type_len(self) -> int:
        """Bytes of the type section."""
        return len(self.words_buffer) * 4

    # ------------------------------------------------------------ storage
    # ``words``, ``type_start`` and ``kind`` are cached properties: the numpy view is
    # made once, and an assignment replaces it (the ``*_buffer`` accessors then give
    # the assigned array).
    @cached_property
    def words(self) -> np.ndarray:
        """The type section as native ``uint32`` words (numpy)."""
        return _numpy_view(self._words, "uint32")

    @cached_property
    def type_start(self) -> np.ndarray:
        """Word offset of each own type's record, then the end of the last one (numpy int64)."""
        return _numpy_view(self._type_start, "int64")

    @property
    def words_buffer(self) -> Any:
        """:attr:`words` as a contiguous native ``uint32`` buffer, without numpy when
        it was read from a file (for the compiled walks)."""
        return self.__dict__.get("words", self._words)

    @property
    def type_start_buffer(self) -> Any:
        """:attr:`type_start` as a contiguous int64 buffer, without numpy when it was scanned."""
        return self.__dict__.get("type_start", self._type_start)

    @property
    def kind_buffer(self) -> Any:
        """:attr:`kind` as a contiguous uint8 buffer, without numpy when the scan computed it."""
        found = self.__dict__.get("kind", self._kind)
        return found if found is not None else self.kind

    def chain(self) -> list[Btf]:
        """This object and its bases, the root base first (type ID order).  The one walk of
        the base chain: code that needs the chain iterates this."""
        out: list[Btf] = []
        b: Btf | None = self
        while b is not None:
            out.append(b)
            b = b.base
        out.reverse()
        return out

    def all_strings(self) -> bytes:
        """The string sections of the chain concatenated, the root base's first: a
        global string offset indexes it directly."""
        return b"".join(b.strings.data for b in self.chain())

    def all_kinds_buffer(self) -> bytes:
        """:meth:`all_kinds` as bytes (kind of each type ID, 0 for void), without numpy."""
        return b"".join([b"\0", *(b.kind_buffer for b in self.chain())])

    # --------------------------------------------------------- per-type columns
    @cached_property
    def _hdr_pos(self) -> np.ndarray:
        return self.type_start[:-1]

    @cached_property
    def name_off(self) -> np.ndarray:
        return self.words[self._hdr_pos]

    @cached_property
    def info(self) -> np.ndarray:
        return self.words[self._hdr_pos + 1]

    @cached_property
    def size_type(self) -> np.ndarray:
        """``size_or_type`` of each type."""
        return self.words[self._hdr_pos + 2]

    @cached_property
    def kind(self) -> np.ndarray:
        import numpy as np

        if self._kind is not None:
            return _numpy_view(self._kind, "uint8")
        return ((self.info >> KIND_SHIFT) & KIND_MASK).astype(np.uint8)

    @cached_property
    def vlen(self) -> np.ndarray:
        return self.info & VLEN_MASK

    @cached_property
    def kind_flag(self) -> np.ndarray:
        import numpy as np

        return (self.info >> 31).astype(np.uint8)

    def all_kinds(self) -> np.ndarray:
        """Kinds of every type ID 0..type_cnt-1 across the base chain (0 for void)."""
        import numpy as np

        return np.concatenate([np.zeros(1, dtype=np.uint8), *(b.kind for b in self.chain())])

    # ------------------------------------------------------------- single type
    def owner_of(self, type_id: int) -> tuple[Btf, int]:
        """The object in the base chain holding ``type_id`` and its local index."""
        for b in self.chain():
            if b.start_id <= type_id < b.start_id + b.nr_types:
                return b, type_id - b.start_id
        raise BtfUsageError(f"type ID {type_id} is out of range (1..{self.type_cnt - 1})")

    def kind_of(self, type_id: int) -> int:
        """Kind of ``type_id`` (0 for void), looking through the base chain."""
        if type_id == 0:
            return 0
        b, i = self.owner_of(type_id)
        return int(b.kind[i])

    def record(self, type_id: int) -> np.ndarray:
        """All words of one record (header and tail)."""
        b, i = self.owner_of(type_id)
        return b.words[b.type_start[i] : b.type_start[i + 1]]

    def name(self, type_id: int) -> str:
        """Name of ``type_id`` for display (``""`` when anonymous)."""
        if type_id == 0:
            return ""
        b, i = self.owner_of(type_id)
        return self.strings.text(int(b.name_off[i]))

    def str_at(self, off: int) -> str:
        return self.strings.text(off)

    def kind_name(self, type_id: int) -> str:
        return KIND_NAMES.get(self.kind_of(type_id), "UNKNOWN")

    # ------------------------------------------------------- IDs, rows, views
    @property
    def type_ids(self) -> np.ndarray:
        """The type ID of each row of the per-type columns: ``start_id .. type_cnt - 1``."""
        import numpy as np

        return np.arange(self.start_id, self.type_cnt, dtype=np.int64)

    def index_of(self, type_id: int) -> int:
        """The row of ``type_id`` in this object's per-type columns.

        Only this object's own types have rows: void and base-type IDs raise
        :class:`IndexError` naming the ID (use ``btf[type_id]`` for those).
        """
        tid = operator.index(type_id)
        if not self.start_id <= tid < self.type_cnt:
            raise IndexError(
                f"type ID {tid} has no row in the columns of {self._label()}: "
                f"its own types are IDs {self.start_id}..{self.type_cnt - 1}"
            )
        return tid - self.start_id

    def _label(self) -> str:
        return self.source if self.source else "this BTF"

    def __len__(self) -> int:
        """Number of this object's own types (void and base types not counted)."""
        return self.nr_types

    def __bool__(self) -> bool:
        return True

    def __getitem__(self, type_id: int) -> TypeView:
        """A read-only view of ``type_id`` (0 is void; base IDs go through the base chain)."""
        from btfdedup.model.view import type_view

        if isinstance(type_id, slice):
            raise TypeError("Btf is indexed by one type ID, not a slice (iterate, or use type_ids)")
        tid = operator.index(type_id)
        if not 0 <= tid < self.type_cnt:
            raise IndexError(f"type ID {tid} is out of range for {self._label()} (valid IDs are 0..{self.type_cnt - 1})")
        return type_view(self, tid)

    def __iter__(self) -> Iterator[TypeView]:
        """Views of this object's own types in ID order (not void, not base types)."""
        from btfdedup.model.view import iter_views

        return iter_views(self)

    def __contains__(self, type_id: object) -> bool:
        """Whether ``type_id`` (an integer) is a valid ID here, void and base IDs included."""
        try:
            tid = operator.index(type_id)  # type: ignore[arg-type]
        except TypeError:
            return False
        return 0 <= tid < self.type_cnt

    # ------------------------------------------------------------------ lookups
    def find_by_name(self, name: str, kind: Kind | None = None) -> list[int]:
        """Type IDs (own types only, ascending) whose name is ``name``, optionally of one kind.

        The results are IDs, to index the object with: ``btf[btf.find_by_name("x")[0]]``
        (a column needs :meth:`index_of` first).
        """
        import numpy as np

        off = self.strings.find(name.encode())
        out: list[int] = []
        if off < 0:
            return out
        # Equal content can live at several offsets when strings are not deduped.
        cand = np.flatnonzero(self.strings.valid_mask(self.name_off.astype(np.int64)))
        for i in cand.tolist():
            if self.strings.get(int(self.name_off[i])) == name.encode():
                if kind is None or int(self.kind[i]) == int(kind):
                    out.append(self.start_id + i)
        return out

    # ------------------------------------------------------------------ output
    def header(self) -> BtfHeader:
        """The header :meth:`to_bytes` writes: sections in the order type, layout,
        strings, with no bytes between or after them."""
        type_len = self.type_len
        layout_len = len(self.layout)
        has_layout_fields = self.hdr_len >= BTF_HDR_LEN_LAYOUT
        return BtfHeader(
            byteorder=self.byteorder,
            version=self.version,
            flags=0,
            hdr_len=self.hdr_len,
            type_off=0,
            type_len=type_len,
            str_off=type_len + layout_len,
            str_len=len(self.strings),
            layout_off=(type_len if layout_len else self.layout_off_hint) if has_layout_fields else 0,
            layout_len=layout_len if has_layout_fields else 0,
        )

    def to_bytes(self) -> bytes:
        """Raw BTF bytes (only this object's own types and strings, as libbpf writes)."""
        from btfdedup.io.writer import btf_to_bytes

        return btf_to_bytes(self)

    def save(self, path: str, *, overwrite_input: bool = False) -> None:
        """Write :meth:`to_bytes` to ``path`` atomically; never over an input file
        (this object's or its bases' source) unless ``overwrite_input``."""
        from btfdedup.io.writer import save_btf

        save_btf(self, path, overwrite_input=overwrite_input)

    # ------------------------------------------------------------- construction
    @classmethod
    def empty(cls, base: Btf | None = None, *, hdr_len: int = BTF_HDR_LEN_CLASSIC, byteorder: str | None = None) -> Btf:
        """A BTF with no types, like ``btf__new_empty()`` / ``btf__new_empty_split()``."""
        import numpy as np

        start_off = base.strings.end_off if base is not None else 0
        data = b"" if base is not None else b"\0"
        return cls(
            np.zeros(0, dtype=np.uint32),
            np.zeros(1, dtype=np.int64),
            StringTable(data, start_off, base.strings if base is not None else None),
            base=base,
            byteorder=byteorder or (base.byteorder if base is not None else "<"),
            hdr_len=hdr_len,
            strs_deduped=True,
        )

    def rewritten(self, words: np.ndarray | array[int] | memoryview, strings: bytes, type_start: np.ndarray) -> Btf:
        """A BTF with new records and strings in place of this one's, on the same base and
        with its header fields, byte order and layout: what a pass that rewrites every
        record returns (the dedup engine, a strategy).  Valid by construction, so only the
        framing is checked; its strings are unique (``strs_deduped``)."""
        return Btf.from_words(
            words,
            strings,
            base=self.base,
            type_start=type_start,
            byteorder=self.byteorder,
            hdr_len=self.hdr_len,
            layout=self.layout,
            layout_off_hint=self.layout_off_hint,
            version=self.version,
            source=None,
            strs_deduped=True,
            check=False,
        )

    @classmethod
    def from_words(
        cls,
        words: np.ndarray | array[int] | memoryview,
        strings: bytes,
        *,
        base: Btf | None = None,
        type_start: np.ndarray | array[int] | None = None,
        byteorder: str = "<",
        hdr_len: int = BTF_HDR_LEN_CLASSIC,
        layout: bytes = b"",
        layout_table: list[tuple[int, int]] | None = None,
        layout_off_hint: int = 0,
        version: int = BTF_VERSION,
        source: str | None = None,
        type_base_offset: int = 0,
        str_base_offset: int = 0,
        strs_deduped: bool | None = None,
        check: bool = True,
    ) -> Btf:
        """Build and check a BTF from a native-order type section and a string blob.

        This is how every parsed or computed :class:`Btf` comes to be (the raw reader
        decodes the bytes and calls it).  The string blob's framing and the record
        boundaries are always checked: ``type_start`` is scanned from the words when
        not given, and checked against them when given.  ``check`` adds the range
        checks of every string offset and type-ID field (:func:`~btfdedup.model.build.check_references`);
        callers pass False only for what is valid by construction (dedup, merge output).
        ``layout`` is the layout section's bytes (``layout_table``, when given, its
        decoded entries); ``type_base_offset``/``str_base_offset`` are where the sections
        sat in the source file, so errors can name file offsets.
        """
        words = native_words(words)
        check_strings(strings, base, source, str_base_offset)
        if layout_table is None and layout:
            # Callers rebuilding a parsed object pass its layout bytes only.
            layout_table = parse_layout(layout, byteorder, source, 0)
        start_id = base.type_cnt if base is not None else 1
        str_start = base.strings.end_off if base is not None else 0
        type_start, kind, fields_ok = record_boundaries(
            words, type_start, KindSizes(layout_table), source=source, start_id=start_id,
            type_base_offset=type_base_offset, str_end=str_start + len(strings) if check else None,
        )
        btf = cls(
            words,
            type_start,
            StringTable(strings, str_start, base.strings if base is not None else None),
            base=base,
            byteorder=byteorder,
            hdr_len=hdr_len,
            layout=layout,
            layout_off_hint=layout_off_hint,
            version=version,
            source=source,
            strs_deduped=strs_deduped,
        )
        if kind is not None:
            # The scan computed the kind column on the way: keep it rather than recompute it.
            btf._kind = kind
        if check:
            check_references(btf, type_base_offset, fields_ok=fields_ok)
        return btf

    def __repr__(self) -> str:
        split = f" split on {self.base.nr_types} base types" if self.base is not None else ""
        src = f" from {self.source}" if self.source else ""
        return f"<Btf {self.nr_types} types, {len(self.strings)} string bytes{split}{src}>"


def _numpy_view(buf: Any, dtype: str) -> np.ndarray:
    """``buf`` as a numpy array of ``dtype``: a numpy array as it is, a buffer
    (``array.array``) viewed in place (``np.frombuffer``: the same memory, no copy)."""
    import numpy as np

    if isinstance(buf, np.ndarray):
        return buf
    return np.frombuffer(buf, dtype=dtype)
