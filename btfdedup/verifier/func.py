"""check_meta for FUNC and FUNC_PROTO (``btf_func_check_meta``, ``btf_func_proto_check_meta``).

FUNC: identifier name, linkage (vlen) static or global — extern is rejected —
kind_flag 0.  FUNC_PROTO: enough bytes for its params, anonymous, kind_flag 0;
its parameters are checked in pass 2 (``btf_func_proto_check``, see resolve).
"""

from __future__ import annotations

import numpy as np

from btfdedup.format.constants import BTF_FUNC_GLOBAL
from btfdedup.verifier.meta import Finding, MetaContext, first_code, meta_left_reason


def check_func(ctx: MetaContext, idx: np.ndarray) -> list[Finding]:
    name_off = ctx.name_off[idx]
    code = first_code(
        (name_off == 0) | ~ctx.names.identifier(name_off),
        ctx.vlen[idx] > BTF_FUNC_GLOBAL,
        ctx.kflag[idx] != 0,
    )
    reasons = {1: "Invalid name", 2: "Invalid func linkage", 3: "Invalid btf_info kind_flag"}
    return [Finding(int(idx[j]), reasons[int(code[j])]) for j in np.flatnonzero(code)]


def check_func_proto(ctx: MetaContext, idx: np.ndarray) -> list[Finding]:
    code = first_code(ctx.truncated[idx], ctx.name_off[idx] != 0, ctx.kflag[idx] != 0)
    out = []
    for j in np.flatnonzero(code):
        i, c = int(idx[j]), int(code[j])
        reason = (
            meta_left_reason(ctx, i, 8 * int(ctx.vlen[i]))
            if c == 1
            else ("Invalid name", "Invalid btf_info kind_flag")[c - 2]
        )
        out.append(Finding(i, reason))
    return out
