# cython: language_level=3
"""The one dedup state (see ``state.pxd``): construction, the candidate table's lifetime,
and the read-only views tests and ``debug=True`` checks use; and the prepared base that
many splits on one base share (:class:`PreparedBase`)."""

cimport cython
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

import numpy as np

from btfdedup.errors import BtfUsageError

from btfdedup.engine.graph cimport UNPROCESSED
from btfdedup.engine.table cimport (
    CandTable,
    table_find,
    table_first,
    table_free,
    table_init,
    table_next,
    table_type_id,
)
from btfdedup.format.kinds cimport K_DATASEC, K_VAR

#: ``map`` / ``hypot_map`` value of a type not yet processed (Python view of graph.pxd's UNPROCESSED)
UNPROCESSED_ID = 0xFFFFFFFF

#: The profile switches (state.pxd's cpdef enums) under their own names, for Python
#: callers (profiles.py); Cython exposes only the enum classes.
globals().update(IdenticalFallback.__members__)
globals().update(TypedefMode.__members__)

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


cdef class PreparedBase:
    """What every dedup of a split on one base shares, built once for the base.

    libbpf starts each ``btf__dedup`` of a split from scratch: it hashes every base
    type into a fresh table (prep) and indexes the base strings again.  The state
    after prep does not depend on the split, so it is kept here and put back after
    each split instead: the candidate table as prep leaves it (with libbpf's grow count
    ``gen`` and bucket count ``cap``, so later grows and their order reversals happen
    at the same inserts as in libbpf), the base string index (``strings``), and the
    working arrays of :class:`DedupState` with the base part of ``W``/``ts``/``kinds``
    written once.  A split's inserts only append entries and keys, touch list ends
    and per-key orientation bits, and may grow the key index: :meth:`give_back`
    truncates the entries and keys, copies the per-key slots saved after prep back
    (and cuts the links the split added at the ends of base lists), and drops the
    split's keys from the index (rebuilding it, at the larger size, when it grew).
    Built by :func:`btfdedup.engine.prepare_base`; lent to one :class:`DedupState` at a
    time.
    """

    def __cinit__(self, object base, object W_buf, object ts_buf, object kinds_buf, int64_t base_words,
                  object strings):
        """``*_buf``: the flat view of ``base`` (void and every base-chain record, in
        ``base_words`` words and ``base.type_cnt`` types) at the front of buffers that
        may have room for splits after it (see ``pipeline._View``)."""
        cdef int64_t n = base.type_cnt
        if len(kinds_buf) < n or len(ts_buf) != len(kinds_buf) + 1 or len(W_buf) < base_words:
            raise ValueError("the buffers do not hold the flat view of the base")
        self.base = base
        self.start_id = n
        self.base_words = base_words
        self.W_buf = np.ascontiguousarray(W_buf, dtype=np.uint32)
        self.ts_buf = np.ascontiguousarray(ts_buf, dtype=np.int64)
        self.kinds_buf = np.ascontiguousarray(kinds_buf, dtype=np.uint8)
        self.mp_buf = np.empty(len(kinds_buf), dtype=np.uint32)
        self.hyp_buf = np.empty(len(kinds_buf), dtype=np.uint32)
        self.strings = strings
        self.typedef_mode = TYPEDEF_AS_REFERENCE
        self.prep_err = DEDUP_OK
        self.prep_bad = -1

    def __dealloc__(self):
        if self.has_table and not self.lent:
            table_free(&self.table)
        free(self.slots0)

    def adopt(self, DedupState d) -> None:
        """Take over the candidate table of ``d``, a state over the base alone after
        prep, and its verdict (a base type of a kind libbpf rejects)."""
        if not d.has_table or d.prepared is not None:
            raise ValueError("adopt needs a state that owns its candidate table")
        self.prep_err = d.err
        self.prep_bad = d.err_a
        self.typedef_mode = d.typedef_mode
        self.table = d.table
        d.has_table = False
        self.has_table = True
        self.nslots0 = self.table.nslots
        self.sz0 = self.table.sz
        self.cap0 = self.table.cap
        self.gen0 = self.table.gen
        self.bits0 = self.table.bits
        self.slots0 = <int32_t *>malloc((self.nslots0 * 4 + 1) * sizeof(int32_t))
        if self.slots0 == NULL:
            raise MemoryError("prepared candidate table")
        memcpy(self.slots0, self.table.slots, self.nslots0 * 4 * sizeof(int32_t))

    def working(self, object words, object type_start, object kind) -> tuple:
        """``(W, ts, kinds, mp, hyp)`` for a split with these records (its ``words``,
        ``type_start`` and ``kind`` columns) on the base: views of the working buffers,
        the split part written, grown (base part copied once) when the split is the
        largest yet.  ``mp``/``hyp`` are set by :class:`DedupState`."""
        cdef int64_t n0 = self.start_id
        cdef int64_t off = self.base_words
        cdef int64_t nt = len(kind)
        cdef int64_t nw = len(words)
        cdef int64_t need_t = n0 + nt
        cdef int64_t need_w = off + nw
        if self.W_buf.shape[0] < need_w:
            grown = np.empty(off + max(nw, 2 * (self.W_buf.shape[0] - off)), dtype=np.uint32)
            grown[:off] = self.W_buf[:off]
            self.W_buf = grown
        if self.kinds_buf.shape[0] < need_t:
            cap = n0 + max(nt, 2 * (self.kinds_buf.shape[0] - n0))
            ts_grown = np.empty(cap + 1, dtype=np.int64)
            ts_grown[:n0] = self.ts_buf[:n0]
            self.ts_buf = ts_grown
            kinds_grown = np.empty(cap, dtype=np.uint8)
            kinds_grown[:n0] = self.kinds_buf[:n0]
            self.kinds_buf = kinds_grown
            self.mp_buf = np.empty(cap, dtype=np.uint32)
            self.hyp_buf = np.empty(cap, dtype=np.uint32)
        W = self.W_buf[:need_w]
        W[off:] = words
        ts = self.ts_buf[:need_t + 1]
        np.add(type_start[:nt], off, out=ts[n0:need_t], casting="unsafe")
        ts[need_t] = need_w
        kinds = self.kinds_buf[:need_t]
        kinds[n0:] = kind
        return W, ts, kinds, self.mp_buf[:max(need_t, 1)], self.hyp_buf[:max(need_t, 1)]

    @property
    def in_use(self) -> bool:
        """True while a :class:`DedupState` holds the candidate table."""
        return bool(self.lent)

    cdef void lend(self, CandTable *dst) noexcept nogil:
        """Hand the table (as prep left it) to a state."""
        dst[0] = self.table
        self.lent = True

    cdef int give_back(self, CandTable *src) noexcept nogil:
        """Take the table back from a state and put it back as prep left it; 0, or -1
        when rebuilding a grown key index ran out of memory (the table is then gone)."""
        cdef CandTable *t = &self.table
        cdef int64_t j, i, mask
        cdef int32_t s
        cdef uint64_t key
        cdef uint64_t *nk
        cdef int32_t *ns
        self.table = src[0]
        self.lent = False
        # keys the split added: dropped from the index.  Base keys were placed before any
        # of them, so clearing them leaves every base key's probe run intact, unless the
        # index was rehashed (entries then interleave): rebuilt from the base keys.
        if t.bits == self.bits0:
            for j in range(t.index_cap):
                if t.tslot[j] >= self.nslots0:
                    t.tslot[j] = -1
        else:
            nk = <uint64_t *>malloc(t.index_cap * sizeof(uint64_t))
            ns = <int32_t *>malloc(t.index_cap * sizeof(int32_t))
            if nk == NULL or ns == NULL:
                free(nk)
                free(ns)
                table_free(t)
                self.has_table = False
                return -1
            memset(ns, 0xFF, t.index_cap * sizeof(int32_t))
            mask = t.index_cap - 1
            for j in range(t.index_cap):
                s = t.tslot[j]
                if s < 0 or s >= self.nslots0:
                    continue
                key = t.tkeys[j]
                i = <int64_t>((key * <uint64_t>0x9E3779B97F4A7C15ULL) >> (64 - t.bits))
                while ns[i] >= 0:
                    i = (i + 1) & mask
                ns[i] = s
                nk[i] = key
            free(t.tkeys)
            free(t.tslot)
            t.tkeys = nk
            t.tslot = ns
            self.bits0 = t.bits
        # a split's entries were linked in at the physical ends of base lists only: with
        # each key's head and tail back, their outer links are cut again
        memcpy(t.slots, self.slots0, self.nslots0 * 4 * sizeof(int32_t))
        for j in range(self.nslots0):
            s = t.slots[4 * j]
            if s >= 0:
                t.nodes[3 * <int64_t>s + 2] = -1
            s = t.slots[4 * j + 1]
            if s >= 0:
                t.nodes[3 * <int64_t>s + 1] = -1
        t.nslots = self.nslots0
        t.sz = self.sz0
        t.cap = self.cap0
        t.gen = self.gen0
        return 0


