"""check_meta for ENUM and ENUM64 (``btf_enum_check_meta``, ``btf_enum64_check_meta``).

Size a power of two up to 8, name empty or an identifier, every enumerator
named with a valid offset and an identifier.  kind_flag (signedness) is free.
"""

from __future__ import annotations

import numpy as np

from btfdedup.format.constants import Kind
from btfdedup.verifier.meta import Finding, MetaContext, first_code, first_element, meta_left_reason


def check_enum(ctx: MetaContext, idx: np.ndarray) -> list[Finding]:
    names = ctx.names
    size = ctx.size_type[idx]
    name_off = ctx.name_off[idx]
    pow2 = (size != 0) & ((size & (size - 1)) == 0)
    code = first_code(
        ctx.truncated[idx],
        (size > 8) | ~pow2,
        (name_off != 0) & ~names.identifier(name_off),
    )
    out: list[Finding] = []
    for j in np.flatnonzero(code):
        i, c = int(idx[j]), int(code[j])
        stride = 12 if ctx.kind[i] == Kind.ENUM64 else 8
        reason = (
            meta_left_reason(ctx, i, stride * int(ctx.vlen[i]))
            if c == 1
            else ("Unexpected size", "Invalid name")[c - 2]
        )
        out.append(Finding(i, reason))
    good = idx[code == 0]
    for kind, stride in ((Kind.ENUM, 2), (Kind.ENUM64, 3)):
        sel = good[ctx.kind[good] == kind]
        if not len(sel):
            continue
        owner, elem_i, pos = ctx.elements(sel, stride)
        v_name = ctx.words[pos].astype(np.int64)
        mcode = first_code(~names.valid_offset(v_name), (v_name == 0) | ~names.identifier(v_name))
        own, first = first_element(owner, mcode)
        for o, e in zip(own, first, strict=False):
            i = int(sel[o])
            if mcode[e] == 1:
                out.append(Finding(i, f"Invalid name_offset:{int(v_name[e])}", context=f"value #{int(elem_i[e])}"))
            else:
                out.append(Finding(i, "Invalid name", context=f"value #{int(elem_i[e])}"))
    out.sort(key=lambda f: f.local)
    return out
