"""check_meta for ARRAY (``btf_array_check_meta``): anonymous, vlen/kind_flag/size 0, elem and index set."""

from __future__ import annotations

import numpy as np

from btfdedup.format.constants import BTF_MAX_TYPE
from btfdedup.verifier.meta import Finding, MetaContext, first_code, meta_left_reason


def check_array(ctx: MetaContext, idx: np.ndarray) -> list[Finding]:
    trunc = ctx.truncated[idx]
    elem = ctx.tail(idx, 0)
    index = ctx.tail(idx, 1)
    code = first_code(
        trunc,
        ctx.name_off[idx] != 0,
        ctx.vlen[idx] != 0,
        ctx.kflag[idx] != 0,
        ctx.size_type[idx] != 0,
        (elem == 0) | (elem > BTF_MAX_TYPE),
        (index == 0) | (index > BTF_MAX_TYPE),
    )
    reasons = {
        2: "Invalid name",
        3: "vlen != 0",
        4: "Invalid btf_info kind_flag",
        5: "size != 0",
        6: "Invalid elem",
        7: "Invalid index",
    }
    out = []
    for j in np.flatnonzero(code):
        i, c = int(idx[j]), int(code[j])
        out.append(Finding(i, meta_left_reason(ctx, i, 12) if c == 1 else reasons[c]))
    return out
