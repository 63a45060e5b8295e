# cython: language_level=3
"""Pass 1 of the kernel verifier (``btf_check_all_metas``): every record's ``check_meta``, in one loop.

Each type gets at most one row: the first rule the kernel's ``check_meta`` for its
kind would fail, in the kernel's order (``btf_int_check_meta``,
``btf_struct_check_meta``, ``btf_enum_check_meta``, ``btf_ref_type_check_meta``,
``btf_fwd_check_meta``, ``btf_array_check_meta``, ``btf_func_check_meta``,
``btf_func_proto_check_meta``, ``btf_var_check_meta``, ``btf_datasec_check_meta``,
``btf_float_check_meta``, ``btf_decl_tag_check_meta``).  The kernel stops at the
first failing type; this pass reports every failing type, so the first row in
type order is the kernel's verdict.

Rows are columns: local index, reason code (:data:`META_REASONS`), two values the
reason is formatted with, and a context (which member / value / entry).  Names
are checked against the string area with the kernel's Latin-1 ``ctype`` classes
(:func:`btfdedup.verifier.strings.char_classes`); split BTF reads offsets below
``split_at`` from the base's strings.
"""

import errno as errno_mod

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t
from libc.stdlib cimport free

from btfdedup.cbuf cimport regrow

from btfdedup.format.kinds cimport (
    K_ARRAY,
    K_CONST,
    K_DATASEC,
    K_DECL_TAG,
    K_ENUM,
    K_ENUM64,
    K_FLOAT,
    K_FUNC,
    K_FUNC_PROTO,
    K_FWD,
    K_INT,
    K_PTR,
    K_RESTRICT,
    K_STRUCT,
    K_TYPE_TAG,
    K_TYPEDEF,
    K_UNION,
    K_VAR,
    K_VOLATILE,
)

#: ENOTSUPP, the kernel's internal errno for unsupported encodings (see problem.ENOTSUPP).
cdef int ENOTSUPP = 524
cdef int64_t U32 = 0xFFFFFFFF
cdef int64_t SIGN32 = 0x80000000
cdef int64_t TWO32 = 0x100000000

cdef enum:
    MAX_TYPE = 0x000FFFFF
    MAX_NAME_OFFSET = 0x00FFFFFF
    FUNC_GLOBAL = 1
    INT_MASK = 0x0FFFFFFF

#: The limits above by their names in :mod:`btfdedup.format.constants` (a test checks they agree).
LIMITS = {
    "BTF_MAX_TYPE": MAX_TYPE,
    "BTF_MAX_NAME_OFFSET": MAX_NAME_OFFSET,
    "BTF_FUNC_GLOBAL": FUNC_GLOBAL,
}

# character classes (bits of the table from strings.char_classes)
cdef enum:
    IDENT_FIRST = 1
    IDENT_REST = 2
    SECT_FIRST = 4
    SECT_REST = 8
    PRINT = 16

# reason codes
cdef enum:
    M_INFO = 1
    M_KIND = 2
    M_NAME_OFFSET = 3
    M_META_LEFT = 4
    M_VLEN = 5
    M_KFLAG = 6
    M_INT_DATA = 7
    M_NR_BITS_128 = 8
    M_NR_BITS_SIZE = 9
    M_ENCODING = 10
    M_TYPE_SIZE = 11
    M_UNEXPECTED_SIZE = 12
    M_NAME = 13
    M_MEMBER_NAME_OFFSET = 14
    M_TYPE_ID = 15
    M_BITS_OFFSET = 16
    M_BITS_OFFSET_SIZE = 17
    M_LINKAGE = 18
    M_SIZE_ZERO = 19
    M_OFFSET = 20
    M_SIZE = 21
    M_OFFSET_SIZE = 22
    M_INFO_SIZE = 23
    M_FUNC_LINKAGE = 24
    M_TYPE_NOT_ZERO = 25
    M_SIZE_NOT_ZERO = 26
    M_ELEM = 27
    M_INDEX = 28
    M_VALUE = 29
    M_COMPONENT_IDX = 30
    M_MAX_TYPES = 31

# context kinds
cdef enum:
    CX_NONE = 0
    CX_MEMBER = 1  # "member #a 'name at b'"
    CX_VALUE = 2  # "value #a"
    CX_ENTRY_TYPE = 3  # "entry #a type_id=b"

