# cython: language_level=3
"""The one dedup state: libbpf's ``struct btf_dedup``, shared by every compiled phase.

Every phase is ``def <name>_phase(DedupState d) -> int``: it reads and writes the
arrays here and returns a :data:`DedupErr` (``DEDUP_OK`` or the first failure, with the
type IDs involved in ``err_a`` / ``err_b``).  :mod:`btfdedup.engine.pipeline` runs the
phases in libbpf's order and turns a failure into a :class:`DedupError` in one place.
"""

from libc.stdint cimport int64_t, uint8_t, uint32_t

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
    cdef readonly bint fixed_arrays
    # -- the strings phase's inputs and outputs ------------------------------------------
    cdef public object str_buf          # uint8: the string sections of the whole chain, concatenated
    cdef public int64_t str_start_off   # offset of the split part's strings (0 without a base)
    cdef public object ext_str_refs     # uint32: .BTF.ext string offsets in, remapped offsets out
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
