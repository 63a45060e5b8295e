"""``Problem``: one rule the kernel's BTF verifier would reject, located and worded as the kernel logs it.

:class:`ProblemList` is what :func:`btfdedup.validate` returns: the problems as a
columnar table (type, rule code, the values the rule's words are formatted
with, the member or entry involved), turned into :class:`Problem` objects only
for the rows a caller looks at.  A raw vmlinux past the kernel's limits breaks
rules millions of times; printing the first hundred and counting the rest per
rule then costs a few numpy operations, not millions of objects.
"""

from __future__ import annotations

import errno as errno_mod
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

from btfdedup.format.constants import BTF_MAX_NAME_OFFSET, KIND_NAMES

#: The kernel's internal ``ENOTSUPP`` (not in userspace errno.h), returned for unsupported encodings/versions.
ENOTSUPP = 524


@dataclass(frozen=True)
class Problem:
    """A verifier rejection.

    ``reason`` is the kernel's own log text for the rule (``"Invalid name"``,
    ``"Member exceeds struct_size"``, ``"Invalid btf_info:ff000000"``...);
    ``context`` names the member/parameter/entry involved, when there is one.
    ``type_id``/``kind``/``name`` are None for header and section problems.
    """

    reason: str
    type_id: int | None = None
    kind: str | None = None
    name: str | None = None
    errno: int = errno_mod.EINVAL
    phase: str = "meta"
    context: str | None = field(default=None, compare=False)
    #: False where the kernel rejects without a log line (size limit, internal WARN paths).
    logged: bool = field(default=True, compare=False)

    def __str__(self) -> str:
        tail = f" ({self.context})" if self.context else ""
        if self.type_id is None:
            return f"{self.reason}{tail}"
        name = f"'{self.name}'" if self.name else "(anon)"
        return f"[{self.type_id}] {self.kind or 'UNKNOWN'} {name}: {self.reason}{tail}"

    def to_json(self) -> dict[str, Any]:
        """Plain dict for ``--json`` output."""
        return {
            "type_id": self.type_id,
            "kind": self.kind,
            "name": self.name,
            "reason": self.reason,
            "context": self.context,
            "errno": self.errno,
            "phase": self.phase,
        }


def rule_of(reason: str) -> str:
    """The rule behind a reason, without the values the kernel formats into it.

    ``"Invalid name_offset:1694074"`` -> ``"Invalid name_offset"``, so the summary
    of a flood groups by rule and not by offset.
    """
    return re.sub(r"#\d+", "#N", re.sub(r":[0-9a-fA-F]+\b", "", reason))


@dataclass(frozen=True)
class Rule:
    """How the rows of one (phase, code) read: template formatted with (arg, arg2), errno, logged."""

    template: str
    errno: int
    logged: bool = True

    @property
    def uses_args(self) -> bool:
        return "{" in self.template


class Located:
    """What turns a row's local type index into a kind and a name (the walked records of one blob)."""

    def __init__(
        self,
        start_id: int,
        nt: int,
        kind: np.ndarray,
        name_off: np.ndarray,
        text: Callable[[int], str | None],
        size: int,
    ) -> None:
        self.start_id = start_id
        self.nt = nt
        self.kind = kind
        self.name_off = name_off
        self.text = text
        self.size = size

    def kind_and_name(self, local: int) -> tuple[str | None, str | None]:
        """The kind name and the type's name (None: anonymous or unreadable) of a local index;
        (None, None) past the walked records."""
        if not 0 <= local < self.nt:
            return None, None
        return self.describe(int(self.kind[local]), int(self.name_off[local]))

    def describe(self, k: int, off: int) -> tuple[str | None, str | None]:
        """Kind name and name of a record of kind ``k`` named at ``off``; (None, None) for ``k`` -1 (no record)."""
        if k < 0:
            return None, None
        kind = KIND_NAMES.get(k, f"KIND{k}") if 0 < k <= 19 else f"KIND{k}"
        name = None
        if off and off <= BTF_MAX_NAME_OFFSET and off < self.size:
            name = self.text(off)
        return kind, name