#: Reason code -> (template formatted with arg/arg2, errno).
META_REASONS = {
    M_INFO: ("Invalid btf_info:{0:x}", errno_mod.EINVAL),
    M_KIND: ("Invalid kind:{0}", errno_mod.EINVAL),
    M_NAME_OFFSET: ("Invalid name_offset:{0}", errno_mod.EINVAL),
    M_META_LEFT: ("meta_left:{0} meta_needed:{1}", errno_mod.EINVAL),
    M_VLEN: ("vlen != 0", errno_mod.EINVAL),
    M_KFLAG: ("Invalid btf_info kind_flag", errno_mod.EINVAL),
    M_INT_DATA: ("Invalid int_data:{0:x}", errno_mod.EINVAL),
    M_NR_BITS_128: ("nr_bits exceeds 128", errno_mod.EINVAL),
    M_NR_BITS_SIZE: ("nr_bits exceeds type_size", errno_mod.EINVAL),
    M_ENCODING: ("Unsupported encoding", ENOTSUPP),
    M_TYPE_SIZE: ("Invalid type_size", errno_mod.EINVAL),
    M_UNEXPECTED_SIZE: ("Unexpected size", errno_mod.EINVAL),
    M_NAME: ("Invalid name", errno_mod.EINVAL),
    M_MEMBER_NAME_OFFSET: ("Invalid member name_offset:{0}", errno_mod.EINVAL),
    M_TYPE_ID: ("Invalid type_id", errno_mod.EINVAL),
    M_BITS_OFFSET: ("Invalid member bits_offset", errno_mod.EINVAL),
    M_BITS_OFFSET_SIZE: ("Member bits_offset exceeds its struct size", errno_mod.EINVAL),
    M_LINKAGE: ("Linkage not supported", errno_mod.EINVAL),
    M_SIZE_ZERO: ("size == 0", errno_mod.EINVAL),
    M_OFFSET: ("Invalid offset", errno_mod.EINVAL),
    M_SIZE: ("Invalid size", errno_mod.EINVAL),
    M_OFFSET_SIZE: ("Invalid offset+size", errno_mod.EINVAL),
    M_INFO_SIZE: ("Invalid btf_info size", errno_mod.EINVAL),
    M_FUNC_LINKAGE: ("Invalid func linkage", errno_mod.EINVAL),
    M_TYPE_NOT_ZERO: ("type != 0", errno_mod.EINVAL),
    M_SIZE_NOT_ZERO: ("size != 0", errno_mod.EINVAL),
    M_ELEM: ("Invalid elem", errno_mod.EINVAL),
    M_INDEX: ("Invalid index", errno_mod.EINVAL),
    M_VALUE: ("Invalid value", errno_mod.EINVAL),
    M_COMPONENT_IDX: ("Invalid component_idx", errno_mod.EINVAL),
    M_MAX_TYPES: ("Exceeded max num of types", errno_mod.E2BIG),
}
META_LEFT = M_META_LEFT
META_KIND = M_KIND
META_MAX_TYPES = M_MAX_TYPES
CTX_NONE = CX_NONE
CTX_MEMBER = CX_MEMBER
CTX_VALUE = CX_VALUE
CTX_ENTRY_TYPE = CX_ENTRY_TYPE


cdef struct Names:
    const uint8_t* base
    int64_t base_size
    const uint8_t* own
    int64_t own_size
    int64_t split_at   # offsets below it are in the base's strings (0 without a base)
    int64_t total
    const uint8_t* cls
    int64_t ksym
    bint printable_sections
    uint8_t* ident_memo  # per offset of the whole area: 0 not checked yet, 1 identifier, 2 not


cdef inline bint _valid_offset(Names* nm, int64_t o) noexcept nogil:
    """``btf_name_offset_valid``."""
    return o <= MAX_NAME_OFFSET and o < nm.total


cdef inline const uint8_t* _locate(Names* nm, int64_t o, int64_t* size, int64_t* local) noexcept nogil:
    """The string table holding offset ``o`` and ``o`` inside it, clipped into the table."""
    cdef const uint8_t* buf
    if o < nm.split_at:
        buf = nm.base
        size[0] = nm.base_size
    else:
        buf = nm.own
        size[0] = nm.own_size
        o -= nm.split_at
    if o >= size[0]:
        o = size[0] - 1
    if o < 0:
        o = 0
    local[0] = o
    return buf


