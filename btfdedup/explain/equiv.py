"""Are two BTFs the same up to a renumbering of type IDs and string offsets?

The question is graph isomorphism of the two type graphs (types as nodes labelled
by their records with type IDs blanked and strings by content, type-ID fields as
edges numbered by their place in the record).  It is answered exactly:

1. colour refinement of both graphs together (:mod:`~btfdedup.explain.refine`,
   out- and in-edges), starting from the shallow labels; a colour class with
   different sizes in A and B proves them different, and the first round where
   that happens gives the witness;
2. classes left with several types on each side (types with the same structure
   and the same neighbours, e.g. duplicate copies) are split by individualization:
   one type of A and one of B in each such class get a colour of their own, and
   refinement runs again;
3. the bijection read off the final partition is **verified** word by word:
   every record of A equals its image's record once type IDs are mapped and
   strings compared by content.  Only a verified bijection says "equivalent".

If individualizing every ambiguous class at once does not yield a verified
bijection, an exact search takes over: one class at a time, its lowest A type is
paired with each B type of the class in turn (backtracking), and only a verified
bijection is accepted; when every choice fails the answer is "not equivalent".
After 200 individualizations without an answer it is reported as undecided (a
:class:`~btfdedup.errors.BtfError`, exit 2): that takes graphs built to defeat
refinement, which the type graphs of C programs are not.

Cost: numpy arrays over all types of both chains; a few tenths of a second for two
vmlinux-sized BTFs.  The witness walk decodes a handful of types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from btfdedup.errors import BtfError
from btfdedup.explain.flat import FlatTypes, flatten
from btfdedup.explain.labels import mix, name_labels, shallow_labels
from btfdedup.explain.naming import kind_name, with_id
from btfdedup.explain.refine import Refinement, UnionGraph, compact, refine, union
from btfdedup.explain.walk import first_divergence, render_path
from btfdedup.model import fields

if TYPE_CHECKING:
    import numpy as np

    from btfdedup.model.btf import Btf


@dataclass
class EquivResult:
    """The answer: ``a_to_b[id]`` is the B type ID of A's type ``id`` when equivalent
    (``a_to_b[0] == 0``), else None and ``witness`` says why not."""

    equivalent: bool
    a_to_b: np.ndarray | None
    witness: str
    rounds: int
    individualized: int = 0


def equivalence(a: Btf, b: Btf) -> EquivResult:
    """Decide whether ``a`` and ``b`` (with their base chains) are the same BTF up to
    renumbering (see the module doc).

    >>> import btfdedup
    >>> owner = btfdedup.load("corpora/bpf/fwd_owner.bpf.o")
    >>> r = btfdedup.equivalence(owner, btfdedup.load("corpora/bpf/fwd_owner.bpf.o"))
    >>> r.equivalent, r.a_to_b[:4].tolist()
    (True, [0, 1, 2, 3])
    >>> btfdedup.equivalence(owner, btfdedup.load("corpora/bpf/fwd_user.bpf.o")).witness
    "A [30] vs B [30]: DATASEC '.bss': entry 0: offset 0 size 32 vs offset 0 size 8 [datasec entries]"
    """
    import numpy as np

    fa, fb = flatten(a), flatten(b)
    g = union([fa, fb])
    na = fa.n

    def balanced(col: np.ndarray) -> bool:
        k = int(col.max()) + 1
        return bool(np.array_equal(np.bincount(col[:na], minlength=k), np.bincount(col[na:], minlength=k)))

    start = compact(np.concatenate([shallow_labels(fa), shallow_labels(fb)]))
    ref = refine(g, start, in_edges=True, balanced=balanced)
    if ref.bad_round >= 0:
        return EquivResult(False, None, _path_witness(g, start, fa, fb) or _witness(ref, fa, fb), ref.rounds)
    # Fast path: one pair of every ambiguous class individualized at once.
    colour, rounds, count = _individualize(g, ref.colour, na, balanced)
    if colour is not None:
        a_to_b = _bijection(colour, na)
        if verify(fa, fb, a_to_b) is None:
            return EquivResult(True, a_to_b, "", ref.rounds + rounds, count)
    # Exact path: one class at a time, every candidate image tried (backtracking).
    search = _Search(g, na, balanced, lambda col: verify(fa, fb, _bijection(col, na)) is None)
    found = search.run(ref.colour)
    if found is not None:
        return EquivResult(True, _bijection(found, na), "", ref.rounds + search.rounds, search.count)
    if search.exhausted:
        raise BtfError(f"{a.source or 'A'} vs {b.source or 'B'}: colour refinement left symmetric classes and "
                       f"{search.budget} individualizations did not settle them; equivalence undecided")
    return EquivResult(False, None, "colour refinement cannot tell A and B apart, but no choice of images "
                       "for the types it leaves ambiguous gives an isomorphism (exhaustive search)",
                       ref.rounds + search.rounds, search.count)


def _fresh_pair(colour: np.ndarray, a_node: int, b_node: int) -> np.ndarray:
    """``colour`` with ``a_node`` and ``b_node`` (union indices) given a new colour of their own."""
    out = colour.copy()
    fresh = int(colour.max()) + 1
    out[a_node] = fresh
    out[b_node] = fresh
    return out


class _Search:
    """Individualization-refinement with backtracking: the first class with several
    types per side has its lowest A type paired with each of the class's B types in
    turn, refined, and searched further; a discrete partition is accepted only when
    ``accept`` (the verification) says so.  At most ``budget`` refinements."""

    def __init__(self, g: UnionGraph, na: int, balanced: object, accept: object, budget: int = 200) -> None:
        self.g, self.na, self.balanced, self.accept = g, na, balanced, accept
        self.budget = budget
        self.rounds = self.count = 0
        self.exhausted = False

    def run(self, colour: np.ndarray) -> np.ndarray | None:
        import numpy as np

        na = self.na
        k = int(colour.max()) + 1
        ca = np.bincount(colour[:na], minlength=k)
        multi = np.flatnonzero(ca > 1)
        if len(multi) == 0:
            return colour if self.accept(colour) else None  # type: ignore[operator]
        c = int(multi[np.argmin(ca[multi])])  # the smallest ambiguous class branches least
        a_node = int(np.flatnonzero(colour[:na] == c)[0])
        for b_node in (na + np.flatnonzero(colour[na:] == c)).tolist():
            if self.count >= self.budget:
                self.exhausted = True
                return None
            self.count += 1
            r = refine(self.g, _fresh_pair(colour, a_node, b_node), in_edges=True, balanced=self.balanced)
            self.rounds += r.rounds
            if r.bad_round >= 0:
                continue
            found = self.run(r.colour)
            if found is not None or self.exhausted:
                return found
        return None


def _individualize(
    g: UnionGraph, colour: np.ndarray, na: int, balanced: object
) -> tuple[np.ndarray | None, int, int]:
    """Split the classes with several members per side, the lowest type of each side
    of every such class at once, until every class has one type of A and one of B;
    None when a split makes the sides unbalanced (then :class:`_Search` decides)."""
    import numpy as np

    rounds = count = 0
    while True:
        k = int(colour.max()) + 1
        ca = np.bincount(colour[:na], minlength=k)
        multi = np.flatnonzero(ca > 1)
        if len(multi) == 0:
            return colour, rounds, count
        # The lowest node of each chosen class on each side gets a fresh colour.
        big = np.iinfo(np.int64).max
        first_a = np.full(k, big, dtype=np.int64)
        np.minimum.at(first_a, colour[:na], np.arange(na, dtype=np.int64))
        first_b = np.full(k, big, dtype=np.int64)
        np.minimum.at(first_b, colour[na:], np.arange(na, g.n, dtype=np.int64))
        colour = colour.copy()
        fresh = k + np.arange(len(multi))
        colour[first_a[multi]] = fresh
        colour[first_b[multi]] = fresh
        r = refine(g, colour, in_edges=True, balanced=balanced)
        rounds += r.rounds
        count += len(multi)
        if r.bad_round >= 0:
            return None, rounds, count
        colour = r.colour


def _bijection(colour: np.ndarray, na: int) -> np.ndarray:
    import numpy as np

    ca, cb = colour[:na], colour[na:]
    b_of = np.full(int(colour.max()) + 1, -1, dtype=np.int64)
    b_of[cb] = np.arange(len(cb), dtype=np.int64)
    return b_of[ca]


def verify(fa: FlatTypes, fb: FlatTypes, a_to_b: np.ndarray) -> str | None:
    """None when ``a_to_b`` maps A's types one to one onto B's with every record equal
    (type IDs through the map, strings by content, every other word as is); else the
    first A type ID that breaks it and why."""
    import numpy as np

    if fa.n != fb.n:
        return f"A has {fa.n - 1} types, B {fb.n - 1}"
    if len(a_to_b) != fa.n or a_to_b.min() < 0 or len(np.unique(a_to_b)) != fa.n or a_to_b[0] != 0:
        return "the map is not a bijection fixing void"
    bad = np.flatnonzero((fa.rec_len != fb.rec_len[a_to_b]) | (fa.info != fb.info[a_to_b]))
    if len(bad):
        return f"type [{int(bad[0])}]: record length or info differs from B's [{int(a_to_b[bad[0]])}]"
    owner, j = fields.ragged(fa.rec_len)
    pos_a = fa.start[owner] + j
    pos_b = fb.start[a_to_b[owner]] + j
    cls_a = np.zeros(len(fa.words), dtype=np.uint8)
    cls_a[fa.tid_pos] = 1
    cls_a[fa.str_pos] = 2
    cls_b = np.zeros(len(fb.words), dtype=np.uint8)
    cls_b[fb.tid_pos] = 1
    cls_b[fb.str_pos] = 2
    ca = cls_a[pos_a]
    wa = fa.words[pos_a].astype(np.int64)
    wb = fb.words[pos_b].astype(np.int64)
    ok = ca == cls_b[pos_b]
    plain = ca == 0
    ok[plain] &= wa[plain] == wb[plain]
    tid = ca == 1
    ok[tid] &= a_to_b[wa[tid]] == wb[tid]
    strs = np.flatnonzero(ca == 2)
    ok[strs] &= _same_strings(fa.blob, wa[strs], fb.blob, wb[strs])
    bad = np.flatnonzero(~ok)
    if len(bad):
        t = int(owner[bad[0]])
        return f"type [{t}] word {int(j[bad[0]])} differs from B's [{int(a_to_b[t])}]"
    return None


def _same_strings(blob_a: bytes, off_a: np.ndarray, blob_b: bytes, off_b: np.ndarray) -> np.ndarray:
    """Exact content equality of the strings at each pair of offsets, vectorized."""
    import numpy as np

    pairs, inv = np.unique(np.stack([off_a, off_b], axis=1), axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    ua = np.frombuffer(blob_a, dtype=np.uint8)
    ub = np.frombuffer(blob_b, dtype=np.uint8)
    nul_a = np.flatnonzero(ua == 0)
    nul_b = np.flatnonzero(ub == 0)
    la = nul_a[np.searchsorted(nul_a, pairs[:, 0])] - pairs[:, 0]
    lb = nul_b[np.searchsorted(nul_b, pairs[:, 1])] - pairs[:, 1]
    same = la == lb
    idx = np.flatnonzero(same)
    owner, j = fields.ragged(la[idx])
    diff = ua[pairs[idx, 0][owner] + j] != ub[pairs[idx, 1][owner] + j]
    bad = np.unique(owner[diff])
    same[idx[bad]] = False
    return same[inv]


def _path_witness(g: UnionGraph, start: np.ndarray, fa: FlatTypes, fb: FlatTypes, tries: int = 20) -> str | None:
    """A path to a structural difference, from a named type that both sides hold once
    (same kind and name) but with different structure (colours of a refinement on
    out-edges only: equal exactly when everything reachable is the same); the shortest
    of the first ``tries`` such pairs.  None when no such pair exists (the difference
    is then in how many copies there are, or in who refers to what)."""
    import numpy as np

    na = fa.n
    oc = refine(g, start, in_edges=False).colour
    keys = []
    for f in (fa, fb):
        named = f.name_off != 0
        named[0] = False
        ids = np.flatnonzero(named)
        with np.errstate(over="ignore"):
            k = mix(name_labels(f)[ids] ^ mix(f.kind[ids].astype(np.uint64) + np.uint64(7)))
        uk, inv, cnt = np.unique(k, return_inverse=True, return_counts=True)
        once = cnt[inv.reshape(-1)] == 1
        keys.append((ids[once], k[once]))
    (ia, ka), (ib, kb) = keys
    common, xa, xb = np.intersect1d(ka, kb, assume_unique=True, return_indices=True)
    pa, pb = ia[xa], ib[xb]
    differ = oc[pa] != oc[na + pb]
    pa, pb = pa[differ], pb[differ]
    order = np.argsort(pa, kind="stable")[:tries]
    a, b = fa.btf, fb.btf

    def same(x: int, y: int) -> bool:
        return bool(oc[x] == oc[na + y])

    best = None
    for x, y in zip(pa[order].tolist(), pb[order].tolist(), strict=True):
        d = first_divergence(a, x, b, y, same=same)
        if d is not None and (best is None or len(d.path) < len(best[2].path)):
            best = (x, y, d)
    if best is None:
        return None
    x, y, d = best
    return f"A [{x}] vs B [{y}]: {d.render(a, b)}"


def _witness(ref: Refinement, fa: FlatTypes, fb: FlatTypes) -> str:
    """The first sign of difference the refinement met, as a path where one applies."""
    import numpy as np

    assert ref.bad_colour is not None and ref.prev_colour is not None
    na = fa.n
    col, prev = ref.bad_colour, ref.prev_colour
    k = int(col.max()) + 1
    ca = np.bincount(col[:na], minlength=k)
    cb = np.bincount(col[na:], minlength=k)
    bad = np.flatnonzero(ca != cb)
    # The bad class holding the lowest-numbered named type (A's IDs first), else the
    # lowest-numbered type: a name says more than an anonymous FUNC_PROTO.
    named = np.concatenate([fa.name_off != 0, fb.name_off != 0])
    named[0] = named[na] = False
    big = np.iinfo(np.int64).max
    nodes = np.arange(len(col), dtype=np.int64)
    first_node = np.full(k, big, dtype=np.int64)
    np.minimum.at(first_node, col, np.where(named, nodes, big // 2 + nodes))
    c = int(bad[np.argmin(first_node[bad])])
    ids_a = np.flatnonzero(col[:na] == c)
    ids_b = np.flatnonzero(col[na:] == c)
    a, b = fa.btf, fb.btf
    head = kind_name(a, int(ids_a[0])) if len(ids_a) else kind_name(b, int(ids_b[0]))
    listing = (f"{head}: {len(ids_a)} in A {_ids(ids_a)}, {len(ids_b)} in B {_ids(ids_b)}")
    if ref.bad_round > 0:
        # Same class one round before: the difference is one step further along.
        if len(ids_a) > len(ids_b):
            x = int(ids_a[0])
            peers = np.flatnonzero(prev[na:] == prev[x])
            y = int(peers[~np.isin(peers, ids_b)][0]) if len(peers) else -1
        else:
            y = int(ids_b[0])
            peers = np.flatnonzero(prev[:na] == prev[na + y])
            x = int(peers[~np.isin(peers, ids_a)][0]) if len(peers) else -1
        if x >= 0 and y >= 0:
            d = first_divergence(a, x, b, y)
            if d is not None:
                return f"A [{x}] vs B [{y}]: {d.render(a, b)}"
            return (f"A {with_id(a, x)} and B {with_id(b, y)} have the same structure but are referred to "
                    f"differently (A: from {_ids(_referrers(fa, x))}, B: from {_ids(_referrers(fb, y))})")
        return listing
    # Round 0: the records themselves differ, or one side has more copies.
    surplus, sb, ids = (a, fa, ids_a) if len(ids_a) > len(ids_b) else (b, fb, ids_b)
    if len(ids) >= 2 and first_divergence(surplus, int(ids[0]), surplus, int(ids[1])) is None:
        return f"{listing}; the first two copies in {'A' if surplus is a else 'B'} are structurally identical"
    return listing


def _referrers(f: FlatTypes, t: int) -> np.ndarray:
    import numpy as np

    return np.unique(f.src[f.dst == t])


def _ids(ids: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(i)) for i in ids[:limit])
    more = f", ... ({len(ids)} in all)" if len(ids) > limit else ""
    return f"[{shown}{more}]"


__all__ = ["EquivResult", "equivalence", "render_path", "verify"]
