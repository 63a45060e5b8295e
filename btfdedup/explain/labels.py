"""Vectorized 64-bit labels of strings and types.

* :func:`string_labels`: a label per string *content*, for any set of global string
  offsets (a polynomial hash over the chain's string blob, computed with prefix
  sums, so suffix offsets work too);
* :func:`shallow_labels`: a label per type of its record with every type-ID field
  blanked and every string offset replaced by its content label: two types have
  equal shallow labels when they are equal apart from the types they refer to,
  whatever their IDs and string offsets;
* :func:`combine_targets`: a type's label combined with the labels of the types its
  fields refer to, in field order, the step of colour refinement and of
  :func:`reference_labels`;
* :func:`reference_labels`: the label of a type as C names it where it is used
  (``struct foo``, ``int``, ``const char *``): named types by kind and name,
  anonymous ones by their whole anonymous structure.

Labels are hashes (splitmix64 finalizer, arithmetic modulo 2**64): equal inputs
give equal labels in any BTF, and distinct inputs collide with probability about
2**-64 per pair.  Whoever needs an exact answer verifies it (``equiv``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from btfdedup.format.constants import Kind

if TYPE_CHECKING:
    import numpy as np

    from btfdedup.explain.flat import FlatTypes

#: The odd multiplier of the string hash and its inverse modulo 2**64.
_P = 0x100000001B3
_P_INV = pow(_P, -1, 1 << 64)
#: The label of void, and the salt that marks "a type-ID field" in a record.
VOID_LABEL = 0x6A09E667F3BCC909
_TID_SALT = 0xBB67AE8584CAA73B


def mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer on a uint64 array (wrapping arithmetic)."""
    import numpy as np

    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return x


def _powers(base: int, n: int) -> np.ndarray:
    """``base ** i`` modulo 2**64 for ``i < n``."""
    import numpy as np

    out = np.full(max(n, 1), base, dtype=np.uint64)
    out[0] = 1
    with np.errstate(over="ignore"):
        return np.cumprod(out, dtype=np.uint64)[:n]


class StringHasher:
    """Content labels of the strings of one blob: the prefix sums are computed once
    (a few tens of ms for a vmlinux's 2 MB of strings), each query is a gather."""

    def __init__(self, blob: bytes) -> None:
        import numpy as np

        u = np.frombuffer(blob, dtype=np.uint8)
        self.nuls = np.flatnonzero(u == 0)
        with np.errstate(over="ignore"):
            # prefix[i] = sum_{k < i} (u[k] + 1) * P**k; the string at [o, e) is
            # (prefix[e] - prefix[o]) * P**-o, independent of where it sits.
            self.prefix = np.zeros(len(u) + 1, dtype=np.uint64)
            np.cumsum((u.astype(np.uint64) + np.uint64(1)) * _powers(_P, len(u)), dtype=np.uint64, out=self.prefix[1:])
        self.inv_powers = _powers(_P_INV, len(u) + 1)

    def labels(self, offsets: np.ndarray) -> np.ndarray:
        """The content label of the NUL-terminated string at each of ``offsets``."""
        import numpy as np

        offsets = np.asarray(offsets, dtype=np.int64)
        ends = self.nuls[np.searchsorted(self.nuls, offsets)]
        with np.errstate(over="ignore"):
            h = (self.prefix[ends] - self.prefix[offsets]) * self.inv_powers[offsets]
            return mix(h ^ mix((ends - offsets).astype(np.uint64)))


def string_labels(blob: bytes, offsets: np.ndarray) -> np.ndarray:
    """The content label of the NUL-terminated string at each of ``offsets`` in ``blob``."""
    return StringHasher(blob).labels(offsets)