cdef inline bint _nonempty(Names* nm, int64_t o) noexcept nogil:
    cdef int64_t size, at
    cdef const uint8_t* buf = _locate(nm, o, &size, &at)
    return size > 0 and buf[at] != 0


cdef bint _identifier(Names* nm, int64_t o) noexcept nogil:
    """``btf_name_valid_identifier``, remembered per offset (names repeat across members)."""
    if 0 <= o < nm.total:
        if nm.ident_memo[o] == 0:
            nm.ident_memo[o] = 1 if _scan_identifier(nm, o) else 2
        return nm.ident_memo[o] == 1
    return _scan_identifier(nm, o)


cdef bint _scan_identifier(Names* nm, int64_t o) noexcept nogil:
    cdef int64_t size, at, i
    cdef const uint8_t* buf = _locate(nm, o, &size, &at)
    if size == 0 or buf[at] == 0 or not (nm.cls[buf[at]] & IDENT_FIRST):
        return False
    i = at + 1
    while i < size and buf[i] != 0:
        if not (nm.cls[buf[i]] & IDENT_REST) or i - at >= nm.ksym:
            return False
        i += 1
    return i - at <= nm.ksym


cdef bint _section(Names* nm, int64_t o) noexcept nogil:
    """``btf_name_valid_section`` (DATASEC names)."""
    cdef int64_t size, at, i
    cdef const uint8_t* buf = _locate(nm, o, &size, &at)
    cdef uint8_t first = PRINT if nm.printable_sections else SECT_FIRST
    cdef uint8_t rest = PRINT if nm.printable_sections else SECT_REST
    if size == 0 or buf[at] == 0 or not (nm.cls[buf[at]] & first):
        return False
    i = at + 1
    while i < size and buf[i] != 0:
        if not (nm.cls[buf[i]] & rest) or i - at >= nm.ksym:
            return False
        i += 1
    return i - at <= nm.ksym


cdef struct Rows:
    int64_t* local
    int64_t* arg
    int64_t* arg2
    int64_t* ca
    int64_t* cb
    uint8_t* code
    uint8_t* ck
    int64_t cnt
    int64_t cap


cdef int _grow(Rows* r) noexcept nogil:
    cdef int64_t cap = r.cap * 2 if r.cap else 4096
    cdef size_t wide = cap * sizeof(int64_t)
    if (regrow(<void **>&r.local, wide) < 0 or regrow(<void **>&r.arg, wide) < 0
            or regrow(<void **>&r.arg2, wide) < 0 or regrow(<void **>&r.ca, wide) < 0
            or regrow(<void **>&r.cb, wide) < 0 or regrow(<void **>&r.code, cap) < 0
            or regrow(<void **>&r.ck, cap) < 0):
        return -1
    r.cap = cap
    return 0


cdef inline int _add(Rows* r, int64_t local, int code, int64_t arg, int64_t arg2, int ck, int64_t ca, int64_t cb) noexcept nogil:
    if r.cnt == r.cap and _grow(r) < 0:
        return -1
    r.local[r.cnt] = local
    r.code[r.cnt] = <uint8_t>code
    r.arg[r.cnt] = arg
    r.arg2[r.cnt] = arg2
    r.ck[r.cnt] = <uint8_t>ck
    r.ca[r.cnt] = ca
    r.cb[r.cnt] = cb
    r.cnt += 1
    return 0


cdef struct Rules:
    int64_t info_mask
    int64_t vlen_mask
    int64_t kind_mask
    int64_t kind_max
    bint type_tag_kflag
    bint decl_tag_kflag


cdef struct Found:
    int code
    int64_t arg
    int64_t arg2
    int ck
    int64_t ca
    int64_t cb


cdef inline void _set(Found* f, int code, int64_t arg, int64_t arg2, int ck, int64_t ca, int64_t cb) noexcept nogil:
    f.code = code
    f.arg = arg
    f.arg2 = arg2
    f.ck = ck
    f.ca = ca
    f.cb = cb


