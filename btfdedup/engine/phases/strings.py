"""Phase: strings (libbpf ``btf_dedup_strings``), skipped when ``strs_deduped``.

Invariant established: every string reference of the split part (types in ID order,
per type name_off then member/param/enumerator names; then .BTF.ext references) is
rewritten so that equal contents share one offset, and the new string blob holds
exactly the referenced contents in order of first reference.  Offsets 0 and offsets
below the split's start stay as they are; for split BTF, a content present in the base
chain maps to the base's first occurrence (libbpf ``btf__find_str``: only string
starts are indexed, the lowest offset wins); non-split blobs start with ``""``.

Implementation: the base chain's blobs and the own blob are one byte buffer indexed by
global offset.  One compiled pass indexes the base's string starts by content, then
walks the references in order, memoising the result per referenced offset, so each
distinct offset is hashed once and each distinct content compared once.  The content
index is sized for the string starts (kept at most half full, regrown when suffix
references add more), since on this VM-class hardware first-touching a
vmlinux-sized sparse table costs more than the whole walk.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from btfdedup.model.fields import STR_PER_VLEN, STR_STRIDE

_FNV_OFF = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True)
def _strlen(buf, o):  # type: ignore[no-untyped-def]
    e = o
    while buf[e] != 0:
        e += 1
    return e - o


@njit(cache=True, nogil=True)
def _hash(buf, o, n):  # type: ignore[no-untyped-def]
    h = _FNV_OFF
    for i in range(o, o + n):
        h = (h ^ np.uint64(buf[i])) * _FNV_PRIME
    return h


@njit(cache=True, nogil=True)
def _lookup_or_add(buf, hkeys, hsrc, hlen, hval, bits, o, n, val):  # type: ignore[no-untyped-def]
    """Value stored for the content ``buf[o:o+n]``; stores ``val`` when absent (and
    returns -1 - slot so the caller knows it was new)."""
    h = _hash(buf, o, n)
    mask = (1 << bits) - 1
    i = np.int64((h * _GOLDEN) >> np.uint64(64 - bits))
    while True:
        s = hsrc[i]
        if s < 0:
            hkeys[i] = h
            hsrc[i] = o
            hlen[i] = n
            hval[i] = val
            return -1
        if hkeys[i] == h and hlen[i] == n:
            same = True
            for j in range(n):
                if buf[s + j] != buf[o + j]:
                    same = False
                    break
            if same:
                return hval[i]
        i = (i + 1) & mask


@njit(cache=True, nogil=True)
def _regrow(buf, hkeys, hsrc, hlen, hval, bits):  # type: ignore[no-untyped-def]
    """The content index rebuilt at twice the capacity."""
    nb = bits + 1
    cap = 1 << nb
    nk = np.zeros(cap, dtype=np.uint64)
    ns = np.full(cap, -1, dtype=np.int32)
    nl = np.zeros(cap, dtype=np.int32)
    nv = np.zeros(cap, dtype=np.int32)
    mask = cap - 1
    for j in range(hsrc.shape[0]):
        if hsrc[j] < 0:
            continue
        i = np.int64((hkeys[j] * _GOLDEN) >> np.uint64(64 - nb))
        while ns[i] >= 0:
            i = (i + 1) & mask
        nk[i] = hkeys[j]
        ns[i] = hsrc[j]
        nl[i] = hlen[j]
        nv[i] = hval[j]
    return nk, ns, nl, nv, nb


@njit(cache=True, nogil=True)
def _remap_one(buf, o, start_off, memo, hkeys, hsrc, hlen, hval, bits, out_src, out_len, state):  # type: ignore[no-untyped-def]
    """New offset for the reference ``o``; ``state`` = [n_out, new_size, entries]."""
    if o == 0 or o < start_off:
        return o
    lo = o - start_off
    m = memo[lo]
    if m >= 0:
        return m
    n = _strlen(buf, o)
    r = _lookup_or_add(buf, hkeys, hsrc, hlen, hval, bits, o, n, start_off + state[1])
    if r < 0:
        out_src[state[0]] = o
        out_len[state[0]] = n
        state[0] += 1
        state[2] += 1
        m = start_off + state[1]
        state[1] += n + 1
    else:
        m = r
    memo[lo] = m
    return m


@njit(cache=True, nogil=True)
def _strings_pass(buf, start_off, is_split, W, ts, first_id, end_id, str_stride, str_per_vlen, ext_refs):  # type: ignore[no-untyped-def]
    n_buf = buf.shape[0]
    own_len = n_buf - start_off
    n_base = 0
    if is_split:
        o = 0
        while o < start_off:
            n_base += 1
            o += _strlen(buf, o) + 1
    n_refs = ext_refs.shape[0]
    for tid in range(first_id, end_id):
        p = ts[tid]
        n_refs += 1 + str_per_vlen[(W[p + 1] >> 24) & 0x7F] * (W[p + 1] & 0xFFFFFF)
    # distinct new contents <= distinct referenced own offsets; the index starts sized
    # for the base strings and the own string starts and regrows for suffix references
    n_new = min(own_len, n_refs) + 2
    n_own = 2
    for i in range(start_off, n_buf):
        if buf[i] == 0:
            n_own += 1
    bits = 4
    while (1 << bits) < 2 * (n_base + min(n_own, n_new) + 16):
        bits += 1
    cap = 1 << bits
    hkeys = np.zeros(cap, dtype=np.uint64)
    hsrc = np.full(cap, -1, dtype=np.int32)
    hlen = np.zeros(cap, dtype=np.int32)
    hval = np.zeros(cap, dtype=np.int32)
    if is_split:
        o = 0
        while o < start_off:
            n = _strlen(buf, o)
            _lookup_or_add(buf, hkeys, hsrc, hlen, hval, bits, o, n, o)
            o += n + 1
    out_src = np.empty(n_new, dtype=np.int64)
    out_len = np.empty(n_new, dtype=np.int64)
    state = np.zeros(3, dtype=np.int64)
    state[2] = n_base + 1
    if not is_split:
        _lookup_or_add(buf, hkeys, hsrc, hlen, hval, bits, 0, 0, 0)
        out_src[0] = 0
        out_len[0] = 0
        state[0] = 1
        state[1] = 1
    memo = np.full(max(own_len, 1), -1, dtype=np.int32)
    for tid in range(first_id, end_id):
        p = ts[tid]
        k = (W[p + 1] >> 24) & 0x7F
        cnt = str_per_vlen[k] * (W[p + 1] & 0xFFFFFF)
        if 2 * (state[2] + cnt + 1) > hsrc.shape[0]:
            while 2 * (state[2] + cnt + 1) > hsrc.shape[0]:
                hkeys, hsrc, hlen, hval, bits = _regrow(buf, hkeys, hsrc, hlen, hval, bits)
        stride = str_stride[k]
        q = p
        for j in range(cnt + 1):
            ro = np.int64(W[q])
            if ro != 0 and ro >= start_off:
                m = memo[ro - start_off]  # the common case, kept out of the call
                if m < 0:
                    m = _remap_one(buf, ro, start_off, memo, hkeys, hsrc, hlen, hval, bits, out_src, out_len, state)
                W[q] = m
            q = p + 3 + stride * j
    res = ext_refs.copy()
    for i in range(ext_refs.shape[0]):
        if 2 * (state[2] + 1) > hsrc.shape[0]:
            hkeys, hsrc, hlen, hval, bits = _regrow(buf, hkeys, hsrc, hlen, hval, bits)
        res[i] = _remap_one(buf, np.int64(ext_refs[i]), start_off, memo, hkeys, hsrc, hlen, hval, bits, out_src,
                            out_len, state)
    blob = np.zeros(state[1], dtype=np.uint8)
    w = 0
    for j in range(state[0]):
        s = out_src[j]
        n = out_len[j]
        for i in range(n):
            blob[w + i] = buf[s + i]
        w += n + 1
    return res, blob


def dedup_strings(buf: np.ndarray, start_off: int, is_split: bool, W: np.ndarray, ts: np.ndarray, first_id: int,
                  end_id: int, ext_refs: np.ndarray) -> tuple[np.ndarray, bytes]:
    """Rewrite, in place in ``W``, the string references of types ``first_id..end_id-1``
    (records at ``ts``), then rewrite ``ext_refs`` (uint32, .BTF.ext visiting order).

    ``buf`` is the whole string space by global offset (base chain blobs, then the
    own blob).  Returns the rewritten ext references and the new own string blob.
    """
    res, blob = _strings_pass(buf, np.int64(start_off), bool(is_split), W, ts, np.int64(first_id), np.int64(end_id),
                              STR_STRIDE, STR_PER_VLEN, np.ascontiguousarray(ext_refs, dtype=np.uint32))
    return res, blob.tobytes()
