"""check_meta for PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG and FWD.

``btf_ref_type_check_meta``: vlen 0, kind_flag 0 (TYPE_TAG may set it from
6.14: attribute tags), type ID in range, and the name rule of the kind:
TYPEDEF a C identifier, TYPE_TAG any non-empty string, the others anonymous.
``btf_fwd_check_meta``: vlen 0, type 0, identifier name.
"""

from __future__ import annotations

import numpy as np

from btfdedup.format.constants import BTF_MAX_TYPE, Kind
from btfdedup.verifier.meta import Finding, MetaContext, first_code


def check_ref(ctx: MetaContext, idx: np.ndarray) -> list[Finding]:
    kind = ctx.kind[idx]
    name_off = ctx.name_off[idx]
    names = ctx.names
    kflag_bad = ctx.kflag[idx] != 0
    if ctx.rules.type_tag_kflag:
        kflag_bad &= kind != Kind.TYPE_TAG
    ident = names.identifier(name_off)
    nonempty = names.nonempty(name_off)
    name_bad = np.where(
        kind == Kind.TYPEDEF,
        (name_off == 0) | ~ident,
        np.where(kind == Kind.TYPE_TAG, ~nonempty, name_off != 0),
    )
    code = first_code(ctx.vlen[idx] != 0, kflag_bad, ctx.size_type[idx] > BTF_MAX_TYPE, name_bad)
    reasons = {1: "vlen != 0", 2: "Invalid btf_info kind_flag", 3: "Invalid type_id", 4: "Invalid name"}
    return [Finding(int(idx[j]), reasons[int(code[j])]) for j in np.flatnonzero(code)]


def check_fwd(ctx: MetaContext, idx: np.ndarray) -> list[Finding]:
    name_off = ctx.name_off[idx]
    code = first_code(
        ctx.vlen[idx] != 0,
        ctx.size_type[idx] != 0,
        (name_off == 0) | ~ctx.names.identifier(name_off),
    )
    reasons = {1: "vlen != 0", 2: "type != 0", 3: "Invalid name"}
    return [Finding(int(idx[j]), reasons[int(code[j])]) for j in np.flatnonzero(code)]