cdef inline int64_t _roundup_bytes(int64_t bits) noexcept nogil:
    return (bits >> 3) + (1 if bits & 7 else 0)


cdef void _check_type(
    const uint32_t* w, int64_t nwords, int64_t p, int64_t type_len, bint truncated, Names* nm, Rules* ru, Found* f
) noexcept nogil:
    """The first check_meta failure of the record at word ``p`` (``f.code`` 0: none)."""
    cdef int64_t name_off = w[p]
    cdef int64_t info = w[p + 1]
    cdef int64_t st = w[p + 2]
    cdef int kind = <int>((info >> 24) & ru.kind_mask)
    cdef int64_t vlen = info & ru.vlen_mask
    cdef bint kflag = ((info >> 31) & 1) != 0
    cdef int64_t meta_left = type_len - 4 * p - 12
    cdef int64_t t0 = w[p + 3] if p + 3 < nwords else 0
    cdef int64_t t1 = w[p + 4] if p + 4 < nwords else 0
    cdef int64_t data, nr_bits, enc, j, q, m_name, m_off, bit_off, prev, stride, v_name
    cdef int64_t v_type, v_off, v_size, prev_end, total
    _set(f, 0, 0, 0, CX_NONE, 0, 0)
    if (info & ~ru.info_mask & U32) != 0:
        _set(f, M_INFO, info, 0, CX_NONE, 0, 0)
        return
    if kind == 0 or kind > ru.kind_max:
        _set(f, M_KIND, kind, 0, CX_NONE, 0, 0)
        return
    if not _valid_offset(nm, name_off):
        _set(f, M_NAME_OFFSET, name_off, 0, CX_NONE, 0, 0)
        return
    if kind == K_INT:
        data = t0
        nr_bits = (data & 0xFF) + ((data >> 16) & 0xFF)
        enc = (data >> 24) & 0x0F
        if truncated:
            _set(f, M_META_LEFT, meta_left, 4, CX_NONE, 0, 0)
        elif vlen != 0:
            f.code = M_VLEN
        elif kflag:
            f.code = M_KFLAG
        elif (data & ~(<int64_t>INT_MASK) & U32) != 0:
            _set(f, M_INT_DATA, data, 0, CX_NONE, 0, 0)
        elif nr_bits > 128:
            f.code = M_NR_BITS_128
        elif _roundup_bytes(nr_bits) > st:
            f.code = M_NR_BITS_SIZE
        elif enc != 0 and enc != 1 and enc != 2 and enc != 4:
            f.code = M_ENCODING
        return
    if kind == K_FLOAT:
        if vlen != 0:
            f.code = M_VLEN
        elif kflag:
            f.code = M_KFLAG
        elif not (st == 2 or st == 4 or st == 8 or st == 12 or st == 16):
            f.code = M_TYPE_SIZE
        return
    if kind == K_ENUM or kind == K_ENUM64:
        stride = 3 if kind == K_ENUM64 else 2
        if truncated:
            _set(f, M_META_LEFT, meta_left, 4 * stride * vlen, CX_NONE, 0, 0)
        elif st > 8 or st == 0 or (st & (st - 1)) != 0:
            f.code = M_UNEXPECTED_SIZE
        elif name_off != 0 and not _identifier(nm, name_off):
            f.code = M_NAME
        else:
            for j in range(vlen):
                v_name = w[p + 3 + stride * j]
                if not _valid_offset(nm, v_name):
                    _set(f, M_NAME_OFFSET, v_name, 0, CX_VALUE, j, 0)
                    return
                if v_name == 0 or not _identifier(nm, v_name):
                    _set(f, M_NAME, 0, 0, CX_VALUE, j, 0)
                    return
        return
    if kind == K_STRUCT or kind == K_UNION:
        if truncated:
            _set(f, M_META_LEFT, meta_left, 12 * vlen, CX_NONE, 0, 0)
            return
        if name_off != 0 and not _identifier(nm, name_off):
            f.code = M_NAME
            return
        prev = 0
        for j in range(vlen):
            q = p + 3 + 3 * j
            m_name = w[q]
            m_off = w[q + 2]
            bit_off = (m_off & 0xFFFFFF) if kflag else m_off
            if not _valid_offset(nm, m_name):
                _set(f, M_MEMBER_NAME_OFFSET, m_name, 0, CX_MEMBER, j, 0)
                return
            if m_name != 0 and not _identifier(nm, m_name):
                _set(f, M_NAME, 0, 0, CX_MEMBER, j, m_name)
                return
            if w[q + 1] == 0 or w[q + 1] > MAX_TYPE:
                _set(f, M_TYPE_ID, 0, 0, CX_MEMBER, j, m_name)
                return
            if kind == K_UNION and bit_off != 0:
                _set(f, M_BITS_OFFSET, 0, 0, CX_MEMBER, j, m_name)
                return
            if prev > bit_off:
                _set(f, M_BITS_OFFSET, 0, 0, CX_MEMBER, j, m_name)
                return
            if _roundup_bytes(bit_off) > st:
                _set(f, M_BITS_OFFSET_SIZE, 0, 0, CX_MEMBER, j, m_name)
                return
            prev = bit_off
        return
    if (
        kind == K_PTR or kind == K_TYPEDEF or kind == K_VOLATILE or kind == K_CONST or kind == K_RESTRICT
        or kind == K_TYPE_TAG
    ):
        if vlen != 0:
            f.code = M_VLEN
        elif kflag and not (ru.type_tag_kflag and kind == K_TYPE_TAG):
            f.code = M_KFLAG
        elif st > MAX_TYPE:
            f.code = M_TYPE_ID
        elif kind == K_TYPEDEF:
            if name_off == 0 or not _identifier(nm, name_off):
                f.code = M_NAME
        elif kind == K_TYPE_TAG:
            if not _nonempty(nm, name_off):
                f.code = M_NAME
        elif name_off != 0:
            f.code = M_NAME
        return
    if kind == K_FWD:
        if vlen != 0:
            f.code = M_VLEN
        elif st != 0:
            f.code = M_TYPE_NOT_ZERO
        elif name_off == 0 or not _identifier(nm, name_off):
            f.code = M_NAME
        return
    if kind == K_ARRAY:
        if truncated:
            _set(f, M_META_LEFT, meta_left, 12, CX_NONE, 0, 0)
        elif name_off != 0:
            f.code = M_NAME
        elif vlen != 0:
            f.code = M_VLEN
        elif kflag:
            f.code = M_KFLAG
        elif st != 0:
            f.code = M_SIZE_NOT_ZERO
        elif t0 == 0 or t0 > MAX_TYPE:
            f.code = M_ELEM
        elif t1 == 0 or t1 > MAX_TYPE:
            f.code = M_INDEX
        return
    if kind == K_FUNC:
        if name_off == 0 or not _identifier(nm, name_off):
            f.code = M_NAME
        elif vlen > FUNC_GLOBAL:
            f.code = M_FUNC_LINKAGE
        elif kflag:
            f.code = M_KFLAG
        return
    if kind == K_FUNC_PROTO:
        if truncated:
            _set(f, M_META_LEFT, meta_left, 8 * vlen, CX_NONE, 0, 0)
        elif name_off != 0:
            f.code = M_NAME
        elif kflag:
            f.code = M_KFLAG
        return
    if kind == K_VAR:
        if truncated:
            _set(f, M_META_LEFT, meta_left, 4, CX_NONE, 0, 0)
        elif vlen != 0:
            f.code = M_VLEN
        elif kflag:
            f.code = M_KFLAG
        elif name_off == 0 or not _identifier(nm, name_off):
            f.code = M_NAME
        elif st == 0 or st > MAX_TYPE:
            f.code = M_TYPE_ID
        elif t0 != 0 and t0 != 1:
            f.code = M_LINKAGE
        return
    if kind == K_DATASEC:
        if truncated:
            _set(f, M_META_LEFT, meta_left, 12 * vlen, CX_NONE, 0, 0)
            return
        if st == 0:
            f.code = M_SIZE_ZERO
            return
        if kflag:
            f.code = M_KFLAG
            return
        if name_off == 0 or not _section(nm, name_off):
            f.code = M_NAME
            return
        prev_end = 0
        total = 0
        for j in range(vlen):
            q = p + 3 + 3 * j
            v_type = w[q]
            v_off = w[q + 1]
            v_size = w[q + 2]
            if v_type == 0 or v_type > MAX_TYPE:
                _set(f, M_TYPE_ID, 0, 0, CX_ENTRY_TYPE, j, v_type)
                return
            if v_off < prev_end or v_off >= st:
                _set(f, M_OFFSET, 0, 0, CX_ENTRY_TYPE, j, v_type)
                return
            if v_size == 0 or v_size > st:
                _set(f, M_SIZE, 0, 0, CX_ENTRY_TYPE, j, v_type)
                return
            if v_off + v_size > st:
                _set(f, M_OFFSET_SIZE, 0, 0, CX_ENTRY_TYPE, j, v_type)
                return
            prev_end = v_off + v_size
            total += v_size
        if total > st:
            f.code = M_INFO_SIZE
        return
    if kind == K_DECL_TAG:
        if truncated:
            _set(f, M_META_LEFT, meta_left, 4, CX_NONE, 0, 0)
        elif not _nonempty(nm, name_off):
            f.code = M_VALUE
        elif vlen != 0:
            f.code = M_VLEN
        elif kflag and not ru.decl_tag_kflag:
            f.code = M_KFLAG
        elif t0 >= SIGN32 and t0 - TWO32 < -1:
            f.code = M_COMPONENT_IDX
        return


