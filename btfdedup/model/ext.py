""".BTF.ext: per-instruction metadata (func_info, line_info, CO-RE relocations).

A ``.BTF.ext`` section refers into ``.BTF`` by type ID (func_info and core_relo
``type_id``) and by string offset (block ``sec_name_off``, line_info
``file_name_off``/``line_off``, core_relo ``access_str_off``).  Deduplicating the
``.BTF`` renumbers both, so the dedup needs every such field, in the order
libbpf visits them, and a way to write the rewritten values back.

Layout (all integers in the section's byte order)::

    header   u16 magic 0xEB9F, u8 version 1, u8 flags 0, u32 hdr_len,
             u32 func_info_off, func_info_len, line_info_off, line_info_len,
             [u32 core_relo_off, core_relo_len]          (only if hdr_len >= 32)
    subsection (at hdr_len + *_off, *_len bytes; absent when *_len == 0)
             u32 rec_size
             blocks: {u32 sec_name_off; u32 num_info; num_info * rec_size bytes}...

:func:`parse_ext` enforces exactly the rules of libbpf's ``btf_ext__new``
(libbpf >= 1.5, which also reads non-native byte order).  A :class:`BtfExt`
keeps the section bytes; :meth:`BtfExt.to_bytes` patches the (possibly
rewritten) fields into them, so gaps, padding and record words beyond the
known fields survive byte for byte, as with libbpf's ``btf_ext__raw_data``.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from btfdedup.errors import BtfExtFormatError

BTF_EXT_MAGIC = 0xEB9F
BTF_EXT_VERSION = 1
#: Header through ``line_info_len``: mandatory.
BTF_EXT_HDR_LEN_MIN = 24
#: Header through ``core_relo_len``: core_relo is read only if hdr_len reaches this.
BTF_EXT_HDR_LEN_CORE = 32

#: Subsection names, in libbpf's order, with the minimum record size of each.
SUBSECTIONS = ("func_info", "line_info", "core_relo")
MIN_REC_SIZE = {"func_info": 8, "line_info": 16, "core_relo": 16}

#: Word index of each known field inside a record.
FUNC_INFO_INSN_OFF, FUNC_INFO_TYPE_ID = 0, 1
LINE_INFO_INSN_OFF, LINE_INFO_FILE_NAME_OFF, LINE_INFO_LINE_OFF, LINE_INFO_LINE_COL = 0, 1, 2, 3
CORE_RELO_INSN_OFF, CORE_RELO_TYPE_ID, CORE_RELO_ACCESS_STR_OFF, CORE_RELO_KIND = 0, 1, 2, 3

#: ``ExtFields.subsection`` codes.
SUB_FUNC_INFO, SUB_LINE_INFO, SUB_CORE_RELO = 0, 1, 2
#: ``ExtFields.word`` value for a block's ``sec_name_off`` (not a record field).
WORD_SEC_NAME = -1

_NATIVE = "<" if sys.byteorder == "little" else ">"


@dataclass(frozen=True)
class ExtSubsection:
    """One parsed subsection (func_info, line_info or core_relo).

    ``records`` is a native ``uint32`` array of shape ``(total, rec_size // 4)``:
    every record word, so records larger than the minimum keep their extra
    fields.  Block ``b`` owns records ``first[b] : first[b] + num_info[b]``.
    An absent subsection (length 0 in the header) has ``present`` False,
    ``rec_size`` 0 and empty arrays.
    """

    name: str
    off: int
    length: int
    rec_size: int
    sec_name_off: np.ndarray
    num_info: np.ndarray
    records: np.ndarray

    @property
    def present(self) -> bool:
        return self.length != 0

    @property
    def nr_blocks(self) -> int:
        return len(self.num_info)

    @property
    def nr_records(self) -> int:
        return int(self.records.shape[0])

    @property
    def first(self) -> np.ndarray:
        """Index of each block's first record."""
        starts = np.zeros(len(self.num_info), dtype=np.int64)
        if len(self.num_info) > 1:
            np.cumsum(self.num_info[:-1], out=starts[1:])
        return starts

    @property
    def block_of(self) -> np.ndarray:
        """Block index of every record."""
        return np.repeat(np.arange(len(self.num_info), dtype=np.int64), self.num_info.astype(np.int64))

    def field(self, word: int) -> np.ndarray:
        """Column ``word`` of every record (a view)."""
        return self.records[:, word]

    @classmethod
    def absent(cls, name: str, off: int = 0) -> ExtSubsection:
        min_words = MIN_REC_SIZE[name] // 4
        return cls(
            name,
            off,
            0,
            0,
            np.zeros(0, dtype=np.uint32),
            np.zeros(0, dtype=np.uint32),
            np.zeros((0, min_words), dtype=np.uint32),
        )


class ExtFields(NamedTuple):
    """A set of ``.BTF.ext`` fields, one entry per field, in libbpf visit order.

    ``subsection`` is SUB_FUNC_INFO/SUB_LINE_INFO/SUB_CORE_RELO, ``block`` the
    block index within it, ``record`` the record index within the subsection
    (-1 for a block's ``sec_name_off``), ``word`` the word inside the record
    (WORD_SEC_NAME for ``sec_name_off``).
    """

    values: np.ndarray
    subsection: np.ndarray
    block: np.ndarray
    record: np.ndarray
    word: np.ndarray

    def describe(self, i: int) -> str:
        """People's name of field ``i``, e.g. ``line_info block 0 record 3 file_name_off``."""
        sub = SUBSECTIONS[int(self.subsection[i])]
        if int(self.word[i]) == WORD_SEC_NAME:
            return f"{sub} block {int(self.block[i])} sec_name_off"
        names = {
            "func_info": ("insn_off", "type_id"),
            "line_info": ("insn_off", "file_name_off", "line_off", "line_col"),
            "core_relo": ("insn_off", "type_id", "access_str_off", "kind"),
        }[sub]
        w = int(self.word[i])
        fname = names[w] if w < len(names) else f"word {w}"
        return f"{sub} block {int(self.block[i])} record {int(self.record[i])} {fname}"


class BtfExt:
    """A parsed ``.BTF.ext`` section.

    ``raw`` holds the section bytes as read (file byte order); ``byteorder``
    is ``'<'`` or ``'>'``; ``func_info``/``line_info``/``core_relo`` are
    :class:`ExtSubsection` with native-order arrays.  The ``replace_*``
    methods return new objects; :meth:`copy` plus the in-place
    ``set_*``/:meth:`remap_type_ids` serve callers that rewrite one copy
    step by step (the dedup engine).
    """

    def __init__(
        self,
        raw: bytes,
        byteorder: str,
        hdr_len: int,
        func_info: ExtSubsection,
        line_info: ExtSubsection,
        core_relo: ExtSubsection,
        *,
        has_core_relo_fields: bool,
        source: str | None = None,
    ) -> None:
        self.raw = raw
        self.byteorder = byteorder
        self.hdr_len = hdr_len
        self.func_info = func_info
        self.line_info = line_info
        self.core_relo = core_relo
        self.has_core_relo_fields = has_core_relo_fields
        self.source = source

    @property
    def subsections(self) -> tuple[ExtSubsection, ExtSubsection, ExtSubsection]:
        return (self.func_info, self.line_info, self.core_relo)

    def __len__(self) -> int:
        return len(self.raw)

    def __repr__(self) -> str:
        parts = ", ".join(f"{s.name} {s.nr_records} in {s.nr_blocks} blocks" for s in self.subsections if s.present)
        return f"<BtfExt {len(self.raw)} bytes, {parts or 'no records'}>"

    # ------------------------------------------------------------ output
    def to_bytes(self) -> bytes:
        """The section bytes, with the current field values, in the input's byte order."""
        out = bytearray(self.raw)
        file_u4 = np.dtype(self.byteorder + "u4")
        for sub in self.subsections:
            if not sub.present:
                continue
            words = _subsection_words(sub)
            start = self.hdr_len + sub.off
            out[start : start + 4 * len(words)] = words.astype(file_u4).tobytes()
        return bytes(out)

    # ------------------------------------------------- fields for the dedup
    def str_fields(self) -> ExtFields:
        """Every string-offset field, in ``btf_ext_visit_str_offs`` order:
        func_info block ``sec_name_off``s; per line_info block its
        ``sec_name_off`` then each record's ``file_name_off``, ``line_off``;
        per core_relo block its ``sec_name_off`` then each record's
        ``access_str_off``."""
        parts = [
            _block_fields(self.func_info, SUB_FUNC_INFO, ()),
            _block_fields(self.line_info, SUB_LINE_INFO, (LINE_INFO_FILE_NAME_OFF, LINE_INFO_LINE_OFF)),
            _block_fields(self.core_relo, SUB_CORE_RELO, (CORE_RELO_ACCESS_STR_OFF,)),
        ]
        return _concat_fields(parts)

    def type_id_fields(self) -> ExtFields:
        """Every type-ID field, in ``btf_ext_visit_type_ids`` order: each
        func_info record's ``type_id``, then each core_relo record's ``type_id``."""
        parts = [
            _record_fields(self.func_info, SUB_FUNC_INFO, FUNC_INFO_TYPE_ID),
            _record_fields(self.core_relo, SUB_CORE_RELO, CORE_RELO_TYPE_ID),
        ]
        return _concat_fields(parts)

    def str_offsets(self) -> np.ndarray:
        """Values of :meth:`str_fields` (uint32, visit order)."""
        return self.str_fields().values

    def type_ids(self) -> np.ndarray:
        """Values of :meth:`type_id_fields` (uint32, visit order)."""
        return self.type_id_fields().values

    def replace_str_offsets(self, values: np.ndarray) -> BtfExt:
        """A copy whose string-offset fields (visit order) take ``values``."""
        return self._replace_fields(self.str_fields(), values)

    def replace_type_ids(self, values: np.ndarray) -> BtfExt:
        """A copy whose type-ID fields (visit order) take ``values``."""
        return self._replace_fields(self.type_id_fields(), values)

    # ------------------------------------- in-place API used by the dedup engine
    def copy(self) -> BtfExt:
        """An independent copy (arrays copied; ``raw`` is immutable bytes and shared)."""
        subs = [replace(s, sec_name_off=s.sec_name_off.copy(), records=s.records.copy()) for s in self.subsections]
        return BtfExt(
            self.raw,
            self.byteorder,
            self.hdr_len,
            subs[0],
            subs[1],
            subs[2],
            has_core_relo_fields=self.has_core_relo_fields,
            source=self.source,
        )

    def str_refs(self) -> np.ndarray:
        """Alias of :meth:`str_offsets` (the string references, visit order)."""
        return self.str_offsets()

    def set_str_refs(self, values: np.ndarray) -> None:
        """Rewrite the string-offset fields (visit order) of *this* object in place."""
        self._adopt(self.replace_str_offsets(values))

    def set_type_ids(self, values: np.ndarray) -> None:
        """Rewrite the type-ID fields (visit order) of *this* object in place."""
        self._adopt(self.replace_type_ids(values))

    def remap_type_ids(self, mapping: np.ndarray, invalid: int | np.integer) -> int | None:
        """Replace every type ID ``t`` by ``mapping[t]``, in place, as libbpf's
        ``btf_dedup_remap_type_id`` does.  Returns the first old ID (visit order)
        that has no mapping (beyond ``mapping`` or mapped to ``invalid`` or
        above 0x7fffffff) and leaves the object unchanged in that case, else None."""
        ids = self.type_ids().astype(np.int64)
        if not len(ids):
            return None
        mapping = np.asarray(mapping)
        outside = np.flatnonzero(ids >= len(mapping))
        if len(outside):
            return int(ids[outside[0]])
        new = mapping[ids].astype(np.int64)
        bad = np.flatnonzero((new == invalid) | (new > 0x7FFFFFFF) | (new < 0))
        if len(bad):
            return int(ids[bad[0]])
        self.set_type_ids(new.astype(np.uint32))
        return None

    def _adopt(self, other: BtfExt) -> None:
        self.func_info, self.line_info, self.core_relo = other.func_info, other.line_info, other.core_relo

    def _replace_fields(self, fields: ExtFields, values: np.ndarray) -> BtfExt:
        values = np.asarray(values)
        if values.shape != fields.values.shape:
            raise ValueError(f"expected {len(fields.values)} values, got {values.shape}")
        if len(values) and (values.min() < 0 or values.max() > 0xFFFFFFFF):
            raise ValueError("values must fit in u32")
        new_subs = []
        for code, sub in enumerate(self.subsections):
            sel = fields.subsection == code
            if not sel.any():
                new_subs.append(sub)
                continue
            sec_name_off = sub.sec_name_off.copy()
            records = sub.records.copy()
            w = fields.word[sel]
            v = values[sel].astype(np.uint32)
            is_sec = w == WORD_SEC_NAME
            sec_name_off[fields.block[sel][is_sec]] = v[is_sec]
            rec_sel = ~is_sec
            records[fields.record[sel][rec_sel], w[rec_sel]] = v[rec_sel]
            new_subs.append(replace(sub, sec_name_off=sec_name_off, records=records))
        return BtfExt(
            self.raw,
            self.byteorder,
            self.hdr_len,
            new_subs[0],
            new_subs[1],
            new_subs[2],
            has_core_relo_fields=self.has_core_relo_fields,
            source=self.source,
        )


def _subsection_words(sub: ExtSubsection) -> np.ndarray:
    """The subsection as native words: rec_size, then each block's header and records."""
    rec_words = sub.rec_size // 4
    nb = sub.nr_blocks
    total = 1 + 2 * nb + sub.nr_records * rec_words
    words = np.empty(total, dtype=np.uint32)
    words[0] = sub.rec_size
    counts = sub.num_info.astype(np.int64)
    block_len = 2 + counts * rec_words
    block_start = 1 + np.cumsum(block_len) - block_len
    words[block_start] = sub.sec_name_off
    words[block_start + 1] = sub.num_info
    if sub.nr_records:
        rec_pos = (
            np.repeat(block_start + 2, counts)
            + (np.arange(sub.nr_records, dtype=np.int64) - np.repeat(sub.first, counts)) * rec_words
        )
        idx = rec_pos[:, None] + np.arange(rec_words, dtype=np.int64)[None, :]
        words[idx] = sub.records
    return words


def _block_fields(sub: ExtSubsection, code: int, rec_words: tuple[int, ...]) -> ExtFields:
    """Per block: its sec_name_off, then for each record the fields ``rec_words``."""
    nb = sub.nr_blocks
    counts = sub.num_info.astype(np.int64)
    k = len(rec_words)
    per_block = 1 + k * counts
    n = int(per_block.sum())
    block_start = np.cumsum(per_block) - per_block
    values = np.empty(n, dtype=np.uint32)
    subsection = np.full(n, code, dtype=np.int8)
    block = np.empty(n, dtype=np.int64)
    record = np.full(n, -1, dtype=np.int64)
    word = np.full(n, WORD_SEC_NAME, dtype=np.int64)
    values[block_start] = sub.sec_name_off
    block[block_start] = np.arange(nb)
    if k and sub.nr_records:
        rec = np.arange(sub.nr_records, dtype=np.int64)
        blk = sub.block_of
        local = rec - sub.first[blk]
        for j, wi in enumerate(rec_words):
            pos = block_start[blk] + 1 + local * k + j
            values[pos] = sub.records[:, wi]
            block[pos] = blk
            record[pos] = rec
            word[pos] = wi
    return ExtFields(values, subsection, block, record, word)


def _record_fields(sub: ExtSubsection, code: int, wi: int) -> ExtFields:
    n = sub.nr_records
    return ExtFields(
        sub.records[:, wi].astype(np.uint32) if n else np.zeros(0, dtype=np.uint32),
        np.full(n, code, dtype=np.int8),
        sub.block_of,
        np.arange(n, dtype=np.int64),
        np.full(n, wi, dtype=np.int64),
    )


def _concat_fields(parts: list[ExtFields]) -> ExtFields:
    return ExtFields(*(np.concatenate([p[i] for p in parts]) for i in range(5)))


# ---------------------------------------------------------------- parsing
def parse_ext(data: bytes | bytearray | memoryview, byteorder: str | None = None, source: str | None = None) -> BtfExt:
    """Parse a ``.BTF.ext`` section with libbpf's rules.

    ``byteorder`` (the ``.BTF``'s, ``'<'``/``'>'``), when given, must match the
    section's.  Offsets in errors are byte offsets inside the section.

    Rules, in libbpf's order: at least 8 bytes; magic 0xEB9F in either byte
    order; version 1; flags 0; hdr_len within the data and not all of it;
    hdr_len >= 24.  Then for func_info, line_info and (if hdr_len >= 32)
    core_relo, unless its length is 0: offset 4-aligned; the subsection
    inside the data; room for rec_size; rec_size >= the minimum (8/16/16),
    a multiple of 4, and exactly the minimum when the byte order is not the
    host's; at least one block; every block header complete, num_info > 0,
    and its records inside the subsection; the blocks fill it exactly.
    """
    raw = bytes(data)
    size = len(raw)

    def fail(rule: str, offset: int) -> BtfExtFormatError:
        return BtfExtFormatError(rule, source=source, offset=offset)

    if size < 8:
        raise fail(f".BTF.ext header too short: {size} bytes, need at least 8 for magic..hdr_len", 0)
    if raw[:2] == b"\x9f\xeb":
        bo = "<"
    elif raw[:2] == b"\xeb\x9f":
        bo = ">"
    else:
        raise fail(f"bad .BTF.ext magic {raw[0]:02x} {raw[1]:02x}: expected 9f eb or eb 9f", 0)
    version, flags = raw[2], raw[3]
    if version != BTF_EXT_VERSION:
        raise fail(f"unsupported .BTF.ext version {version} (only {BTF_EXT_VERSION} exists)", 2)
    if flags:
        raise fail(f".BTF.ext header flags must be 0, found {flags:#x}", 3)
    (hdr_len,) = struct.unpack_from(bo + "I", raw, 4)
    if size < hdr_len:
        raise fail(f".BTF.ext hdr_len {hdr_len} runs past the end of the {size}-byte section", 4)
    if size == hdr_len:
        raise fail(f".BTF.ext has no data: hdr_len {hdr_len} equals the section size", 4)
    if hdr_len < BTF_EXT_HDR_LEN_MIN:
        raise fail(
            f".BTF.ext hdr_len {hdr_len} is smaller than {BTF_EXT_HDR_LEN_MIN}: header misses func_info/line_info", 4
        )
    if byteorder is not None and byteorder != bo:
        raise fail(
            f".BTF.ext is {'little' if bo == '<' else 'big'} endian but the .BTF is "
            f"{'little' if byteorder == '<' else 'big'} endian",
            0,
        )
    fi_off, fi_len, li_off, li_len = struct.unpack_from(bo + "IIII", raw, 8)
    native = bo == _NATIVE
    func_info = _parse_subsection(raw, bo, native, hdr_len, "func_info", fi_off, fi_len, 8, fail)
    line_info = _parse_subsection(raw, bo, native, hdr_len, "line_info", li_off, li_len, 16, fail)
    has_core = hdr_len >= BTF_EXT_HDR_LEN_CORE
    if has_core:
        cr_off, cr_len = struct.unpack_from(bo + "II", raw, 24)
        core_relo = _parse_subsection(raw, bo, native, hdr_len, "core_relo", cr_off, cr_len, 24, fail)
    else:
        core_relo = ExtSubsection.absent("core_relo")
    return BtfExt(raw, bo, hdr_len, func_info, line_info, core_relo, has_core_relo_fields=has_core, source=source)


def _parse_subsection(
    raw: bytes,
    bo: str,
    native: bool,
    hdr_len: int,
    name: str,
    off: int,
    length: int,
    field_at: int,
    fail: Callable[[str, int], BtfExtFormatError],
) -> ExtSubsection:
    """Walk one subsection's blocks (``field_at`` = header offset of its ``*_off`` field)."""
    if length == 0:
        return ExtSubsection.absent(name, off)
    min_rec = MIN_REC_SIZE[name]
    if off & 3:
        raise fail(f".BTF.ext {name} offset {off} is not aligned to 4 bytes", field_at)
    start = hdr_len + off
    if start + length > len(raw):
        raise fail(
            f".BTF.ext {name} subsection (off {off}, len {length}) runs past the end of the "
            f"{len(raw)}-byte section (ends at {start + length})",
            field_at,
        )
    if length < 4:
        raise fail(f".BTF.ext {name} subsection is {length} bytes: no room for rec_size", start)
    (rec_size,) = struct.unpack_from(bo + "I", raw, start)
    if rec_size < min_rec or rec_size & 3 or (not native and rec_size != min_rec):
        why = (
            f"below the minimum {min_rec}"
            if rec_size < min_rec
            else "not a multiple of 4"
            if rec_size & 3
            else f"not exactly {min_rec}, required for non-host byte order"
        )
        raise fail(f".BTF.ext {name} has invalid rec_size {rec_size}: {why}", start)
    pos = start + 4
    end = start + length
    if pos == end:
        raise fail(f".BTF.ext {name} subsection has no blocks (only rec_size)", pos)
    sec_names: list[int] = []
    counts: list[int] = []
    chunks: list[tuple[int, int]] = []
    while pos < end:
        left = end - pos
        if left < 8:
            raise fail(f".BTF.ext {name} block header incomplete: {left} bytes left, a block header needs 8", pos)
        sec_name_off, num_info = struct.unpack_from(bo + "II", raw, pos)
        if num_info == 0:
            raise fail(f".BTF.ext {name} block {len(counts)} has num_info 0", pos + 4)
        need = 8 + num_info * rec_size
        if need > left:
            raise fail(
                f".BTF.ext {name} block {len(counts)}: num_info {num_info} x rec_size {rec_size} "
                f"needs {need - 8} bytes, only {left - 8} left in the subsection",
                pos + 4,
            )
        sec_names.append(sec_name_off)
        counts.append(num_info)
        chunks.append((pos + 8, num_info * rec_size))
        pos += need
    rec_words = rec_size // 4
    file_u4 = np.dtype(bo + "u4")
    arrays = [np.frombuffer(raw, dtype=file_u4, count=n // 4, offset=p) for p, n in chunks]
    records = np.concatenate(arrays).astype(np.uint32).reshape(-1, rec_words)
    return ExtSubsection(
        name,
        off,
        length,
        rec_size,
        np.asarray(sec_names, dtype=np.uint32),
        np.asarray(counts, dtype=np.uint32),
        records,
    )
