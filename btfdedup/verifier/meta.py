"""Pass 1 of the kernel verifier (``btf_check_all_metas``): per-record checks, vectorized per kind.

Each type gets at most one finding: the first rule the kernel's ``check_meta``
for its kind would fail, in the kernel's order.  The kernel stops at the first
failing type; we keep going and report every failing type, so the first finding
in type-ID order is the kernel's verdict.
"""

from __future__ import annotations

import errno as errno_mod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from btfdedup.format.constants import KIND_NAMES
from btfdedup.verifier.rules import RuleSet
from btfdedup.verifier.strings import NameTable, SplitNames
from btfdedup.verifier.walk import (
    TAIL_ELEM,
    TAIL_FIXED,
    WALK_BAD_KIND,
    WALK_HEADER_SHORT,
    WALK_TAIL_SHORT,
    walk_records,
)


@dataclass(frozen=True)
class Finding:
    """One failing type: local index, the kernel's words, errno, and which element (or None)."""

    local: int
    reason: str
    errno: int = errno_mod.EINVAL
    context: str | None = None


class MetaContext:
    """Columns of the walked records plus the name table, shared by the per-kind checks."""

    def __init__(self, type_bytes: bytes, names: NameTable | SplitNames, rules: RuleSet, start_id: int) -> None:
        self.type_len = len(type_bytes)
        usable = self.type_len - self.type_len % 4
        self.words = np.frombuffer(type_bytes[:usable], dtype="<u4").astype(np.uint32)
        self.names = names
        self.rules = rules
        self.start_id = start_id
        starts, self.stop, self.stop_pos = walk_records(
            self.words, self.type_len, rules.vlen_mask, rules.kind_mask, rules.kind_max, TAIL_FIXED, TAIL_ELEM
        )
        self.start = starts
        self.nt = len(starts)
        w = self.words
        self.name_off = w[starts].astype(np.int64)
        self.info = w[starts + 1].astype(np.int64)
        self.size_type = w[starts + 2].astype(np.int64)
        self.kind = (self.info >> 24) & rules.kind_mask
        self.vlen = self.info & rules.vlen_mask
        self.kflag = (self.info >> 31) & 1
        #: Bytes left after each record's 12-byte header (``meta_left`` passed to check_meta).
        self.meta_left = self.type_len - 4 * starts - 12
        #: The last walked record is truncated (its tail runs past the section).
        self.truncated = np.zeros(self.nt, dtype=bool)
        if self.stop == WALK_TAIL_SHORT:
            self.truncated[-1] = True

    # helpers for the per-kind modules -----------------------------------------------------
    def tail(self, idx: np.ndarray, word: int) -> np.ndarray:
        """The ``word``-th tail word (0 = first after the header) of each type in ``idx``; 0 past the end."""
        pos = self.start[idx] + 3 + word
        n = len(self.words)
        if n == 0:
            return np.zeros(len(pos), dtype=np.int64)
        return np.where(pos < n, self.words[np.minimum(pos, n - 1)], 0).astype(np.int64)

    def elements(self, idx: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flat vlen elements of ``idx``: (owner position in idx, element index, word offset of element)."""
        counts = self.vlen[idx]
        total = int(counts.sum())
        owner = np.repeat(np.arange(len(idx), dtype=np.int64), counts)
        first = np.cumsum(counts) - counts
        elem_i = np.arange(total, dtype=np.int64) - np.repeat(first, counts)
        pos = self.start[idx][owner] + 3 + elem_i * stride
        return owner, elem_i, pos

    def name(self, local: int) -> str | None:
        off = int(self.name_off[local])
        return self.names.text(off) if off else None

    def kind_name(self, local: int) -> str:
        return KIND_NAMES.get(int(self.kind[local]), "UNKNOWN")


def first_code(*fails: np.ndarray) -> np.ndarray:
    """Per position: 0 when no condition fails, else 1 + the index of the first failing one."""
    if not fails:
        return np.zeros(0, dtype=np.int64)
    stack = np.stack([np.asarray(f, dtype=bool) for f in fails])
    return np.where(stack.any(axis=0), stack.argmax(axis=0) + 1, 0)


def first_element(owner: np.ndarray, code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For owners with a failing element: (owner, flat index of its first failing element)."""
    bad = np.flatnonzero(code)
    own, first = np.unique(owner[bad], return_index=True)
    return own, bad[first]


def meta_left_reason(ctx: MetaContext, local: int, needed: int) -> str:
    return f"meta_left:{int(ctx.meta_left[local])} meta_needed:{needed}"


KindCheck = Callable[[MetaContext, np.ndarray], list[Finding]]


def check_all_metas(ctx: MetaContext, checks: dict[int, KindCheck]) -> list[Finding]:
    """Every type's first check_meta failure, in type order, including where the walk stopped."""
    out: list[Finding] = []
    nt = ctx.nt
    rules = ctx.rules
    if nt:
        code = first_code(
            (ctx.info & ~rules.info_mask & 0xFFFFFFFF) != 0,
            (ctx.kind == 0) | (ctx.kind > rules.kind_max),
            ~ctx.names.valid_offset(ctx.name_off),
        )
        for i in np.flatnonzero(code):
            c = int(code[i])
            if c == 1:
                out.append(Finding(int(i), f"Invalid btf_info:{int(ctx.info[i]):x}"))
            elif c == 2:
                out.append(Finding(int(i), f"Invalid kind:{int(ctx.kind[i])}"))
            else:
                out.append(Finding(int(i), f"Invalid name_offset:{int(ctx.name_off[i])}"))
        ok = code == 0
        for kind, fn in checks.items():
            idx = np.flatnonzero(ok & (ctx.kind == kind))
            if len(idx):
                out.extend(fn(ctx, idx))
    if ctx.stop == WALK_HEADER_SHORT:
        out.append(Finding(nt, f"meta_left:{ctx.type_len - ctx.stop_pos} meta_needed:12"))
    elif ctx.stop == WALK_BAD_KIND and nt and not any(f.local == nt - 1 for f in out):
        out.append(Finding(nt - 1, f"Invalid kind:{int(ctx.kind[nt - 1])}"))
    out.sort(key=lambda f: f.local)
    return out
