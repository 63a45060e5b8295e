"""Pass 1 of the kernel verifier (``btf_check_all_metas``): the record walk and every record's check_meta.

:class:`MetaContext` walks the type section as the kernel does
(:func:`btfdedup.verifier.walk.walk_records`) and keeps the records' columns for
the later passes and for wording problems; :meth:`MetaContext.check` runs the
compiled per-record checks (:mod:`btfdedup.verifier.meta_checks`) and returns
their rows.  Each type gets at most one row: the first rule the kernel's
``check_meta`` for its kind would fail, in the kernel's order.  The kernel stops
at the first failing type; we keep going and report every failing type, so the
first row in type-ID order is the kernel's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from btfdedup.format import constants
from btfdedup.verifier import meta_checks
from btfdedup.verifier.rules import RuleSet
from btfdedup.verifier.strings import NameTable, SplitNames, char_classes
from btfdedup.verifier.walk import WALK_BAD_KIND, WALK_HEADER_SHORT, WALK_TAIL_SHORT, record_columns, walk_records


@dataclass
class MetaRows:
    """check_meta failures as columns (one row per failing record, in type order).

    ``code`` indexes :data:`btfdedup.verifier.meta_checks.META_REASONS`, whose template
    is formatted with ``arg``/``arg2``; ``ctx_kind``/``ctx_a``/``ctx_b`` name the
    member, value or entry involved (``meta_checks.CTX_*``).
    """

    local: np.ndarray
    code: np.ndarray
    arg: np.ndarray
    arg2: np.ndarray
    ctx_kind: np.ndarray
    ctx_a: np.ndarray
    ctx_b: np.ndarray

    def __len__(self) -> int:
        return len(self.local)

    def insert(self, local: int, code: int, arg: int = 0, arg2: int = 0) -> None:
        """Add a context-free row after every row whose local index is <= ``local`` (a stable sort's place)."""
        at = int(np.searchsorted(self.local, local, side="right"))
        self.local = np.insert(self.local, at, local)
        self.code = np.insert(self.code, at, code)
        self.arg = np.insert(self.arg, at, arg)
        self.arg2 = np.insert(self.arg2, at, arg2)
        self.ctx_kind = np.insert(self.ctx_kind, at, meta_checks.CTX_NONE)
        self.ctx_a = np.insert(self.ctx_a, at, 0)
        self.ctx_b = np.insert(self.ctx_b, at, 0)


class MetaContext:
    """Columns of the walked records plus the name table, shared by the passes.

    ``words`` is the type section as uint32 words (a view of the blob where it is
    aligned); the per-record columns are indexed by local index (type ID - ``start_id``),
    and their ``*_g`` twins by global type ID over this blob (slot 0 is void).
    """

    def __init__(
        self, type_section: memoryview | bytes, names: NameTable | SplitNames, rules: RuleSet, start_id: int
    ) -> None:
        self.type_len = len(type_section)
        usable = self.type_len - self.type_len % 4
        words = np.frombuffer(type_section, dtype=np.uint8, count=usable).view(np.uint32)
        self.words = words if words.ctypes.data % 4 == 0 else words.copy()
        self.names = names
        self.rules = rules
        self.start_id = start_id
        starts, self.stop, self.stop_pos = walk_records(
            self.words,
            self.type_len,
            rules.vlen_mask,
            rules.kind_mask,
            rules.kind_max,
            constants.KIND_FIXED_TAIL_WORDS,
            constants.KIND_VLEN_WORDS,
        )
        self.start: np.ndarray = starts
        self.nt = len(starts)
        self.name_off_g, self.info_g, self.size_type_g = record_columns(self.words, starts)
        self.kind_g = ((self.info_g >> 24) & rules.kind_mask).astype(np.uint8)
        self.name_off = self.name_off_g[1:]
        self.info = self.info_g[1:]
        self.size_type = self.size_type_g[1:]
        self.kind = self.kind_g[1:]
        #: The last walked record is truncated (its tail runs past the section).
        self.last_truncated = self.stop == WALK_TAIL_SHORT
        #: Per record: its FUNC_PROTO's first parameter with a bad name (-1: none), set by :meth:`check`.
        self.bad_param = np.full(self.nt, -1, dtype=np.int32)

    @property
    def vlen(self) -> np.ndarray:
        return (self.info & self.rules.vlen_mask).astype(np.int64)

    @property
    def kflag(self) -> np.ndarray:
        return (self.info >> 31).astype(np.uint8)

    def name(self, local: int) -> str | None:
        off = int(self.name_off[local])
        return self.names.text(off) if off else None

    def check(self) -> MetaRows:
        """Every record's first check_meta failure, in type order, including where the walk stopped."""
        rules = self.rules
        names = self.names
        if isinstance(names, SplitNames):
            base_blob, own_blob = names.base.blob, names.own.blob
        else:
            base_blob, own_blob = b"", names.blob
        local, code, arg, arg2, ck, ca, cb, self.bad_param = meta_checks.check_metas(
            self.words,
            self.type_len,
            self.start,
            self.last_truncated,
            np.frombuffer(base_blob, dtype=np.uint8),
            np.frombuffer(own_blob, dtype=np.uint8),
            char_classes(rules),
            constants.KIND_FIXED_TAIL_WORDS,
            constants.KIND_VLEN_WORDS,
            rules.ksym_name_len,
            rules.datasec_printable,
            rules.info_mask,
            rules.vlen_mask,
            rules.kind_mask,
            rules.kind_max,
            rules.type_tag_kflag,
            rules.decl_tag_kflag,
        )
        rows = MetaRows(local, code, arg, arg2, ck, ca, cb)
        nt = self.nt
        if self.stop == WALK_HEADER_SHORT:
            rows.insert(nt, meta_checks.META_LEFT, self.type_len - self.stop_pos, 12)
        elif self.stop == WALK_BAD_KIND and nt and not (len(rows) and rows.local[-1] == nt - 1):
            rows.insert(nt - 1, meta_checks.META_KIND, int(self.kind[nt - 1]))
        return rows
