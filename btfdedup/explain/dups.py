"""Duplicates: every (kind, name) held by more than one type, and why the copies differ.

For a BTF (and its base, when it is split), the named types are grouped by kind and
name with numpy (name contents, not offsets).  A group is reported when it has
several copies and at least one of them is the file's own (a split file is not
blamed for its base's duplicates).  Inside a group the copies are compared with
the group's first copy (the base copy when there is one, else the lowest ID):

* copies with the same *structure* (the same colour after refining the whole
  graph on out-edges, :mod:`~btfdedup.explain.refine`: same records all the way
  down, whatever the IDs) are **identical**: a merge the deduplicator missed,
  with the libbpf rule responsible when it is a known one (:mod:`~btfdedup.explain.rules`);
* otherwise the lockstep walk (:mod:`~btfdedup.explain.walk`) gives the shortest
  path from the named type to the first pair that differs, and the class of the
  difference.

Each copy also gets its *drag*: the types reachable from it that are not
reachable from the first copy, what keeping it costs.  Groups are sorted by the
sum of their copies' drag, largest first.

Cost: the grouping and the refinement are numpy passes over every type of the
chain; the walks and reachability sets run per reported copy, so a raw,
undeduplicated BTF (millions of copies) is best asked about with ``kind``/``name``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from btfdedup.explain.flat import FlatTypes, flatten
from btfdedup.explain.labels import mix, name_labels, shallow_labels
from btfdedup.explain.refine import compact, refine, union
from btfdedup.explain.rules import missed_rule
from btfdedup.explain.walk import FWD_VS_FULL, IDENTICAL, Difference, Divergence, Node, first_divergence
from btfdedup.format.constants import Kind

if TYPE_CHECKING:
    import numpy as np

    from btfdedup.model.btf import Btf


@dataclass
class CopyReport:
    """One copy compared with its group's first copy ``ref``."""

    type_id: int
    ref: int
    divergence: Divergence | None
    drag: int
    rule: str | None
    in_base: bool
    #: an earlier copy with the same structure, other than ``ref``
    same_as: int | None = None

    @property
    def identical(self) -> bool:
        return self.divergence is None

    @property
    def cls(self) -> str:
        return IDENTICAL if self.divergence is None else self.divergence.cls


@dataclass
class DupGroup:
    """All copies of one (kind, name), the first one first."""

    kind: Kind
    name: str
    copies: list[int]
    first_in_base: bool
    reports: list[CopyReport] = field(default_factory=list)

    @property
    def drag(self) -> int:
        return sum(r.drag for r in self.reports)


def structure_colours(flat: FlatTypes) -> np.ndarray:
    """A colour per type ID: equal colours mean the same records all the way down
    (out-edge colour refinement from the shallow labels)."""
    g = union([flat])
    return refine(g, compact(shallow_labels(flat)), in_edges=False).colour


class NameCounts:
    """How many types of some kinds hold each name (numpy: sorted name labels)."""

    def __init__(self, flat: FlatTypes, kinds: tuple[Kind, ...]) -> None:
        import numpy as np

        self.labels = name_labels(flat)
        sel = np.isin(flat.kind, [int(k) for k in kinds]) & (flat.name_off != 0)
        self.keys, self.counts = np.unique(self.labels[sel], return_counts=True)

    def of(self, type_id: int) -> int:
        """How many of those types have ``type_id``'s name."""
        import numpy as np

        i = int(np.searchsorted(self.keys, self.labels[type_id]))
        return int(self.counts[i]) if i < len(self.keys) and self.keys[i] == self.labels[type_id] else 0


def _fwd_facts(btf: Btf, flat: FlatTypes, div: Divergence | None, holders_of: NameCounts) -> tuple[int, bool]:
    """For a divergence ending on a FWD facing a full type: how many STRUCT/UNION types
    hold the FWD's name, and whether the FWD is a base type facing a split type."""
    if div is None or div.cls != FWD_VS_FULL:
        return 0, False
    end = div.path[-1]
    fwd, full = (end.a, end.b) if flat.kind[end.a] == Kind.FWD else (end.b, end.a)
    base_fwd = btf.is_split and fwd < btf.start_id <= full
    return holders_of.of(fwd), base_fwd


