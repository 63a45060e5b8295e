"""DECL_TAG check_meta (``btf_decl_tag_check_meta``) and the type-tag chain rule (``btf_check_type_tags``).

DECL_TAG: enough bytes, a non-empty value, vlen 0, kind_flag 0 before 6.14
(attribute tags), component_idx >= -1.  The target rules are checked in pass 2.

Type tags: in every chain of modifiers (TYPEDEF/VOLATILE/CONST/RESTRICT/TYPE_TAG)
the TYPE_TAGs must come first, and a chain may not be longer than 32 links
(this also catches modifier cycles in split BTF, which pass 2 does not resolve).
"""

from __future__ import annotations

import errno as errno_mod

import numba
import numpy as np

from btfdedup.verifier.meta import Finding, MetaContext, first_code, meta_left_reason


def check_decl_tag(ctx: MetaContext, idx: np.ndarray) -> list[Finding]:
    idx_word = ctx.tail(idx, 0)
    comp = np.where(idx_word >= 0x80000000, idx_word - (1 << 32), idx_word)
    kflag_bad = (ctx.kflag[idx] != 0) if not ctx.rules.decl_tag_kflag else np.zeros(len(idx), dtype=bool)
    code = first_code(
        ctx.truncated[idx],
        ~ctx.names.nonempty(ctx.name_off[idx]),
        ctx.vlen[idx] != 0,
        kflag_bad,
        comp < -1,
    )
    reasons = {2: "Invalid value", 3: "vlen != 0", 4: "Invalid btf_info kind_flag", 5: "Invalid component_idx"}
    out = []
    for j in np.flatnonzero(code):
        i, c = int(idx[j]), int(code[j])
        out.append(Finding(i, meta_left_reason(ctx, i, 4) if c == 1 else reasons[c]))
    return out


TAGS_OK = 0
TAGS_CHAIN = 1  # "Max chain length or cycle detected" (-ELOOP)
TAGS_ORDER = 2  # "Type tags don't precede modifiers"
TAGS_MISSING = 3  # a chain reaches a type ID that does not exist (-EINVAL, no log)


@numba.njit(cache=True)
def _is_modifier(k: int) -> bool:
    return k == 8 or k == 9 or k == 10 or k == 11 or k == 18


@numba.njit(cache=True)
def type_tag_chains(kind: np.ndarray, ref: np.ndarray, start_id: int, stop_at_first: bool) -> np.ndarray:
    """Failing type IDs with their code as rows (id, code), in ID order.

    ``kind``/``ref`` are indexed by global type ID (0 = void) over the whole chain.
    """
    n = len(kind)
    out = np.empty((n, 2), dtype=np.int64)
    cnt = 0
    good_id = start_id - 1
    for i in range(start_id, n):
        if not _is_modifier(kind[i]):
            continue
        in_tags = kind[i] == 18
        limit = 32
        cur = i
        code = TAGS_OK
        while _is_modifier(kind[cur]):
            if limit == 0:
                code = TAGS_CHAIN
                break
            limit -= 1
            if kind[cur] == 18:
                if not in_tags:
                    code = TAGS_ORDER
                    break
            elif in_tags:
                in_tags = False
            if cur <= good_id:
                break
            cur = ref[cur]
            if cur >= n:
                code = TAGS_MISSING
                break
        if code != TAGS_OK:
            out[cnt, 0] = i
            out[cnt, 1] = code
            cnt += 1
            if stop_at_first:
                break
            continue
        good_id = i
    return out[:cnt]


TAG_REASONS = {
    TAGS_CHAIN: ("Max chain length or cycle detected", errno_mod.ELOOP),
    TAGS_ORDER: ("Type tags don't precede modifiers", errno_mod.EINVAL),
    TAGS_MISSING: ("modifier chain reaches a type ID that does not exist", errno_mod.EINVAL),
}
