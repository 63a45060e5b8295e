# cython: language_level=3
"""The one dedup state: libbpf's ``struct btf_dedup``, shared by every compiled phase.

Every phase is ``def <name>_phase(DedupState d) -> int``: it reads and writes the
arrays here and returns a :data:`DedupErr` (``DEDUP_OK`` or the first failure, with the
type IDs involved in ``err_a`` / ``err_b``).  :mod:`btfdedup.engine.pipeline` runs the
phases in libbpf's order and turns a failure into a :class:`DedupError` in one place.
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t

from btfdedup.engine.table cimport CandTable

cdef enum DedupErr:
    DEDUP_OK = 0
    ERR_NOMEM = 1            # an allocation failed
    ERR_UNKNOWN_KIND = 2     # err_a: a type of a kind libbpf rejects (prep: base; primitives: split)
    ERR_EQUIV_KIND = 3       # err_a, err_b: candidate / canonical pair of a kind IS_EQUIV cannot compare
    ERR_IDENTICAL_LOOP = 4   # err_a, err_b: IDENTICAL ran round a cycle where libbpf would recurse forever
    ERR_REF_LOOP = 5         # err_a reached again from err_b without a struct/union between (-ELOOP)
    ERR_REF_KIND = 6         # err_a (referenced by err_b) is not a kind the reference phase handles
    ERR_REMAP = 7            # err_a: output index, err_b: the ID with no deduplicated counterpart

# IS_EQUIV's fallback comparison for an already hypothesised canonical type (see composites.pyx).
cpdef enum IdenticalFallback:
    FALLBACK_IDENTICAL_ARRAYS_STRUCTS = 0  # libbpf 1.1
    FALLBACK_IDENTICAL_TYPES = 1           # libbpf 1.6 and later

# Where TYPEDEF is deduplicated and how prep keys the base's typedefs (one value per
# libbpf release family; see btfdedup/engine/profiles.py).  cpdef: Python sees them too.
cpdef enum TypedefMode:
    TYPEDEF_AS_REFERENCE = 0       # libbpf <= 1.6: reference phase, H_common (base and split)
    TYPEDEF_AS_COMPOSITE = 1       # libbpf 1.7.0: struct phase under H_typedef; base still H_common
    TYPEDEF_AS_COMPOSITE_BASE = 2  # libbpf master (1.8): struct phase, base typedefs under H_typedef too


cdef class PreparedBase:
    # -- the base, and the flat view of it (void + base records) at the front of W_buf ----
    cdef readonly object base           # the base Btf this was built for
    cdef readonly int64_t start_id      # first split type ID on this base
    cdef readonly int64_t base_words    # words of the base part of W
    # -- working buffers, sized for the base plus the largest split seen so far -----------
    cdef object W_buf                   # uint32: base part written once
    cdef object ts_buf                  # int64: base part written once
    cdef object kinds_buf               # uint8: base part written once
    cdef object mp_buf                  # uint32: reset by prep for the base part
    cdef object hyp_buf                 # uint32: reset for every split
    # -- the candidate table as prep leaves it, lent to one DedupState at a time ---------
    cdef CandTable table
    cdef bint has_table
    cdef bint lent
    cdef int32_t *slots0                # per-key slots after prep (restored from here)
    cdef int64_t nslots0
    cdef int64_t sz0
    cdef int64_t cap0
    cdef int64_t gen0
    cdef int bits0                      # key index size: grows when a split grew it
    # -- the typedef mode prep keyed the base typedefs for (see DedupState.typedef_mode) --
    cdef readonly int typedef_mode
    # -- prep's verdict on the base, repeated for every split -----------------------------
    cdef readonly int prep_err
    cdef readonly int64_t prep_bad
    # -- the base string index (btfdedup.model.strindex.StringIndex) ---------------------
    cdef readonly object strings

    cdef void lend(self, CandTable *dst) noexcept nogil
    cdef int give_back(self, CandTable *src) noexcept nogil


cdef class DedupState:
    # -- the flat graph (see graph.pxd): owners, then raw views -------------------------
    cdef readonly object W_arr        # uint32[words]: mutated by strings and references
    cdef readonly object ts_arr       # int64[type_cnt + 1]
    cdef readonly object kinds_arr    # uint8[type_cnt]
    cdef readonly object mp_arr       # uint32[type_cnt]: libbpf's map
    cdef readonly object hyp_arr      # uint32[type_cnt]: libbpf's hypot_map
    cdef uint32_t *W
    cdef const int64_t *ts
    cdef const uint8_t *kinds
    cdef uint32_t *mp
    cdef uint32_t *hyp
    cdef readonly int64_t start_id    # first split type ID (1 without a base)
    cdef readonly int64_t type_cnt    # one past the last type ID
    cdef readonly int64_t nr_words
    # -- the candidate table (table.pxd), alive from prep to the end of references -------
    cdef CandTable table
    cdef readonly bint has_table
    # -- profile settings (btfdedup.engine.profiles) -------------------------------------
    cdef readonly int identical_fallback
    cdef readonly int typedef_mode     # TYPEDEF_AS_REFERENCE (<= 1.6), TYPEDEF_AS_COMPOSITE (1.7.0),
                                       # TYPEDEF_AS_COMPOSITE_BASE (master / 1.8)
    # -- the prepared base this state borrows its buffers and table from, or None ---------
    cdef readonly PreparedBase prepared
    cdef readonly bint fixed_arrays
    # -- the strings phase's inputs and outputs ------------------------------------------
    cdef public object str_buf          # uint8: the chain's string sections concatenated (with
                                        # base_strings: the split's own section only)
    cdef public int64_t str_start_off   # offset of the split part's strings (0 without a base)
    cdef public object ext_str_refs     # uint32: .BTF.ext string offsets in, remapped offsets out
    cdef public object base_strings     # StringIndex of the base chain (prepared base), or None
    cdef public object strings_data     # bytes: the deduplicated split string section
    # -- compaction and remap outputs -----------------------------------------------------
    cdef public object kept             # int64: old IDs of the surviving split types, in order
    cdef public object new_id           # uint32[type_cnt]: old ID -> new ID for survivors
    cdef public object out_words        # uint32: the surviving records
    cdef public object out_starts       # int64: their word offsets (+ end)
    cdef public object final            # uint32[type_cnt]: old ID -> new ID of its canonical type
    # -- the first failure ---------------------------------------------------------------
    cdef readonly int err
    cdef readonly int64_t err_a
    cdef readonly int64_t err_b

    cdef int fail(self, int code, int64_t a, int64_t b) noexcept nogil
    cdef void _release(self) noexcept