def find_duplicates(btf: Btf, *, kind: Kind | None = None, name: str | None = None) -> list[DupGroup]:
    """The duplicate groups of ``btf`` (see the module doc).  ``kind`` keeps one kind;
    ``name`` keeps the names it matches (exact, or a shell pattern with ``*?[``).

    >>> import btfdedup
    >>> user, owner = (btfdedup.load(f"corpora/bpf/fwd_{w}.bpf.o") for w in ("user", "owner"))
    >>> merged = btfdedup.merge([user, owner])                  # not deduplicated
    >>> (g,) = btfdedup.find_duplicates(merged, kind=btfdedup.Kind.STRUCT)
    >>> g.name, g.copies, g.reports[0].cls
    ('holder', [12, 56], 'FWD vs full type')
    >>> g.reports[0].divergence.render(merged, merged)
    "STRUCT 'holder' .state → PTR → FWD 'shared_state': FWD 'shared_state' vs STRUCT 'shared_state' [FWD vs full type]"
    """
    import numpy as np

    flat = flatten(btf)
    own_start = btf.start_id
    named = flat.name_off != 0
    named[0] = False
    if kind is not None:
        named &= flat.kind == int(kind)
    ids = np.flatnonzero(named)
    with np.errstate(over="ignore"):
        key = mix(name_labels(flat)[ids] ^ mix(flat.kind[ids].astype(np.uint64) + np.uint64(7)))
    order = np.argsort(key, kind="stable")
    ids, key = ids[order], key[order]
    if len(ids) == 0:
        return []
    cut = np.flatnonzero(np.r_[True, key[1:] != key[:-1], True])
    sizes = np.diff(cut)
    last = np.maximum.reduceat(ids, cut[:-1]) if len(ids) else ids
    keep = np.flatnonzero((sizes > 1) & (last >= own_start))
    if len(keep) == 0:
        return []
    colour = structure_colours(flat)
    holders_of = NameCounts(flat, (Kind.STRUCT, Kind.UNION))
    groups: list[DupGroup] = []
    for gi in keep.tolist():
        copies = sorted(int(i) for i in ids[cut[gi] : cut[gi + 1]])
        gname = btf.name(copies[0])
        if name is not None and not (gname == name or fnmatch.fnmatchcase(gname, name)):
            continue
        groups.append(_explain_group(btf, flat, colour, copies, own_start, holders_of))
    groups.sort(key=lambda g: (-g.drag, int(g.kind), g.name, g.copies[0]))
    return groups


def _explain_group(
    btf: Btf, flat: FlatTypes, colour: np.ndarray, copies: list[int], own_start: int, holders_of: NameCounts
) -> DupGroup:
    """Compare each copy with the first one."""
    import numpy as np

    ref = copies[0]
    group = DupGroup(Kind(int(flat.kind[ref])), btf.name(ref), copies, ref < own_start and btf.is_split)
    reach_ref = flat.reach([ref])
    by_colour: dict[int, tuple[int, Divergence | None]] = {int(colour[ref]): (ref, None)}

    def same(x: int, y: int) -> bool:
        return bool(colour[x] == colour[y])

    for c in copies[1:]:
        col = int(colour[c])
        div: Divergence | None
        seen = by_colour.get(col)
        if seen is None:
            d = first_divergence(btf, ref, btf, c, same=same)
            if d is None:
                # Colours differ but the walk found nothing it classes: say so, never "identical".
                d = Divergence([Node(ref, c, "", -1)], [Difference("structure", "records differ further down")])
            by_colour[col] = (c, d)
            same_as, div = None, d
        else:
            same_as = seen[0] if seen[0] != ref else None
            div = seen[1]
        drag = int(np.count_nonzero(flat.reach([c], stop=reach_ref)))
        in_base = c < own_start and btf.is_split
        cls = IDENTICAL if div is None else div.cls
        same_targets = bool(np.array_equal(flat.dst[flat.out_csr[ref]:flat.out_csr[ref + 1]],
                                           flat.dst[flat.out_csr[c]:flat.out_csr[c + 1]]))
        holders, base_fwd = _fwd_facts(btf, flat, div, holders_of)
        rule = missed_rule(int(group.kind), cls, group.first_in_base, in_base, same_targets, holders, base_fwd)
        group.reports.append(CopyReport(c, ref, div, drag, rule, in_base, same_as))
    return group
