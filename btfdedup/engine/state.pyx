# cython: language_level=3
"""The one dedup state (see ``state.pxd``): construction, the candidate table's lifetime,
and the read-only views tests and ``debug=True`` checks use."""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t

import numpy as np

from btfdedup.engine.graph cimport UNPROCESSED
from btfdedup.engine.table cimport CandTable, table_find, table_first, table_free, table_init, table_next, table_type_id
from btfdedup.format.kinds cimport K_DATASEC, K_VAR

#: ``map`` / ``hypot_map`` value of a type not yet processed (Python view of graph.pxd's UNPROCESSED)
UNPROCESSED_ID = 0xFFFFFFFF

#: IS_EQUIV's fallback comparison for an already hypothesised canonical type (see composites.pyx)
FALLBACK_IDENTICAL_ARRAYS_STRUCTS = 0  # libbpf 1.1
FALLBACK_IDENTICAL_TYPES = 1           # libbpf 1.6

#: Python names of the DedupErr codes (for messages and tests)
ERRORS = {
    DEDUP_OK: "ok",
    ERR_NOMEM: "out of memory",
    ERR_UNKNOWN_KIND: "unknown kind",
    ERR_EQUIV_KIND: "equivalence kind",
    ERR_IDENTICAL_LOOP: "identical loop",
    ERR_REF_LOOP: "reference loop",
    ERR_REF_KIND: "reference kind",
    ERR_REMAP: "remap",
}
PY_DEDUP_OK = DEDUP_OK
PY_ERR_NOMEM = ERR_NOMEM
PY_ERR_UNKNOWN_KIND = ERR_UNKNOWN_KIND
PY_ERR_EQUIV_KIND = ERR_EQUIV_KIND
PY_ERR_IDENTICAL_LOOP = ERR_IDENTICAL_LOOP
PY_ERR_REF_LOOP = ERR_REF_LOOP
PY_ERR_REF_KIND = ERR_REF_KIND
PY_ERR_REMAP = ERR_REMAP


cdef class DedupState:
    """All arrays the dedup phases share, with one lifetime.

    ``W`` is a private, writable copy of the flat graph; ``ts``/``kinds`` are read-only.
    ``map`` starts UNPROCESSED except void, VAR and DATASEC (self-canonical from the
    start, never merged); ``hypot_map`` starts UNPROCESSED.  The candidate table is
    allocated here (sized for ``table_hint`` entries) and freed by :meth:`drop_table`
    or with the state.
    """

    def __cinit__(self, object W, object ts, object kinds, int64_t start_id, *,
                  int identical_fallback=FALLBACK_IDENTICAL_TYPES, bint fixed_arrays=True,
                  int64_t table_hint=1 << 14):
        cdef int64_t n = len(kinds)
        self.W_arr = np.ascontiguousarray(W, dtype=np.uint32)
        self.ts_arr = np.ascontiguousarray(ts, dtype=np.int64)
        self.kinds_arr = np.ascontiguousarray(kinds, dtype=np.uint8)
        if self.ts_arr.shape[0] != n + 1:
            raise ValueError("ts must hold one word offset per type ID plus the end")
        mp = np.full(max(n, 1), UNPROCESSED_ID, dtype=np.uint32)
        mp[0] = 0
        varsec = (self.kinds_arr == K_VAR) | (self.kinds_arr == K_DATASEC)
        mp[:n][varsec] = np.flatnonzero(varsec).astype(np.uint32)
        self.mp_arr = mp
        self.hyp_arr = np.full(max(n, 1), UNPROCESSED_ID, dtype=np.uint32)
        cdef uint32_t[::1] w = self.W_arr
        cdef const int64_t[::1] t = self.ts_arr
        cdef const uint8_t[::1] k = self.kinds_arr
        cdef uint32_t[::1] m = self.mp_arr
        cdef uint32_t[::1] h = self.hyp_arr
        self.nr_words = w.shape[0]
        self.W = &w[0] if w.shape[0] else NULL
        self.ts = &t[0]
        self.kinds = &k[0] if n else NULL
        self.mp = &m[0]
        self.hyp = &h[0]
        self.start_id = start_id
        self.type_cnt = n
        self.identical_fallback = identical_fallback
        self.fixed_arrays = fixed_arrays
        self.str_start_off = 0
        self.err = DEDUP_OK
        if table_init(&self.table, table_hint) < 0:
            raise MemoryError("candidate table")
        self.has_table = True

    def __dealloc__(self):
        if self.has_table:
            table_free(&self.table)

    cdef int fail(self, int code, int64_t a, int64_t b) noexcept nogil:
        """Record the first failure and return its code."""
        if self.err == DEDUP_OK:
            self.err = code
            self.err_a = a
            self.err_b = b
        return code

    def drop_table(self) -> None:
        """Free the candidate table (libbpf drops its dedup table after the reference phase)."""
        if self.has_table:
            table_free(&self.table)
            self.has_table = False

    @property
    def table_len(self) -> int:
        """Entries in the candidate table (libbpf's hashmap size)."""
        return int(self.table.sz) if self.has_table else 0

    def candidates(self, uint64_t key) -> list:
        """Type IDs stored under ``key`` in libbpf's walk order (tests and debugging)."""
        out = []
        if not self.has_table:
            return out
        cdef int32_t slot = table_find(&self.table, key)
        if slot < 0:
            return out
        cdef int32_t node = table_first(&self.table, slot)
        while node >= 0:
            out.append(int(table_type_id(&self.table, node)))
            node = table_next(&self.table, slot, node)
        return out

    def table_type_ids(self):
        """Every type ID in the table, in insertion order (for ``debug=True`` checks)."""
        if not self.has_table or self.table.sz == 0:
            return np.zeros(0, dtype=np.int32)
        cdef int32_t[:, ::1] view = <int32_t[:self.table.sz, :3]> self.table.nodes
        return np.asarray(view)[:, 0].copy()
