"""check_meta for VAR and DATASEC (``btf_var_check_meta``, ``btf_datasec_check_meta``).

VAR: vlen/kind_flag 0, identifier name, non-void type, linkage static or
global-allocated (extern is rejected).  DATASEC: size non-zero, kind_flag 0, a
section name; entries in order: non-void type, offset at or past the previous
entry's end and inside the section, 0 < size <= section size, end inside the
section; finally the entry sizes must not sum past the section size.
"""

from __future__ import annotations

import numpy as np

from btfdedup.format.constants import BTF_MAX_TYPE
from btfdedup.verifier.meta import Finding, MetaContext, first_code, first_element, meta_left_reason


def check_var(ctx: MetaContext, idx: np.ndarray) -> list[Finding]:
    name_off = ctx.name_off[idx]
    t = ctx.size_type[idx]
    linkage = ctx.tail(idx, 0)
    code = first_code(
        ctx.truncated[idx],
        ctx.vlen[idx] != 0,
        ctx.kflag[idx] != 0,
        (name_off == 0) | ~ctx.names.identifier(name_off),
        (t == 0) | (t > BTF_MAX_TYPE),
        (linkage != 0) & (linkage != 1),
    )
    reasons = {
        2: "vlen != 0",
        3: "Invalid btf_info kind_flag",
        4: "Invalid name",
        5: "Invalid type_id",
        6: "Linkage not supported",
    }
    out = []
    for j in np.flatnonzero(code):
        i, c = int(idx[j]), int(code[j])
        out.append(Finding(i, meta_left_reason(ctx, i, 4) if c == 1 else reasons[c]))
    return out


def check_datasec(ctx: MetaContext, idx: np.ndarray) -> list[Finding]:
    name_off = ctx.name_off[idx]
    code = first_code(
        ctx.truncated[idx],
        ctx.size_type[idx] == 0,
        ctx.kflag[idx] != 0,
        (name_off == 0) | ~ctx.names.section(name_off),
    )
    out: list[Finding] = []
    for j in np.flatnonzero(code):
        i, c = int(idx[j]), int(code[j])
        reason = (
            meta_left_reason(ctx, i, 12 * int(ctx.vlen[i]))
            if c == 1
            else ("size == 0", "Invalid btf_info kind_flag", "Invalid name")[c - 2]
        )
        out.append(Finding(i, reason))
    good = idx[code == 0]
    if not len(good):
        return out
    owner, elem_i, pos = ctx.elements(good, 3)
    w = ctx.words
    v_type = w[pos].astype(np.int64)
    v_off = w[pos + 1].astype(np.int64)
    v_size = w[pos + 2].astype(np.int64)
    sec_size = ctx.size_type[good][owner]
    prev_end = np.zeros_like(v_off)
    if len(v_off) > 1:
        prev_end[1:] = (v_off + v_size)[:-1]
    prev_end[elem_i == 0] = 0
    mcode = first_code(
        (v_type == 0) | (v_type > BTF_MAX_TYPE),
        (v_off < prev_end) | (v_off >= sec_size),
        (v_size == 0) | (v_size > sec_size),
        v_off + v_size > sec_size,
    )
    reasons = {1: "Invalid type_id", 2: "Invalid offset", 3: "Invalid size", 4: "Invalid offset+size"}
    own, first = first_element(owner, mcode)
    failed = set()
    for o, e in zip(own, first, strict=False):
        failed.add(int(o))
        out.append(
            Finding(int(good[o]), reasons[int(mcode[e])], context=f"entry #{int(elem_i[e])} type_id={int(v_type[e])}")
        )
    sums = np.bincount(owner, weights=v_size, minlength=len(good)) if len(owner) else np.zeros(len(good))
    for o in np.flatnonzero(sums > ctx.size_type[good]):
        if int(o) not in failed:
            out.append(Finding(int(good[o]), "Invalid btf_info size"))
    out.sort(key=lambda f: f.local)
    return out
