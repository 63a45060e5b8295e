"""check_meta for STRUCT and UNION (``btf_struct_check_meta``).

Type: enough bytes for vlen members, name empty or an identifier.  Members in
order: name offset valid, name empty or identifier, type non-void and in range,
union members at bit 0, bit offsets non-decreasing, offset (rounded up to bytes)
inside the struct size.  With kind_flag the offset word is bitfield_size<<24 |
bit_offset.
"""

from __future__ import annotations

import numpy as np

from btfdedup.format.constants import BTF_MAX_TYPE, Kind
from btfdedup.verifier.meta import Finding, MetaContext, first_code, first_element, meta_left_reason


def check_struct(ctx: MetaContext, idx: np.ndarray) -> list[Finding]:
    names = ctx.names
    name_off = ctx.name_off[idx]
    code = first_code(ctx.truncated[idx], (name_off != 0) & ~names.identifier(name_off))
    out: list[Finding] = []
    for j in np.flatnonzero(code):
        i = int(idx[j])
        out.append(Finding(i, meta_left_reason(ctx, i, 12 * int(ctx.vlen[i])) if code[j] == 1 else "Invalid name"))
    good = idx[code == 0]
    if not len(good):
        return out
    owner, elem_i, pos = ctx.elements(good, 3)
    w = ctx.words
    m_name = w[pos].astype(np.int64)
    m_type = w[pos + 1].astype(np.int64)
    m_off = w[pos + 2].astype(np.int64)
    kflag = ctx.kflag[good][owner]
    bit_off = np.where(kflag != 0, m_off & 0xFFFFFF, m_off)
    is_union = ctx.kind[good][owner] == Kind.UNION
    prev = np.zeros_like(bit_off)
    if len(bit_off) > 1:
        prev[1:] = bit_off[:-1]
    prev[elem_i == 0] = 0
    size = ctx.size_type[good][owner]
    valid_off = names.valid_offset(m_name)
    mcode = first_code(
        ~valid_off,
        (m_name != 0) & ~names.identifier(m_name),
        (m_type == 0) | (m_type > BTF_MAX_TYPE),
        is_union & (bit_off != 0),
        prev > bit_off,
        ((bit_off >> 3) + ((bit_off & 7) != 0)) > size,
    )
    reasons = {
        2: "Invalid name",
        3: "Invalid type_id",
        4: "Invalid member bits_offset",
        5: "Invalid member bits_offset",
        6: "Member bits_offset exceeds its struct size",
    }
    own, first = first_element(owner, mcode)
    for o, e in zip(own, first, strict=False):
        i = int(good[o])
        c = int(mcode[e])
        reason = f"Invalid member name_offset:{int(m_name[e])}" if c == 1 else reasons[c]
        mname = names.text(int(m_name[e])) if c != 1 and m_name[e] else None
        out.append(Finding(i, reason, context=_member_ctx(int(elem_i[e]), mname)))
    return out


def _member_ctx(i: int, name: str | None) -> str:
    return f"member #{i} '{name}'" if name else f"member #{i}"
