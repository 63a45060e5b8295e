# cython: language_level=3
"""Per-kind dedup hash keys: the compiled per-record form and its numpy closed form.

libbpf hashes with ``combine(h, v) = h * 31 + v`` (mod 2**64) from 0, so a key is a
polynomial in 31 over the hashed fields.  Written out, a struct's key is
``H_common * 31**(2v) + sum_i (name_i * 31**(2(v-1-i)+1) + offset_i * 31**(2(v-1-i)))``,
which numpy evaluates for every struct at once with wrapping uint64 arithmetic and a
cumulative-sum segment reduction (:func:`static_keys_numpy`).  The production path is
``record_key`` (``hashing.pxd``), the same per-record formula compiled, which the phases
call for the records they actually process (the prep loop for base types, the primitive
and struct loops for split types); it avoids the dozen 20-million-element temporaries
the closed form needs on vmlinux-sized input and a key column for all types.
:func:`static_keys` applies it to many records at once; tests check it agrees with the
numpy form.  The keys here are the *static* ones: those whose fields do not change
during dedup (prep's base keys, primitive keys, struct/union keys, and for base types
the array / func-proto keys over their stored IDs).  Keys of split reference types
depend on IDs rewritten during the reference phase and are computed there, with
``graph.pxd``'s ``combine``.

Formulas per kind (fields combined in order):

========================  ==========================================================
H_common                  name_off, info, size_or_type (CONST, VOLATILE, RESTRICT, PTR,
                          FWD, TYPEDEF, FUNC, FLOAT, TYPE_TAG — v1.6 and v1.7.0 prep
                          hash base typedefs with H_common)
H_typedef                 name_off, info (TYPEDEF in the struct phase of v1.7.0 and
                          later, and base typedefs in master's prep: ``typedef_key``)
H_int_tag                 H_common, the word after the header (INT, DECL_TAG)
H_enum                    name_off only (ENUM, ENUM64: enum forwards share the key)
H_struct                  H_common, then per member name_off and offset
H_array                   H_common, elem type, index type, nelems
H_fnproto                 H_common, then per param name_off and type
========================  ==========================================================
"""

from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t

import numpy as np

from btfdedup.format.constants import VLEN_MASK as _VLEN_MASK
from btfdedup.format.constants import Kind

_U31 = np.uint64(31)


def _pow31(n: int) -> np.ndarray:
    """31**k mod 2**64 for k in 0..n-1."""
    p = np.full(max(n, 1), 31, dtype=np.uint64)
    p[0] = 1
    return np.cumprod(p, dtype=np.uint64)


def _tail_poly(W: np.ndarray, pos: np.ndarray, vlen: np.ndarray, stride: int, second: int) -> tuple:
    """For records at ``pos`` with ``vlen`` elements of ``stride`` words, the polynomial
    contribution of the (word 0, word ``second``) pairs of their elements, and 31**(2 vlen)."""
    vlen = vlen.astype(np.int64)
    total = int(vlen.sum())
    pw = _pow31(2 * int(vlen.max(initial=0)) + 2)
    if total == 0:
        return np.zeros(len(pos), dtype=np.uint64), pw[2 * vlen]
    owner = np.repeat(np.arange(len(pos), dtype=np.int64), vlen)
    first = np.cumsum(vlen) - vlen
    j = np.arange(total, dtype=np.int64) - first[owner]
    e = vlen[owner] - 1 - j
    q = pos[owner] + 3 + stride * j
    terms = W[q].astype(np.uint64) * pw[2 * e + 1] + W[q + second].astype(np.uint64) * pw[2 * e]
    cs = np.cumsum(terms, dtype=np.uint64)
    end = first + vlen
    hi = np.where(vlen > 0, cs[np.maximum(end - 1, 0)], np.uint64(0))
    lo = np.where((first > 0) & (vlen > 0), cs[np.maximum(first - 1, 0)], np.uint64(0))
    return hi - lo, pw[2 * vlen]


def static_keys_numpy(W: np.ndarray, pos: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """numpy formulation of :func:`static_keys` (the closed polynomial form): static hash
    key of each record at word offset ``pos`` (kinds given); 0 for kinds that have none
    (VAR, DATASEC, unknown)."""
    pos = pos.astype(np.int64)
    kinds = kinds.astype(np.int64)
    n0 = W[pos].astype(np.uint64)
    info = W[pos + 1].astype(np.uint64)
    st = W[pos + 2].astype(np.uint64)
    hc = (n0 * _U31 + info) * _U31 + st
    out = np.zeros(len(pos), dtype=np.uint64)

    common = np.isin(kinds, [Kind.CONST, Kind.VOLATILE, Kind.RESTRICT, Kind.PTR, Kind.FWD, Kind.TYPEDEF,
                             Kind.FUNC, Kind.FLOAT, Kind.TYPE_TAG])
    out[common] = hc[common]
    sel = (kinds == Kind.INT) | (kinds == Kind.DECL_TAG)
    if sel.any():
        out[sel] = hc[sel] * _U31 + W[pos[sel] + 3].astype(np.uint64)
    sel = (kinds == Kind.ENUM) | (kinds == Kind.ENUM64)
    out[sel] = n0[sel]
    sel = kinds == Kind.ARRAY
    if sel.any():
        p = pos[sel]
        h = hc[sel] * _U31 + W[p + 3].astype(np.uint64)
        h = h * _U31 + W[p + 4].astype(np.uint64)
        out[sel] = h * _U31 + W[p + 5].astype(np.uint64)
    for kk, stride, second in (((Kind.STRUCT, Kind.UNION), 3, 2), ((Kind.FUNC_PROTO,), 2, 1)):
        sel = np.isin(kinds, kk)
        if sel.any():
            p = pos[sel]
            vlen = (W[p + 1] & np.uint32(_VLEN_MASK)).astype(np.int64)
            tail, scale = _tail_poly(W, p, vlen, stride, second)
            out[sel] = hc[sel] * scale + tail
    return out


def static_keys(W: np.ndarray, pos: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Static hash key of each record at word offset ``pos`` (kinds given); 0 for
    kinds that have none (VAR, DATASEC, unknown).  ``pos`` must hold record starts of ``W``."""
    cdef const uint32_t[::1] w = np.ascontiguousarray(W, dtype=np.uint32)
    cdef const int64_t[::1] p = np.ascontiguousarray(pos, dtype=np.int64)
    cdef const uint8_t[::1] k = np.ascontiguousarray(kinds, dtype=np.uint8)
    cdef Py_ssize_t n = p.shape[0]
    if k.shape[0] != n:
        raise ValueError("pos and kinds must have the same length")
    out = np.zeros(n, dtype=np.uint64)
    cdef uint64_t[::1] o = out
    cdef Py_ssize_t i
    if n == 0:
        return out
    with nogil:
        for i in range(n):
            o[i] = record_key(&w[0], p[i], k[i])
    return out
