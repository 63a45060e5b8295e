"""Which libbpf dedup rule leaves a known kind of duplicate behind.

``dups`` calls :func:`missed_rule` for each pair of copies it explains; the answer
is a one-line account naming the libbpf version and rule, or None when the pattern
is not one of the known ones (the report then gives the structural facts only).
The rules are those of the dedup specification (``btf__dedup`` phases) and of the
libbpf 1.7 / master history.
"""

from __future__ import annotations

from btfdedup.explain.walk import FWD_VS_FULL, IDENTICAL
from btfdedup.format.constants import Kind

#: libbpf v1.7.0 (commit 37027144): split TYPEDEFs are deduplicated in the struct phase
#: under a key of name and info only, while the prep phase still keys base TYPEDEFs with
#: the target type too: a base typedef is never a candidate (fixed on master by 5b0f3729).
TYPEDEF_SPLIT_V17 = (
    "libbpf v1.7.0 (37027144) looks split TYPEDEFs up by name and info only, but its prep phase keys base "
    "TYPEDEFs by name, info and target, so a base typedef is never a candidate; fixed on master (5b0f3729)"
)
#: The FWD resolution pass (``btf_dedup_resolve_fwds``) gives up on a name held by more
#: than one canonical STRUCT/UNION.
AMBIGUOUS_FWD = (
    "libbpf resolves a FWD by name only when exactly one canonical STRUCT/UNION has that name "
    "(btf_dedup_resolve_fwds); this name has several"
)
#: A split type pointing into the base through a base FWD that would have to become the split struct.
BASE_FWD = (
    "libbpf keeps a split type whose equivalence needs a base FWD to resolve to a split STRUCT/UNION "
    "(hypot_adjust_canon): the base is never changed"
)


#: An identical copy whose referred types are themselves unmerged copies: it follows from those.
FOLLOWS = ("the types it refers to are themselves unmerged copies (anonymous ones included), and dedup merges "
           "a referring type only into a twin that refers to the same (merged) types")


def missed_rule(
    kind: int,
    cls: str,
    a_in_base: bool,
    b_in_base: bool,
    same_targets: bool = True,
    fwd_holders: int = 0,
    base_fwd: bool = False,
) -> str | None:
    """The libbpf rule behind a pair of copies of one (kind, name), when known.

    ``cls`` is the pair's class (:data:`~btfdedup.explain.walk.IDENTICAL` or the class
    of their first divergence); ``a_in_base``/``b_in_base`` say where the copies live;
    ``same_targets`` whether the two copies' type-ID fields hold the very same IDs.
    For a FWD-vs-full divergence, ``fwd_holders`` is how many STRUCT/UNION types hold
    the FWD's name and ``base_fwd`` whether the FWD is a base type facing a split one.

    An identical TYPEDEF in split BTF pointing at the same target as its base twin is
    the v1.7.0 rule: any earlier or later libbpf merges it.  An identical copy whose
    fields point elsewhere follows from those types' own copies.
    """
    if cls == IDENTICAL and not same_targets and kind in (Kind.TYPEDEF, Kind.FUNC, Kind.VAR):
        return FOLLOWS
    if cls == IDENTICAL and kind == Kind.TYPEDEF and a_in_base != b_in_base:
        return TYPEDEF_SPLIT_V17
    if cls == FWD_VS_FULL:
        if base_fwd:
            return BASE_FWD
        if fwd_holders > 1:
            return AMBIGUOUS_FWD
    return None
