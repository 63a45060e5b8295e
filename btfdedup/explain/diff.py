"""What changed between two BTFs: types only in A, only in B, and changed.

Types are matched by kind and name, never by ID: named types by their name's
content; anonymous enums by their first enumerator's name; other anonymous types
that nothing refers to (top-level anonymous structs and unions) by their whole
structure, so they are only ever added or removed.  Anonymous types something
refers to are parts of their referrers (a member's anonymous union is compared as
part of the struct), not entries of their own.  Only the files' own types are
compared (a split BTF's base is context, named with ``--base-a``/``--base-b``).

A matched pair is *changed* when its description differs: its record with strings
by content and each referred type by its reference label (how C names it:
``struct net_device``, ``int``; anonymous types by their structure; see
:func:`~btfdedup.explain.labels.reference_labels`).  So a struct whose member type
changed inside gets no entry of its own; the member type's entry says what changed.
When one name has several copies, equal descriptions are paired first and the rest
in ID order.

All of that is numpy over both chains.  The changes of each changed pair are then
found by the lockstep walk (:mod:`~btfdedup.explain.walk`), entering anonymous
types and naming the others: member-level detail (added, removed, renamed, moved,
bitfield widths, member types), enum values, prototypes, typedef targets.  That
walk is Python over the changed pairs only (a few thousand between two kernel
releases: about 1 s of the whole run).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from btfdedup.explain.flat import FlatTypes, flatten
from btfdedup.explain.labels import combine_targets, mix, name_labels, named_mask, reference_labels, shallow_labels
from btfdedup.explain.naming import kind_name
from btfdedup.explain.walk import Divergence, walk
from btfdedup.format.constants import KIND_NAMES, Kind

if TYPE_CHECKING:
    import numpy as np

    from btfdedup.model.btf import Btf


@dataclass
class Change:
    """One difference inside a changed pair: its class, the steps from the pair's
    root (``.u``, ``.x``: members of anonymous types entered), and a description."""

    cls: str
    steps: list[str]
    detail: str

    def render(self) -> str:
        where = " ".join(self.steps)
        return f"{where + ': ' if where else ''}{self.detail} [{self.cls}]"


@dataclass
class Changed:
    """A matched pair whose descriptions differ."""

    kind: Kind
    name: str
    a: int
    b: int
    changes: list[Change]


@dataclass
class BtfDiff:
    """The answer: IDs only in A, only in B, and the changed pairs (A's ID order)."""

    a: Btf
    b: Btf
    only_a: list[int] = field(default_factory=list)
    only_b: list[int] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not (self.only_a or self.only_b or self.changed)

    def summary(self) -> dict[str, Any]:
        """Counts per kind (only in A, only in B, changed) and per class of change."""
        per_kind: dict[str, Counter[str]] = {}
        for side, btf, ids in (("only_a", self.a, self.only_a), ("only_b", self.b, self.only_b)):
            for t in ids:
                per_kind.setdefault(KIND_NAMES[btf.kind_of(t)], Counter())[side] += 1
        classes: Counter[str] = Counter()
        for c in self.changed:
            per_kind.setdefault(c.kind.name, Counter())["changed"] += 1
            for cls in {ch.cls for ch in c.changes}:
                classes[cls] += 1
        kinds = {k: {s: v[s] for s in ("only_a", "only_b", "changed")} for k, v in sorted(per_kind.items())}
        return {
            "kinds": kinds,
            "total": {s: sum(v[s] for v in kinds.values()) for s in ("only_a", "only_b", "changed")},
            "classes": dict(sorted(classes.items(), key=lambda kv: (-kv[1], kv[0]))),
        }


def _keys(flat: FlatTypes, desc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The own types that are diff entries and their match keys (see the module doc)."""
    import numpy as np

    btf = flat.btf
    own = np.zeros(flat.n, dtype=np.bool_)
    own[btf.start_id :] = True
    kind = flat.kind.astype(np.uint64)
    named = flat.name_off != 0
    named[0] = False
    with np.errstate(over="ignore"):
        key = mix(name_labels(flat) ^ mix(kind + np.uint64(7)))
        anon_enum = ~named & np.isin(flat.kind, [int(Kind.ENUM), int(Kind.ENUM64)]) & (flat.vlen > 0)
        first_val = np.where(anon_enum, flat.start[:-1] + 3, 0)
        enum_key = mix(flat.strings.labels(flat.words[first_val].astype(np.int64)) ^ mix(kind + np.uint64(11)))
        key = np.where(anon_enum, enum_key, key)
        top_anon = ~named & ~anon_enum & (flat.in_degree == 0)
        key = np.where(top_anon, mix(desc ^ np.uint64(0x2545F4914F6CDD1D)), key)
    entry = own & (named | anon_enum | top_anon)
    ids = np.flatnonzero(entry)
    return ids, key[ids]


def diff(a: Btf, b: Btf) -> BtfDiff:
    """The differences of ``a``'s own types and ``b``'s (see the module doc).

    >>> import btfdedup
    >>> owner = btfdedup.load("corpora/bpf/fwd_owner.bpf.o")
    >>> d = btfdedup.diff(owner, btfdedup.load("corpora/bpf/fwd_user.bpf.o"))
    >>> d.summary()["total"]
    {'only_a': 9, 'only_b': 8, 'changed': 2}
    >>> [ch.render() for ch in d.changed[1].changes]
    ['var 0: states → holders [target type]']
    """
    import numpy as np

    fa, fb = flatten(a), flatten(b)
    sa, sb = shallow_labels(fa), shallow_labels(fb)
    ra, rb = reference_labels(fa, sa), reference_labels(fb, sb)
    da, db = combine_targets(fa, sa, ra), combine_targets(fb, sb, rb)
    ida, ka = _keys(fa, da)
    idb, kb = _keys(fb, db)
    out = BtfDiff(a, b)
    ua, inv_a, ca = np.unique(ka, return_inverse=True, return_counts=True)
    ub, inv_b, cb = np.unique(kb, return_inverse=True, return_counts=True)
    inv_a, inv_b = inv_a.reshape(-1), inv_b.reshape(-1)
    # Keys present once on each side: matched pairs, vectorized.
    in_b = np.searchsorted(ub, ua).clip(0, max(len(ub) - 1, 0))
    both = (len(ub) > 0) & (ub[in_b] == ua) if len(ub) else np.zeros(len(ua), dtype=np.bool_)
    single = both & (ca == 1) & (cb[in_b] == 1) if len(ub) else both
    only_a_keys = ~both
    in_a = np.searchsorted(ua, ub).clip(0, max(len(ua) - 1, 0))
    only_b_keys = ~((len(ua) > 0) & (ua[in_a] == ub)) if len(ua) else np.ones(len(ub), dtype=np.bool_)
    out.only_a.extend(int(i) for i in ida[only_a_keys[inv_a]])
    out.only_b.extend(int(i) for i in idb[only_b_keys[inv_b]])
    pos_a = np.full(len(ua), -1, dtype=np.int64)
    pos_a[inv_a] = np.arange(len(ida))
    pos_b = np.full(len(ub), -1, dtype=np.int64)
    pos_b[inv_b] = np.arange(len(idb))
    sk = np.flatnonzero(single)
    xa = ida[pos_a[sk]]
    xb = idb[pos_b[in_b[sk]]]
    differ = da[xa] != db[xb]
    pairs = list(zip(xa[differ].tolist(), xb[differ].tolist(), strict=True))
    # Keys with several copies on a side: equal descriptions first, then ID order.
    for k in np.flatnonzero(both & ~single).tolist():
        la = sorted(int(i) for i in ida[inv_a == k])
        lb = sorted(int(i) for i in idb[inv_b == in_b[k]])
        for x in list(la):
            twin = next((y for y in lb if da[x] == db[y]), None)
            if twin is not None:
                la.remove(x)
                lb.remove(twin)
        pairs += list(zip(la, lb, strict=False))
        out.only_a += la[len(lb):]
        out.only_b += lb[len(la):]
    named_a, named_b = named_mask(fa), named_mask(fb)

    def opaque(x: int, y: int) -> bool | None:
        if named_a[x] or named_b[y] or x == 0 or y == 0 or fa.kind[x] != fb.kind[y]:
            return bool(ra[x] == rb[y])
        return True if ra[x] == rb[y] else None

    for x, y in sorted(pairs):
        divs = walk(a, x, b, y, first_only=False, opaque=opaque)
        out.changed.append(Changed(Kind(a.kind_of(x)), a.name(x) or kind_name(a, x), x, y, _changes(divs)))
    out.only_a.sort()
    out.only_b.sort()
    return out


def _changes(divs: list[Divergence]) -> list[Change]:
    return [Change(d.cls if len(d.differences) == 1 else dd.cls, [n.step for n in d.path[1:]], dd.detail)
            for d in divs for dd in d.differences]