def check_metas(
    const uint32_t[::1] words,
    int64_t type_len,
    const int64_t[::1] starts,
    bint last_truncated,
    const uint8_t[::1] base_strings,
    const uint8_t[::1] own_strings,
    const uint8_t[::1] char_classes,
    const int64_t[::1] fixed_words,
    const int64_t[::1] vlen_words,
    int64_t ksym_name_len,
    bint printable_sections,
    int64_t info_mask,
    int64_t vlen_mask,
    int64_t kind_mask,
    int64_t kind_max,
    bint type_tag_kflag,
    bint decl_tag_kflag,
) -> tuple:
    """Every walked record's first check_meta failure, in type order, plus each FUNC_PROTO's first bad parameter.

    Returns ``(local, code, arg, arg2, ctx_kind, ctx_a, ctx_b, bad_param)``: one row per
    failing record (int64 / uint8 columns), and per record the index of the first
    parameter whose name the kernel refuses (FUNC_PROTO only; -1 elsewhere), which
    ``btf_func_proto_check`` reports in pass 2.  ``base_strings`` are the strings of a
    split BTF's base chain (empty without a base).  ``starts`` come from the walk with
    the same masks: every record but a truncated last one lies inside ``words`` by the
    record lengths ``fixed_words``/``vlen_words`` give its kind (checked here).
    """
    if char_classes.shape[0] != 256:
        raise ValueError("check_metas: char_classes needs 256 entries")
    cdef int64_t nt = starts.shape[0]
    cdef int64_t nwords = words.shape[0]
    cdef int64_t i, p, j, vlen, poff, info
    cdef int kind
    cdef int64_t nk = min(fixed_words.shape[0], vlen_words.shape[0])
    for i in range(nt):
        if starts[i] < 0 or starts[i] + 3 > nwords:
            raise ValueError("check_metas: a record start lies outside the words")
        info = words[starts[i] + 1]
        kind = <int>((info >> 24) & kind_mask)
        if last_truncated and i == nt - 1 or kind == 0 or kind > kind_max:
            continue
        if kind >= nk or starts[i] + 3 + fixed_words[kind] + (info & vlen_mask) * vlen_words[kind] > nwords:
            raise ValueError("check_metas: a record lies outside the words")
    bad_param_a = np.full(nt, -1, dtype=np.int32)
    cdef int32_t[::1] bad_param = bad_param_a
    cdef Names nm
    cdef uint8_t empty = 0
    nm.base = &base_strings[0] if base_strings.shape[0] else &empty
    nm.base_size = base_strings.shape[0]
    nm.own = &own_strings[0] if own_strings.shape[0] else &empty
    nm.own_size = own_strings.shape[0]
    nm.split_at = base_strings.shape[0]
    nm.total = nm.base_size + nm.own_size
    nm.cls = &char_classes[0]
    nm.ksym = ksym_name_len
    nm.printable_sections = printable_sections
    memo_a = np.zeros(nm.total if nm.total else 1, dtype=np.uint8)
    cdef uint8_t[::1] memo = memo_a
    nm.ident_memo = &memo[0]
    cdef Rules ru
    ru.info_mask = info_mask
    ru.vlen_mask = vlen_mask
    ru.kind_mask = kind_mask
    ru.kind_max = kind_max
    ru.type_tag_kflag = type_tag_kflag
    ru.decl_tag_kflag = decl_tag_kflag
    cdef Rows rows
    rows.local = NULL
    rows.arg = NULL
    rows.arg2 = NULL
    rows.ca = NULL
    rows.cb = NULL
    rows.code = NULL
    rows.ck = NULL
    rows.cnt = 0
    rows.cap = 0
    cdef Found f
    cdef int failed = 0
    cdef const uint32_t* w = &words[0] if nwords else NULL
    cdef bint truncated
    try:
        with nogil:
            for i in range(nt):
                p = starts[i]
                truncated = last_truncated and i == nt - 1
                _check_type(w, nwords, p, type_len, truncated, &nm, &ru, &f)
                if f.code != 0 and _add(&rows, i, f.code, f.arg, f.arg2, f.ck, f.ca, f.cb) < 0:
                    failed = 1
                    break
                info = w[p + 1]
                kind = <int>((info >> 24) & kind_mask)
                if kind == K_FUNC_PROTO and kind <= kind_max and not truncated:
                    vlen = info & vlen_mask
                    for j in range(vlen):
                        poff = w[p + 3 + 2 * j]
                        if poff != 0 and (not _valid_offset(&nm, poff) or not _identifier(&nm, poff)):
                            bad_param[i] = <int32_t>j
                            break
        if failed:
            raise MemoryError("check_metas: result rows")
        cols = (
            np.empty(rows.cnt, dtype=np.int64),
            np.empty(rows.cnt, dtype=np.uint8),
            np.empty(rows.cnt, dtype=np.int64),
            np.empty(rows.cnt, dtype=np.int64),
            np.empty(rows.cnt, dtype=np.uint8),
            np.empty(rows.cnt, dtype=np.int64),
            np.empty(rows.cnt, dtype=np.int64),
        )
        _copy(&rows, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6])
        return cols + (bad_param_a,)
    finally:
        free(rows.local)
        free(rows.arg)
        free(rows.arg2)
        free(rows.ca)
        free(rows.cb)
        free(rows.code)
        free(rows.ck)