#: Context kinds of a row (``ctx_kind``): none, "member #a 'name at b'", "value #a", "entry #a type_id=b",
#: "entry #a".  The first four match :mod:`btfdedup.verifier.meta_checks`.
CTX_NONE, CTX_MEMBER, CTX_VALUE, CTX_ENTRY_TYPE, CTX_ENTRY = 0, 1, 2, 3, 4

_COLUMNS = ("phase", "code", "local", "arg", "arg2", "ctx_kind", "ctx_a", "ctx_b")
_DTYPES = (np.uint8, np.uint8, np.int64, np.int64, np.int64, np.uint8, np.int64, np.int64)


def _row_hash(keys: list[np.ndarray]) -> np.ndarray:
    """One uint64 per row mixing its key columns (equal rows hash alike; :meth:`ProblemList.dedup`
    checks the keys of rows that hash alike, so a collision costs a sort, never a wrong answer)."""
    h = np.zeros(len(keys[0]), dtype=np.uint64)
    for k in keys:
        h = (h ^ k.astype(np.uint64)) * np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(29)
    return h


class ProblemList(Sequence[Problem]):
    """The problems of one validation, in the kernel's order (the first is the kernel's verdict).

    A read-only sequence of :class:`Problem`: ``len()``, indexing, slicing (a list),
    iteration and ``==`` against any sequence of problems behave as on a list.
    Rows are phase ``0`` (a ready :class:`Problem`, for header and special-field
    rows; ``arg`` indexes them) or a phase named in ``phases`` whose rules say how
    ``code`` reads.
    """

    def __init__(
        self,
        phases: Sequence[tuple[str, dict[int, Rule]]] = (),
        located: Located | None = None,
    ) -> None:
        self._phases: list[tuple[str, dict[int, Rule]]] = [("", {})] + list(phases)
        self._located = located
        self._objects: list[Problem] = []
        self._cols = {c: np.zeros(0, dtype=d) for c, d in zip(_COLUMNS, _DTYPES, strict=True)}
        self._cache: dict[int, Problem] = {}
        #: Local indices of rows added with ``may_repeat`` since the last :meth:`dedup`.
        self._repeat_locals: list[np.ndarray] = []

    # building ------------------------------------------------------------------------------
    def locate(self, located: Located) -> None:
        """Name the records the type rows refer to (before adding type rows)."""
        self._located = located

    def add_objects(self, problems: Sequence[Problem]) -> None:
        """Append ready-made problems (header, special fields)."""
        first = len(self._objects)
        self._objects.extend(problems)
        k = len(problems)
        self._append(
            phase=np.zeros(k, np.uint8),
            code=np.zeros(k, np.uint8),
            local=np.zeros(k, np.int64),
            arg=np.arange(first, first + k, dtype=np.int64),
            arg2=np.zeros(k, np.int64),
            ctx_kind=np.zeros(k, np.uint8),
            ctx_a=np.zeros(k, np.int64),
            ctx_b=np.zeros(k, np.int64),
        )

    def add_rows(self, phase: int, *, may_repeat: bool = False, **cols: np.ndarray) -> None:
        """Append rows of ``phase`` (1-based index into ``phases``); omitted columns are 0.

        ``may_repeat``: some of these rows may equal an earlier row (same type, words and
        context); :meth:`dedup` then drops the later copies.  Rows added without it are
        taken to be new (a phase that reports each type at most once, in words of its own
        or first).
        """
        k = len(cols["code"])
        if not k:
            return
        if may_repeat:
            self._repeat_locals.append(np.asarray(cols["local"], dtype=np.int64))
        full = {
            c: np.asarray(cols[c], dtype=d) if c in cols else np.zeros(k, d)
            for c, d in zip(_COLUMNS, _DTYPES, strict=True)
        }
        full["phase"] = np.full(k, phase, np.uint8)
        rules = self._phases[phase][1]
        uses = np.zeros(256, dtype=bool)
        for code, rule in rules.items():
            uses[code] = rule.uses_args
        unused = ~uses[full["code"]]
        if unused.any():
            full["arg"] = np.where(unused, 0, full["arg"])
            full["arg2"] = np.where(unused, 0, full["arg2"])
        self._append(**full)

    def _append(self, **cols: np.ndarray) -> None:
        for c in _COLUMNS:
            self._cols[c] = np.concatenate([self._cols[c], cols[c]]) if len(self._cols[c]) else cols[c]

    def dedup(self) -> None:
        """Keep the first of rows equal in type, reason and context (ready-made rows are kept).

        Only rows added with ``may_repeat``, and earlier rows of the same types, can be
        copies, so the hashing and sorting below run on those alone (none, on most blobs).
        """
        if not self._repeat_locals:
            return
        repeat = np.concatenate(self._repeat_locals)
        self._repeat_locals = []
        cols = self._cols
        local = cols["local"]
        mark = np.zeros(int(max(repeat.max(), local.max())) + 1, dtype=bool)
        mark[repeat] = True
        cand = np.flatnonzero(mark[local] & (cols["phase"] != 0))
        if len(cand) < 2:
            return
        text_id = self._text_ids()
        keys = [
            cols["local"][cand],
            text_id[cols["phase"][cand].astype(np.int64) * 256 + cols["code"][cand]],
            cols["arg"][cand],
            cols["arg2"][cand],
            cols["ctx_kind"][cand].astype(np.int64),
            cols["ctx_a"][cand],
            cols["ctx_b"][cand],
        ]
        m = len(cand)
        _u, first, inverse = np.unique(_row_hash(keys), return_index=True, return_inverse=True)
        rep = first[inverse.reshape(-1)]
        dup = rep != np.arange(m)
        if not dup.any():
            return
        same = np.ones(int(dup.sum()), dtype=bool)
        for k in keys:
            same &= k[dup] == k[rep[dup]]
        if not same.all():
            # Two different rows hashed alike: find the first of each group by sorting on the keys.
            order = np.lexsort(keys[::-1])
            eq = np.ones(m - 1, dtype=bool)
            for k in keys:
                ks = k[order]
                eq &= ks[1:] == ks[:-1]
            grp = np.concatenate([[0], np.cumsum(~eq)])
            firsts = np.full(int(grp[-1]) + 1, m, dtype=np.int64)
            np.minimum.at(firsts, grp, order)
            dup = np.ones(m, dtype=bool)
            dup[firsts] = False
        keep = np.ones(len(self), dtype=bool)
        keep[cand[dup]] = False
        for c in _COLUMNS:
            cols[c] = cols[c][keep]
        self._cache.clear()

    def _text_ids(self) -> np.ndarray:
        """Per ``phase * 256 + code``: an id equal for rules worded the same."""
        ids = np.zeros(256 * len(self._phases), dtype=np.int64)
        seen: dict[str, int] = {}
        for p, (_name, rules) in enumerate(self._phases):
            for code, rule in rules.items():
                ids[p * 256 + code] = seen.setdefault(rule.template, len(seen) + 1)
        return ids

    def truncate(self, n: int) -> None:
        """Keep the first ``n`` rows."""
        self._repeat_locals = []
        for c in _COLUMNS:
            self._cols[c] = self._cols[c][:n]

    # reading -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._cols["code"])

    @overload
    def __getitem__(self, i: int) -> Problem: ...

    @overload
    def __getitem__(self, i: slice) -> list[Problem]: ...

    def __getitem__(self, i: int | slice) -> Problem | list[Problem]:
        if isinstance(i, slice):
            return list(self._rows(range(*i.indices(len(self)))))
        n = len(self)
        j = int(i)
        if j < 0:
            j += n
        if not 0 <= j < n:
            raise IndexError("problem index out of range")
        return self._row(j)

    def __iter__(self) -> Iterator[Problem]:
        return self._rows(range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self))

    def rule_counts(self) -> list[tuple[str, int]]:
        """(rule, count) over every problem, most frequent first, ties in order of first
        appearance (as ``Counter(rule_of(p.reason) for p in problems).most_common()``)."""
        cols = self._cols
        n = len(self)
        if not n:
            return []
        objects = np.flatnonzero(cols["phase"] == 0)
        groups: list[tuple[int, str, int]] = [(int(j), rule_of(self._row(int(j)).reason), 1) for j in objects]
        rows = np.flatnonzero(cols["phase"] != 0)
        if len(rows):
            key = cols["phase"][rows].astype(np.int64) * 256 + cols["code"][rows]
            _u, first, counts = np.unique(key, return_index=True, return_counts=True)
            for f, c in zip(first, counts, strict=True):
                j = int(rows[f])
                # A rule's words differ only in the values formatted into them, which rule_of drops.
                groups.append((j, rule_of(self._row(j).reason), int(c)))
        totals: dict[str, int] = {}
        for _j, rule, c in sorted(groups, key=lambda g: g[0]):
            totals[rule] = totals.get(rule, 0) + c
        return sorted(totals.items(), key=lambda kv: kv[1], reverse=True)

    def _row(self, j: int) -> Problem:
        return next(self._rows(range(j, j + 1)))

    def _rows(self, idx: range) -> Iterator[Problem]:
        """The Problems of rows ``idx``, read a block of columns at a time (plain ints, not numpy scalars)."""
        block = 8192
        for lo in range(0, len(idx), block):
            part = idx[lo : lo + block]
            sel = np.arange(part.start, part.stop, part.step, dtype=np.int64)
            cols = [self._cols[c][sel].tolist() for c in _COLUMNS]
            kinds, name_offs = self._located_columns(self._cols["local"][sel])
            for j, phase, code, local, arg, arg2, ck, ca, cb, k, off in zip(
                sel.tolist(), *cols, kinds, name_offs, strict=True
            ):
                hit = self._cache.get(j)
                if hit is None:
                    if phase == 0:
                        hit = self._objects[arg]
                    else:
                        hit = self._materialize(phase, code, local, arg, arg2, ck, ca, cb, k, off)
                    if len(self._cache) < 4096:
                        self._cache[j] = hit
                yield hit

    def _located_columns(self, local: np.ndarray) -> tuple[list[int], list[int]]:
        """Kind and name offset of each local index (-1, 0 past the walked records)."""
        loc = self._located
        if loc is None or not loc.nt:
            return [-1] * len(local), [0] * len(local)
        inside = (local >= 0) & (local < loc.nt)
        at = np.where(inside, local, 0)
        kinds = np.where(inside, loc.kind[at].astype(np.int64), -1)
        offs = np.where(inside, loc.name_off[at].astype(np.int64), 0)
        return kinds.tolist(), offs.tolist()

    def _materialize(
        self, phase: int, code: int, local: int, arg: int, arg2: int, ck: int, ca: int, cb: int, k: int, off: int
    ) -> Problem:
        phase_name, rules = self._phases[phase]
        rule = rules[code]
        reason = rule.template.format(arg, arg2) if rule.uses_args else rule.template
        loc = self._located
        if loc is None:
            raise ValueError("a type row needs the records it was found in")
        kind, name = loc.describe(k, off)
        return Problem(
            reason=reason,
            type_id=loc.start_id + local,
            kind=kind,
            name=name,
            errno=rule.errno,
            phase=phase_name,
            context=self._context(ck, ca, cb),
            logged=rule.logged,
        )

    def _context(self, ck: int, a: int, b: int) -> str | None:
        if ck == CTX_NONE:
            return None
        if ck == CTX_MEMBER:
            loc = self._located
            name = loc.text(b) if (b and loc is not None) else None
            return f"member #{a} '{name}'" if name else f"member #{a}"
        if ck == CTX_VALUE:
            return f"value #{a}"
        if ck == CTX_ENTRY_TYPE:
            return f"entry #{a} type_id={b}"
        return f"entry #{a}"
