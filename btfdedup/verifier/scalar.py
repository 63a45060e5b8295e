"""check_meta for INT and FLOAT (``btf_int_check_meta``, ``btf_float_check_meta``)."""

from __future__ import annotations

import numpy as np

from btfdedup.verifier.meta import Finding, MetaContext, first_code, meta_left_reason
from btfdedup.verifier.problem import ENOTSUPP

BTF_INT_MASK = 0x0FFFFFFF
BITS_PER_U128 = 128


def _roundup_bytes(bits: np.ndarray) -> np.ndarray:
    return (bits >> 3) + ((bits & 7) != 0)


def check_int(ctx: MetaContext, idx: np.ndarray) -> list[Finding]:
    """meta_left, vlen, kind_flag, reserved int_data bits, bits+offset <= 128 and <= size, one encoding."""
    trunc = ctx.truncated[idx]
    data = ctx.tail(idx, 0)
    nr_bits = (data & 0xFF) + ((data >> 16) & 0xFF)
    enc = (data >> 24) & 0x0F
    code = first_code(
        trunc,
        ctx.vlen[idx] != 0,
        ctx.kflag[idx] != 0,
        (data & ~BTF_INT_MASK & 0xFFFFFFFF) != 0,
        nr_bits > BITS_PER_U128,
        _roundup_bytes(nr_bits) > ctx.size_type[idx],
        (enc != 0) & (enc != 1) & (enc != 2) & (enc != 4),
    )
    out = []
    for j in np.flatnonzero(code):
        i, c = int(idx[j]), int(code[j])
        if c == 1:
            out.append(Finding(i, meta_left_reason(ctx, i, 4)))
        elif c == 7:
            out.append(Finding(i, "Unsupported encoding", ENOTSUPP))
        else:
            reason = {
                2: "vlen != 0",
                3: "Invalid btf_info kind_flag",
                4: f"Invalid int_data:{int(data[j]):x}",
                5: f"nr_bits exceeds {BITS_PER_U128}",
                6: "nr_bits exceeds type_size",
            }[c]
            out.append(Finding(i, reason))
    return out


def check_float(ctx: MetaContext, idx: np.ndarray) -> list[Finding]:
    """vlen, kind_flag, size in {2, 4, 8, 12, 16}."""
    size = ctx.size_type[idx]
    code = first_code(ctx.vlen[idx] != 0, ctx.kflag[idx] != 0, ~np.isin(size, (2, 4, 8, 12, 16)))
    reasons = {1: "vlen != 0", 2: "Invalid btf_info kind_flag", 3: "Invalid type_size"}
    return [Finding(int(idx[j]), reasons[int(code[j])]) for j in np.flatnonzero(code)]