cdef void _copy(
    Rows* r,
    int64_t[::1] local,
    uint8_t[::1] code,
    int64_t[::1] arg,
    int64_t[::1] arg2,
    uint8_t[::1] ck,
    int64_t[::1] ca,
    int64_t[::1] cb,
) noexcept:
    cdef int64_t i
    for i in range(r.cnt):
        local[i] = r.local[i]
        code[i] = r.code[i]
        arg[i] = r.arg[i]
        arg2[i] = r.arg2[i]
        ck[i] = r.ck[i]
        ca[i] = r.ca[i]
        cb[i] = r.cb[i]


def structs_using(
    const uint32_t[::1] words,
    const int64_t[::1] starts,
    const int64_t[::1] structs,
    const int64_t[::1] vlen,
    const uint8_t[::1] wanted,
    int64_t start_id,
) -> object:
    """The STRUCTs (local indices, from ``structs``) with a member whose type ID is marked in ``wanted``.

    ``wanted`` is indexed by local type index (``type ID - start_id``); member type IDs
    outside it are not wanted.  Used to pick the structs ``btf_parse_struct_metas`` parses.
    """
    cdef int64_t n = structs.shape[0]
    cdef int64_t nwant = wanted.shape[0]
    cdef int64_t nwords = words.shape[0]
    cdef int64_t nt = starts.shape[0]
    cdef int64_t i, s, p, j, mt, cnt = 0
    out_a = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] out = out_a
    for i in range(n):
        s = structs[i]
        if s < 0 or s >= nt or vlen.shape[0] != nt:
            raise ValueError("structs_using: struct index out of range")
        p = starts[s] + 3
        if p + 3 * vlen[s] > nwords:
            raise ValueError("structs_using: struct members lie outside the words")
        for j in range(vlen[s]):
            mt = <int64_t>words[p + 3 * j + 1] - start_id
            if 0 <= mt < nwant and wanted[mt]:
                out[cnt] = s
                cnt += 1
                break
    return out_a[:cnt].copy()