@cython.no_gc_clear
cdef class DedupState:
    """All arrays the dedup phases share, with one lifetime.

    ``W`` is a private, writable copy of the flat graph; ``ts``/``kinds`` are read-only.
    ``map`` starts UNPROCESSED except void, VAR and DATASEC (self-canonical from the
    start, never merged); ``hypot_map`` starts UNPROCESSED.  The candidate table is
    allocated here (sized for ``table_hint`` entries) and freed by :meth:`drop_table`
    or with the state.  With ``prepared`` (a :class:`PreparedBase` for ``start_id``'s
    base), ``W``/``ts``/``kinds``/``mp``/``hyp`` are the views its
    :meth:`PreparedBase.working` returned, the table is the prepared one as prep left
    it, borrowed until :meth:`drop_table` (or the state's end) gives it back.
    """

    def __cinit__(self, object W, object ts, object kinds, int64_t start_id, *,
                  int identical_fallback=FALLBACK_IDENTICAL_TYPES, int typedef_mode=TYPEDEF_AS_REFERENCE,
                  bint fixed_arrays=True,
                  int64_t table_hint=1 << 14, object mp=None, object hyp=None,
                  PreparedBase prepared=None):
        cdef int64_t n = len(kinds)
        self.W_arr = np.ascontiguousarray(W, dtype=np.uint32)
        self.ts_arr = np.ascontiguousarray(ts, dtype=np.int64)
        self.kinds_arr = np.ascontiguousarray(kinds, dtype=np.uint8)
        if self.ts_arr.shape[0] != n + 1:
            raise ValueError("ts must hold one word offset per type ID plus the end")
        if prepared is not None:
            if prepared.start_id != start_id:
                raise BtfUsageError("the prepared base is not this split's base")
            if prepared.lent:
                raise BtfUsageError("the prepared base is in use by another dedup")
            if not prepared.has_table:
                raise MemoryError("prepared candidate table")
            if (prepared.typedef_mode == TYPEDEF_AS_COMPOSITE_BASE) != (typedef_mode == TYPEDEF_AS_COMPOSITE_BASE):
                raise BtfUsageError("the prepared base keyed its typedefs for another libbpf version; "
                                    "prepare it with the same libbpf_version as the dedup")
            if mp is None or hyp is None or len(mp) != max(n, 1) or len(hyp) != max(n, 1):
                raise ValueError("a prepared state needs the working mp and hyp arrays")
            # base part: set by prep; split part: UNPROCESSED but VAR/DATASEC
            mp[start_id:n] = UNPROCESSED_ID
            mp[0] = 0
            ksplit = self.kinds_arr[start_id:]
            varsec = np.flatnonzero((ksplit == K_VAR) | (ksplit == K_DATASEC))
            mp[start_id + varsec] = (start_id + varsec).astype(np.uint32)
            hyp.fill(UNPROCESSED_ID)
            self.prepared = prepared
        else:
            mp = np.full(max(n, 1), UNPROCESSED_ID, dtype=np.uint32)
            mp[0] = 0
            varsec = (self.kinds_arr == K_VAR) | (self.kinds_arr == K_DATASEC)
            mp[:n][varsec] = np.flatnonzero(varsec).astype(np.uint32)
            hyp = np.full(max(n, 1), UNPROCESSED_ID, dtype=np.uint32)
        self.mp_arr = mp
        self.hyp_arr = hyp
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
        self.typedef_mode = typedef_mode
        self.fixed_arrays = fixed_arrays
        self.str_start_off = 0
        self.err = DEDUP_OK
        if self.prepared is not None:
            self.prepared.lend(&self.table)
        elif table_init(&self.table, table_hint) < 0:
            raise MemoryError("candidate table")
        self.has_table = True

    def __dealloc__(self):
        self._release()

    cdef void _release(self) noexcept:
        if not self.has_table:
            return
        self.has_table = False
        if self.prepared is not None:
            self.prepared.give_back(&self.table)
        else:
            table_free(&self.table)

    cdef int fail(self, int code, int64_t a, int64_t b) noexcept nogil:
        """Record the first failure and return its code."""
        if self.err == DEDUP_OK:
            self.err = code
            self.err_a = a
            self.err_b = b
        return code

    def drop_table(self) -> None:
        """Free the candidate table (libbpf drops its dedup table after the reference
        phase); a prepared base's table goes back to it, restored as prep left it."""
        self._release()

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