def _segment_sum(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Sum (modulo 2**64) of ``values`` per ``owner`` (``owner`` sorted), ``n`` rows."""
    import numpy as np

    out = np.zeros(n, dtype=np.uint64)
    if len(values) == 0:
        return out
    first = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    with np.errstate(over="ignore"):
        out[owner[first]] = np.add.reduceat(values, first, dtype=np.uint64)
    return out


def shallow_labels(flat: FlatTypes) -> np.ndarray:
    """One label per type ID (see the module doc); void gets :data:`VOID_LABEL`."""
    import numpy as np

    w = flat.words.astype(np.uint64)
    w[flat.tid_pos] = np.uint64(_TID_SALT)
    w[flat.str_pos] = flat.strings.labels(flat.words[flat.str_pos].astype(np.int64))
    rec_len = flat.rec_len
    owner = np.repeat(np.arange(flat.n, dtype=np.int64), rec_len)
    within = np.arange(len(w), dtype=np.int64) - flat.start[owner]
    with np.errstate(over="ignore"):
        terms = mix(w * np.uint64(0x9E3779B97F4A7C15) + within.astype(np.uint64))
        out = mix(_segment_sum(terms, owner, flat.n) ^ rec_len.astype(np.uint64))
    out[0] = np.uint64(VOID_LABEL)
    return out


def combine_targets(flat: FlatTypes, own: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``own`` (a label per type ID) combined with ``target[dst]`` of each type-ID field,
    position by position (the fields' order counts)."""
    import numpy as np

    with np.errstate(over="ignore"):
        terms = mix(target[flat.dst] + flat.pos.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
        return mix(own ^ (_segment_sum(terms, flat.src, flat.n) * np.uint64(3)))


#: Kinds a C declaration names by kind and name when they have a name.
_NAMED_KINDS = (Kind.INT, Kind.FLOAT, Kind.STRUCT, Kind.UNION, Kind.ENUM, Kind.ENUM64, Kind.FWD, Kind.TYPEDEF,
                Kind.FUNC, Kind.VAR, Kind.DATASEC)


def c_kind_class(flat: FlatTypes) -> np.ndarray:
    """The kind as C sees it where the type is used: a struct FWD is ``struct``, a union
    FWD ``union``, ENUM64 ``enum`` (so a member pointing at a FWD of what the other
    BTF defines is not a change of the member)."""
    import numpy as np

    k = flat.kind.astype(np.int64).copy()
    kflag = flat.info >> 31
    fwd = k == int(Kind.FWD)
    k[fwd & (kflag == 0)] = int(Kind.STRUCT)
    k[fwd & (kflag == 1)] = int(Kind.UNION)
    k[k == int(Kind.ENUM64)] = int(Kind.ENUM)
    k[0] = 0
    return k


def named_mask(flat: FlatTypes) -> np.ndarray:
    """True for the types C refers to by name: a named kind with a non-empty name."""
    import numpy as np

    return np.isin(flat.kind, [int(x) for x in _NAMED_KINDS]) & (flat.name_off != 0)


def name_labels(flat: FlatTypes) -> np.ndarray:
    """The content label of each type's name (0 for void)."""
    import numpy as np

    out = flat.strings.labels(flat.name_off)
    out[0] = np.uint64(0)
    return out


def reference_labels(flat: FlatTypes, shallow: np.ndarray, max_rounds: int = 64) -> np.ndarray:
    """The label of each type as a use site sees it (see the module doc).

    Named types: their C kind class and name.  The others: their shallow label
    combined with their targets' reference labels, iterated until nothing changes
    (the depth of the deepest anonymous chain), or ``max_rounds`` for a cycle made of
    anonymous types only, which C cannot write.
    """
    import numpy as np

    named = named_mask(flat)
    with np.errstate(over="ignore"):
        fixed = mix(name_labels(flat) ^ mix(c_kind_class(flat).astype(np.uint64) + np.uint64(0x3C6EF372FE94F82B)))
    label = np.where(named, fixed, shallow)
    label[0] = np.uint64(VOID_LABEL)
    for _ in range(max_rounds):
        new = np.where(named, fixed, combine_targets(flat, shallow, label))
        new[0] = np.uint64(VOID_LABEL)
        if np.array_equal(new, label):
            break
        label = new
    return label
