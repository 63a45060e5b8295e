# cython: language_level=3
"""The one walk over BTF type records behind both bpftool dump formats.

bpftool's raw text (``btf dump file F format raw``) and its JSON (``-j``, ``-p``)
print the same fields of the same records in the same order; they differ only in
spelling.  So there is one compiled traversal here (:c:func:`put_type`, driven by
:func:`dump_chunk`), which visits each selected type, its fields and its members,
enumerators, parameters or DATASEC entries, and tells a small set of emitters what
it found ("type begins", "field
``size`` = 8", "element begins", ...).  Each emitter spells its event for the
output format held in the :c:type:`Out` context: raw text (``" size=8"``,
``"\\n\\t'name'"``) or JSON (``,"size":8``, ``{"name":...``, with bpftool's
``-p`` line breaks and indentation when pretty).  The few places where bpftool's
two printers disagree on a value rather than a spelling are emitters too: an
unsigned ENUM value (``%u`` in raw text, the ``__s32`` sign-extended to 64 bits
in JSON), the ``LL``/``ULL`` suffix of ENUM64 values and the ``(VAR 'x')``
suffix of DATASEC entries (raw text only).

The walk runs without the GIL and writes straight into the bytes object of each
chunk it returns; :mod:`btfdedup.render.raw` and :mod:`btfdedup.render.json` drive
it chunk by chunk.
"""

from cpython.bytes cimport _PyBytes_Resize
from cpython.object cimport PyObject
from cpython.ref cimport Py_XDECREF
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memchr, memcpy, memset

from btfdedup.errors import BtfFormatError
from btfdedup.format.constants import KIND_NAMES

from btfdedup.format.kinds cimport (
    K_ARRAY,
    K_DATASEC,
    K_DECL_TAG,
    K_ENUM,
    K_ENUM64,
    K_FLOAT,
    K_FUNC,
    K_FUNC_PROTO,
    K_FWD,
    K_INT,
    K_MAX,
    K_PTR,
    K_VAR,
    is_any_enum,
    is_composite,
    is_modifier,
    kflag_of,
    kind_of,
    vlen_of,
)

#: ``fmt`` of :func:`dump_chunk`: bpftool's raw text, ``-j`` JSON, ``-p`` JSON
FORMAT_RAW = 0
FORMAT_JSON = 1
FORMAT_JSON_PRETTY = 2

# Room checked before each raw text line, or each JSON type header or element,
# beyond the one name it holds (raw bytes; up to 6 bytes per name byte in JSON).
# The longest raw line has 90 other bytes (an ARRAY header), the longest JSON
# stretch about 250 (an INT object, pretty); both leave room for the fixed-size
# copies below, which may write up to 24 bytes past their text.
cdef enum:
    LINE_SLACK = 192
    JSON_SLACK = 512

# Field keys, in one table per format.  A raw key carries the separator that
# precedes it (" size=", ", linkage=" for a VAR); the first key of a DATASEC
# entry is written without it.  List keys (members, values, ...) have no raw
# spelling: raw text just puts each element on its own line.
cdef enum:
    KEY_ID
    KEY_KIND
    KEY_NAME
    KEY_SIZE
    KEY_BITS_OFFSET
    KEY_NR_BITS
    KEY_ENCODING
    KEY_TYPE_ID
    KEY_INDEX_TYPE_ID
    KEY_NR_ELEMS
    KEY_VLEN
    KEY_BITFIELD_SIZE
    KEY_VAL
    KEY_FWD_KIND
    KEY_LINKAGE
    KEY_VAR_LINKAGE
    KEY_RET_TYPE_ID
    KEY_OFFSET
    KEY_COMPONENT_IDX
    KEY_MEMBERS
    KEY_VALUES
    KEY_PARAMS
    KEY_VARS
    N_KEYS

# One padded row of a text table.  Rows are copied 16 bytes at a time whatever
# their length (a fixed-size copy the C compiler turns into plain moves); the
# room each line or object reserves (LINE_SLACK, JSON_SLACK) absorbs the bytes
# written past the text, which the next write overwrites.
cdef enum:
    TEXT_COPY = 16
    TEXT_ROW = 32

cdef struct Text:
    char s[TEXT_ROW]
    int n


cdef Text RAW_KEY[N_KEYS]
cdef int RAW_SEP_LEN[N_KEYS]
cdef Text JSON_KEY[N_KEYS]

# Word values: printed bare in raw text, quoted in JSON.
cdef enum:
    W_ENC_NONE
    W_ENC_SIGNED
    W_ENC_CHAR
    W_ENC_BOOL
    W_ENC_UNKN
    W_STATIC
    W_GLOBAL
    W_EXTERN
    W_LINK_UNKNOWN
    W_STRUCT
    W_UNION
    W_SIGNED
    W_UNSIGNED
    N_WORDS

cdef Text WORD[N_WORDS]

# Kind names as bpftool spells them; kind 0 and kinds above K_MAX print as UNKNOWN.
cdef Text KIND_TXT[K_MAX + 1]

cdef const char* HEX = b"0123456789abcdef"
# a newline and at least the deepest indentation of pretty JSON (IND_ELEM_KEY, 20)
cdef enum:
    NEWLINE_INDENT_COPY = 24
cdef const char* NEWLINE_INDENT = b"\n                       "
# "00" "01" ... "99", for writing decimal digits two at a time
cdef char DIGIT_PAIRS[200]
# 10**0 .. 10**19, for counting decimal digits
cdef uint64_t POW10[20]


cdef int set_text(Text* row, bytes text) except -1:
    """Fill a :c:type:`Text` row (at most TEXT_COPY bytes)."""
    if len(text) > TEXT_COPY:
        raise ValueError(f"table text {text!r} is longer than {TEXT_COPY} bytes")
    memset(row.s, 0, TEXT_ROW)
    memcpy(row.s, <const char*>text, len(text))
    row.n = len(text)
    return 0


cdef int _key(int k, bytes raw, int raw_sep, bytes json) except -1:
    set_text(&RAW_KEY[k], raw)
    RAW_SEP_LEN[k] = raw_sep
    set_text(&JSON_KEY[k], json)
    return 0


cdef int _word(int w, bytes s) except -1:
    return set_text(&WORD[w], s)


_key(KEY_ID, b"", 0, b'"id":')
_key(KEY_KIND, b"", 0, b'"kind":')
_key(KEY_NAME, b"", 0, b'"name":')
_key(KEY_SIZE, b" size=", 1, b'"size":')
_key(KEY_BITS_OFFSET, b" bits_offset=", 1, b'"bits_offset":')
_key(KEY_NR_BITS, b" nr_bits=", 1, b'"nr_bits":')
_key(KEY_ENCODING, b" encoding=", 1, b'"encoding":')
_key(KEY_TYPE_ID, b" type_id=", 1, b'"type_id":')
_key(KEY_INDEX_TYPE_ID, b" index_type_id=", 1, b'"index_type_id":')
_key(KEY_NR_ELEMS, b" nr_elems=", 1, b'"nr_elems":')
_key(KEY_VLEN, b" vlen=", 1, b'"vlen":')
_key(KEY_BITFIELD_SIZE, b" bitfield_size=", 1, b'"bitfield_size":')
_key(KEY_VAL, b" val=", 1, b'"val":')
_key(KEY_FWD_KIND, b" fwd_kind=", 1, b'"fwd_kind":')
_key(KEY_LINKAGE, b" linkage=", 1, b'"linkage":')
_key(KEY_VAR_LINKAGE, b", linkage=", 2, b'"linkage":')
_key(KEY_RET_TYPE_ID, b" ret_type_id=", 1, b'"ret_type_id":')
_key(KEY_OFFSET, b" offset=", 1, b'"offset":')
_key(KEY_COMPONENT_IDX, b" component_idx=", 1, b'"component_idx":')
_key(KEY_MEMBERS, b"", 0, b'"members":')
_key(KEY_VALUES, b"", 0, b'"values":')
_key(KEY_PARAMS, b"", 0, b'"params":')
_key(KEY_VARS, b"", 0, b'"vars":')

_word(W_ENC_NONE, b"(none)")
_word(W_ENC_SIGNED, b"SIGNED")
_word(W_ENC_CHAR, b"CHAR")
_word(W_ENC_BOOL, b"BOOL")
_word(W_ENC_UNKN, b"UNKN")
_word(W_STATIC, b"static")
_word(W_GLOBAL, b"global")
_word(W_EXTERN, b"extern")
_word(W_LINK_UNKNOWN, b"(unknown)")
_word(W_STRUCT, b"struct")
_word(W_UNION, b"union")
_word(W_SIGNED, b"SIGNED")
_word(W_UNSIGNED, b"UNSIGNED")


cdef int _kind_names() except -1:
    cdef int k
    for k in range(K_MAX + 1):
        set_text(&KIND_TXT[k], b"UNKNOWN" if k == 0 else KIND_NAMES[k].encode())
    return 0


_kind_names()


cdef int _numbers() except -1:
    cdef int i
    cdef uint64_t p = 1
    for i in range(100):
        DIGIT_PAIRS[2 * i] = <char>(48 + i // 10)
        DIGIT_PAIRS[2 * i + 1] = <char>(48 + i % 10)
    for i in range(20):
        POW10[i] = p
        p *= 10
    return 0


_numbers()


# ------------------------------------------------------------------ output
cdef struct Out:
    uint8_t* buf
    Py_ssize_t pos
    Py_ssize_t cap
    const uint8_t* strs     # every string section of the base chain, concatenated
    Py_ssize_t nstrs
    bint json               # JSON rather than raw text
    bint pretty             # JSON with bpftool -p line breaks and indentation
    int indent              # indentation of the current object's keys (pretty JSON)


# Indentation (spaces) in pretty JSON: a type's keys, its closing brace, an
# element's keys, an element's closing brace, an element list's closing bracket.
cdef enum:
    IND_TYPE_KEY = 12
    IND_TYPE_END = 8
    IND_ELEM_KEY = 20
    IND_ELEM_END = 16
    IND_LIST_END = 12


cdef inline void put(Out* o, const char* s, Py_ssize_t n) noexcept nogil:
    memcpy(o.buf + o.pos, s, n)
    o.pos += n


cdef inline void put_byte(Out* o, uint8_t c) noexcept nogil:
    o.buf[o.pos] = c
    o.pos += 1


cdef inline void put_text(Out* o, const Text* t, int skip) noexcept nogil:
    """A table row without its first ``skip`` bytes (see :c:type:`Text`)."""
    memcpy(o.buf + o.pos, t.s + skip, TEXT_COPY)
    o.pos += t.n - skip


cdef inline int decimal_digits(uint64_t v) noexcept nogil:
    """How many decimal digits ``v`` has (1 for 0)."""
    cdef int n = 1
    while n < 20 and v >= POW10[n]:
        n += 1
    return n


cdef inline void put_u64(Out* o, uint64_t v) noexcept nogil:
    """Decimal digits of an unsigned integer (``%u``/``%llu``), two at a time."""
    cdef int n = decimal_digits(v)
    cdef uint8_t* p
    cdef uint64_t r
    o.pos += n
    p = o.buf + o.pos
    while v >= 100:
        r = v % 100
        v //= 100
        p -= 2
        p[0] = DIGIT_PAIRS[2 * r]
        p[1] = DIGIT_PAIRS[2 * r + 1]
    if v >= 10:
        p -= 2
        p[0] = DIGIT_PAIRS[2 * v]
        p[1] = DIGIT_PAIRS[2 * v + 1]
    else:
        p -= 1
        p[0] = <uint8_t>(48 + v)


cdef inline void put_i64(Out* o, int64_t v) noexcept nogil:
    """Decimal digits of a signed integer (``%d``/``%lld``), INT64_MIN included."""
    if v < 0:
        put_byte(o, 45)
        put_u64(o, <uint64_t>0 - <uint64_t>v)
    else:
        put_u64(o, <uint64_t>v)


cdef inline Py_ssize_t name_len(const Out* o, uint32_t off) noexcept nogil:
    """Length of the C string at global offset ``off``; 0 for offset 0 or past the strings."""
    cdef const uint8_t* s
    cdef const uint8_t* e
    if off == 0 or off >= o.nstrs:
        return 0
    s = o.strs + off
    e = <const uint8_t*>memchr(s, 0, o.nstrs - off)
    return (e - s) if e != NULL else (o.nstrs - off)


cdef inline bint fits(const Out* o, Py_ssize_t nlen) noexcept nogil:
    """Room for one more line (raw) or object (JSON) holding a name of ``nlen`` bytes."""
    if o.json:
        return o.pos + JSON_SLACK + 6 * nlen <= o.cap
    return o.pos + LINE_SLACK + nlen <= o.cap


cdef inline void eol(Out* o, int indent) noexcept nogil:
    """Pretty JSON's line break and indentation (nothing in compact JSON): a
    fixed-size copy of a newline and spaces, of which 1 + ``indent`` bytes count."""
    if o.pretty:
        memcpy(o.buf + o.pos, NEWLINE_INDENT, NEWLINE_INDENT_COPY)
        o.pos += 1 + indent


cdef inline void key(Out* o, int k, bint first) noexcept nogil:
    """A field's key: ``" size="`` in raw text; json_writer's ``jsonw_name`` in JSON
    (comma unless ``first``, line break, quoted key, colon)."""
    if not o.json:
        put_text(o, &RAW_KEY[k], RAW_SEP_LEN[k] if first else 0)
        return
    if not first:
        put_byte(o, 44)
    eol(o, o.indent)
    put_text(o, &JSON_KEY[k], 0)
    if o.pretty:
        put_byte(o, 32)


cdef inline void field_u(Out* o, int k, uint64_t v) noexcept nogil:
    key(o, k, False)
    put_u64(o, v)


cdef inline void field_i(Out* o, int k, int64_t v) noexcept nogil:
    key(o, k, False)
    put_i64(o, v)


cdef inline void put_word(Out* o, const Text* t) noexcept nogil:
    """A word value: bare in raw text, a JSON string in JSON."""
    if o.json:
        put_byte(o, 34)
        put_text(o, t, 0)
        put_byte(o, 34)
    else:
        put_text(o, t, 0)


cdef inline void field_w(Out* o, int k, int w) noexcept nogil:
    key(o, k, False)
    put_word(o, &WORD[w])


cdef inline void put_kind(Out* o, int kind) noexcept nogil:
    if kind > K_MAX:
        kind = 0
    put_word(o, &KIND_TXT[kind])


cdef inline void put_raw_name(Out* o, uint32_t off, Py_ssize_t nlen) noexcept nogil:
    """bpftool's ``btf_str``: ``(anon)``, ``(invalid)`` or the raw name bytes."""
    if off == 0:
        put(o, b"(anon)", 6)
    elif off >= o.nstrs:
        put(o, b"(invalid)", 9)
    else:
        put(o, <const char*>(o.strs + off), nlen)


cdef inline void put_json_name(Out* o, uint32_t off, Py_ssize_t nlen) noexcept nogil:
    """A name as a JSON string: ``"`` and ``\\`` escaped, control bytes as ``\\t``,
    ``\\n``, ... or ``\\u00XX``; other bytes (UTF-8 or not) as they are."""
    cdef const uint8_t* s
    cdef uint8_t c
    cdef Py_ssize_t e
    cdef uint8_t* b
    if off == 0 or off >= o.nstrs:
        put_byte(o, 34)
        put_raw_name(o, off, 0)
        put_byte(o, 34)
        return
    s = o.strs + off
    b = o.buf
    b[o.pos] = 34
    o.pos += 1
    for e in range(nlen):
        c = s[e]
        if c == 34 or c == 92:
            b[o.pos] = 92
            b[o.pos + 1] = c
            o.pos += 2
        elif c < 32:
            b[o.pos] = 92
            if c == 9:
                b[o.pos + 1] = 116
                o.pos += 2
            elif c == 10:
                b[o.pos + 1] = 110
                o.pos += 2
            elif c == 13:
                b[o.pos + 1] = 114
                o.pos += 2
            elif c == 12:
                b[o.pos + 1] = 102
                o.pos += 2
            elif c == 8:
                b[o.pos + 1] = 98
                o.pos += 2
            else:
                b[o.pos + 1] = 117
                b[o.pos + 2] = 48
                b[o.pos + 3] = 48
                b[o.pos + 4] = HEX[c >> 4]
                b[o.pos + 5] = HEX[c & 15]
                o.pos += 6
        else:
            b[o.pos] = c
            o.pos += 1
    b[o.pos] = 34
    o.pos += 1


# ------------------------------------------------------------------ events
cdef inline void type_begin(Out* o, uint64_t tid, int kind, uint32_t name_off, Py_ssize_t nlen) noexcept nogil:
    """``[ID] KIND 'name'`` / ``,{"id":ID,"kind":"KIND","name":"name"``."""
    if not o.json:
        put_byte(o, 91)
        put_u64(o, tid)
        put(o, b"] ", 2)
        put_kind(o, kind)
        put(o, b" '", 2)
        put_raw_name(o, name_off, nlen)
        put_byte(o, 39)
        return
    o.indent = IND_TYPE_KEY
    put(o, b",{", 2)
    key(o, KEY_ID, True)
    put_u64(o, tid)
    key(o, KEY_KIND, False)
    put_kind(o, kind)
    key(o, KEY_NAME, False)
    put_json_name(o, name_off, nlen)


cdef inline void type_end(Out* o) noexcept nogil:
    if o.json:
        eol(o, IND_TYPE_END)
        put_byte(o, 125)
    else:
        put_byte(o, 10)


cdef inline void list_begin(Out* o, int k) noexcept nogil:
    """A type's element list: nothing in raw text, ``,"members":[`` in JSON."""
    if o.json:
        key(o, k, False)
        put_byte(o, 91)


cdef inline void list_end(Out* o, uint32_t count) noexcept nogil:
    if o.json:
        if count > 0:
            eol(o, IND_LIST_END)
        put_byte(o, 93)


cdef inline void elem_begin(Out* o, uint32_t m) noexcept nogil:
    """Element ``m`` of a list: a new TAB-indented line in raw text, ``,{`` in JSON."""
    if o.json:
        if m > 0:
            put_byte(o, 44)
        put_byte(o, 123)
        o.indent = IND_ELEM_KEY
    else:
        put(o, b"\n\t", 2)


cdef inline void elem_name(Out* o, uint32_t off, Py_ssize_t nlen) noexcept nogil:
    """An element's name, its first field: ``'name'`` / ``"name":"name"``."""
    if o.json:
        key(o, KEY_NAME, True)
        put_json_name(o, off, nlen)
    else:
        put_byte(o, 39)
        put_raw_name(o, off, nlen)
        put_byte(o, 39)


cdef inline void elem_end(Out* o) noexcept nogil:
    if o.json:
        eol(o, IND_ELEM_END)
        put_byte(o, 125)
        o.indent = IND_TYPE_KEY


cdef inline void enum_val(Out* o, bint is64, bint kflag, uint32_t lo, uint32_t hi) noexcept nogil:
    """An enumerator's value as each bpftool printer spells it: signed when the
    kflag says so; an unsigned ENUM value as ``%u`` (raw) or as its ``__s32``
    sign-extended to 64 bits (JSON); ENUM64 values with ``LL``/``ULL`` in raw text."""
    cdef uint64_t v
    key(o, KEY_VAL, False)
    if not is64:
        if kflag:
            put_i64(o, <int32_t>lo)
        elif o.json:
            put_u64(o, <uint64_t><int64_t><int32_t>lo)
        else:
            put_u64(o, lo)
        return
    v = (<uint64_t>hi << 32) | lo
    if kflag:
        put_i64(o, <int64_t>v)
        if not o.json:
            put(o, b"LL", 2)
    else:
        put_u64(o, v)
        if not o.json:
            put(o, b"ULL", 3)


cdef inline void datasec_target(Out* o, int kind, uint32_t name_off, Py_ssize_t nlen) noexcept nogil:
    """Raw text's `` (VAR 'name')`` after a DATASEC entry; JSON has none."""
    if o.json:
        return
    put(o, b" (", 2)
    put_kind(o, kind)
    put(o, b" '", 2)
    put_raw_name(o, name_off, nlen)
    put(o, b"')", 2)


cdef inline int enc_word(uint32_t enc) noexcept nogil:
    if enc == 0:
        return W_ENC_NONE
    if enc == 1:
        return W_ENC_SIGNED
    if enc == 2:
        return W_ENC_CHAR
    if enc == 4:
        return W_ENC_BOOL
    return W_ENC_UNKN


cdef inline int link_word(uint32_t linkage) noexcept nogil:
    return W_STATIC + linkage if linkage < 3 else W_LINK_UNKNOWN


# ------------------------------------------------------------------ the walk
cdef enum:
    PUT_OK = 0
    PUT_FULL = 1        # the buffer cannot take the whole type
    PUT_TRUNCATED = 2   # the record runs past the type section


cdef int put_type(Out* o, const uint32_t* words, Py_ssize_t nwords, Py_ssize_t p, uint64_t tid,
                  const uint8_t* all_kind, const uint32_t* all_name, uint32_t type_cnt) noexcept nogil:
    """Emit the record at word ``p`` (type ``tid``): its header, fields and elements."""
    cdef uint32_t info, size, vlen, v, off, vt, m
    cdef int kind
    cdef bint kflag
    cdef Py_ssize_t q, step, nlen
    if p + 3 > nwords:
        return PUT_TRUNCATED
    nlen = name_len(o, words[p])
    if not fits(o, nlen):
        return PUT_FULL
    info = words[p + 1]
    kind = kind_of(info)
    vlen = vlen_of(info)
    kflag = kflag_of(info)
    size = words[p + 2]
    step = 0
    if is_composite(kind) or kind == K_DATASEC or kind == K_ENUM64:
        step = 3
    elif kind == K_ENUM or kind == K_FUNC_PROTO:
        step = 2
    elif kind == K_INT or kind == K_VAR or kind == K_DECL_TAG:
        if p + 4 > nwords:
            return PUT_TRUNCATED
    elif kind == K_ARRAY:
        if p + 6 > nwords:
            return PUT_TRUNCATED
    if p + 3 + step * <Py_ssize_t>vlen > nwords:
        return PUT_TRUNCATED
    type_begin(o, tid, kind, words[p], nlen)
    q = p + 3
    if kind == K_INT:
        v = words[p + 3]
        field_u(o, KEY_SIZE, size)
        field_u(o, KEY_BITS_OFFSET, (v >> 16) & 0xFF)
        field_u(o, KEY_NR_BITS, v & 0xFF)
        field_w(o, KEY_ENCODING, enc_word((v >> 24) & 0x0F))
    elif kind == K_PTR or is_modifier(kind):
        field_u(o, KEY_TYPE_ID, size)
    elif kind == K_ARRAY:
        field_u(o, KEY_TYPE_ID, words[p + 3])
        field_u(o, KEY_INDEX_TYPE_ID, words[p + 4])
        field_u(o, KEY_NR_ELEMS, words[p + 5])
    elif is_composite(kind):
        field_u(o, KEY_SIZE, size)
        field_u(o, KEY_VLEN, vlen)
        list_begin(o, KEY_MEMBERS)
        for m in range(vlen):
            nlen = name_len(o, words[q])
            if not fits(o, nlen):
                return PUT_FULL
            elem_begin(o, m)
            elem_name(o, words[q], nlen)
            field_u(o, KEY_TYPE_ID, words[q + 1])
            off = words[q + 2]
            if kflag:
                field_u(o, KEY_BITS_OFFSET, off & 0xFFFFFF)
                if (off >> 24) != 0:
                    field_u(o, KEY_BITFIELD_SIZE, off >> 24)
            else:
                field_u(o, KEY_BITS_OFFSET, off)
            elem_end(o)
            q += 3
        list_end(o, vlen)
    elif is_any_enum(kind):
        field_w(o, KEY_ENCODING, W_SIGNED if kflag else W_UNSIGNED)
        field_u(o, KEY_SIZE, size)
        field_u(o, KEY_VLEN, vlen)
        list_begin(o, KEY_VALUES)
        for m in range(vlen):
            nlen = name_len(o, words[q])
            if not fits(o, nlen):
                return PUT_FULL
            elem_begin(o, m)
            elem_name(o, words[q], nlen)
            enum_val(o, kind == K_ENUM64, kflag, words[q + 1], words[q + 2] if kind == K_ENUM64 else 0)
            elem_end(o)
            q += step
        list_end(o, vlen)
    elif kind == K_FWD:
        field_w(o, KEY_FWD_KIND, W_UNION if kflag else W_STRUCT)
    elif kind == K_FUNC:
        field_u(o, KEY_TYPE_ID, size)
        field_w(o, KEY_LINKAGE, link_word(vlen))
    elif kind == K_FUNC_PROTO:
        field_u(o, KEY_RET_TYPE_ID, size)
        field_u(o, KEY_VLEN, vlen)
        list_begin(o, KEY_PARAMS)
        for m in range(vlen):
            nlen = name_len(o, words[q])
            if not fits(o, nlen):
                return PUT_FULL
            elem_begin(o, m)
            elem_name(o, words[q], nlen)
            field_u(o, KEY_TYPE_ID, words[q + 1])
            elem_end(o)
            q += 2
        list_end(o, vlen)
    elif kind == K_VAR:
        field_u(o, KEY_TYPE_ID, size)
        field_w(o, KEY_VAR_LINKAGE, link_word(words[p + 3]))
    elif kind == K_DATASEC:
        field_u(o, KEY_SIZE, size)
        field_u(o, KEY_VLEN, vlen)
        list_begin(o, KEY_VARS)
        for m in range(vlen):
            vt = words[q]
            nlen = name_len(o, all_name[vt]) if vt < type_cnt else 0
            if not fits(o, nlen):
                return PUT_FULL
            elem_begin(o, m)
            key(o, KEY_TYPE_ID, True)
            put_u64(o, vt)
            field_u(o, KEY_OFFSET, words[q + 1])
            field_u(o, KEY_SIZE, words[q + 2])
            if vt < type_cnt:
                datasec_target(o, all_kind[vt], all_name[vt], nlen)
            elem_end(o)
            q += 3
        list_end(o, vlen)
    elif kind == K_FLOAT:
        field_u(o, KEY_SIZE, size)
    elif kind == K_DECL_TAG:
        field_u(o, KEY_TYPE_ID, size)
        field_i(o, KEY_COMPONENT_IDX, <int32_t>words[p + 3])
    type_end(o)
    return PUT_OK


cdef extern from "Python.h":
    # The bytes object a chunk is written into, handled as a raw pointer so that
    # it can be shrunk in place (_PyBytes_Resize) once the chunk is known.
    PyObject* new_bytes "PyBytes_FromStringAndSize"(const char* v, Py_ssize_t n)
    char* bytes_data "PyBytes_AS_STRING"(PyObject* b)


def dump_chunk(
    const uint32_t[::1] words,
    const int64_t[::1] type_start,
    const int64_t[::1] sel,
    int64_t start_id,
    const uint8_t[::1] strs,
    const uint8_t[::1] all_kind,
    const uint32_t[::1] all_name,
    uint32_t type_cnt,
    Py_ssize_t first,
    Py_ssize_t cap,
    int64_t[::1] ends,
    int fmt,
    Py_ssize_t nall=-1,
) -> tuple[int, bytes | None]:
    """Write types ``sel[first:]`` of one BTF object, as many as ``cap`` bytes hold.

    ``nall`` >= 0 selects rows ``0 .. nall - 1`` instead (``sel`` is then ignored):
    the whole object, without a selection array to build.
    ``words``/``type_start`` are the object's type section and record starts,
    ``start_id`` its first type ID; ``strs`` is every string section of its base
    chain concatenated and ``all_kind``/``all_name`` the kind and name offset of
    every type ID below ``type_cnt`` (for DATASEC entries).  ``fmt`` is one of
    ``FORMAT_RAW``, ``FORMAT_JSON``, ``FORMAT_JSON_PRETTY``; a JSON type object is
    preceded by ``,``.  Returns ``(next, data)``: the first ``sel`` index not
    written and the bytes written, or ``(first, None)`` when the first type alone
    does not fit in ``cap`` bytes.  Unless ``ends`` is empty, ``ends[j]`` receives
    the end offset in ``data`` of each type written.

    The text is written straight into the bytes object returned (shrunk to its
    length in place), so a chunk is never copied.
    """
    cdef Out o
    cdef Py_ssize_t nsel = nall if nall >= 0 else sel.shape[0]
    cdef Py_ssize_t ntypes = type_start.shape[0]
    cdef Py_ssize_t j, start
    cdef int64_t i
    cdef int status = PUT_OK
    cdef bint want_ends = ends.shape[0] > 0
    cdef PyObject* chunk
    cdef object data
    if fmt not in (FORMAT_RAW, FORMAT_JSON, FORMAT_JSON_PRETTY):
        raise ValueError(f"unknown dump format code {fmt}")
    if first < 0 or first > nsel or (want_ends and ends.shape[0] < nsel) or cap < 1:
        raise ValueError("dump_chunk: first, cap or ends do not match sel")
    if all_kind.shape[0] < type_cnt or all_name.shape[0] < type_cnt:
        raise ValueError("dump_chunk: all_kind/all_name shorter than type_cnt")
    chunk = new_bytes(NULL, cap)
    if chunk == NULL:
        raise MemoryError(f"dump chunk of {cap} bytes")
    o.buf = <uint8_t*>bytes_data(chunk)
    o.cap = cap
    o.pos = 0
    o.strs = &strs[0] if strs.shape[0] > 0 else NULL
    o.nstrs = strs.shape[0]
    o.json = fmt != FORMAT_RAW
    o.pretty = fmt == FORMAT_JSON_PRETTY
    o.indent = IND_TYPE_KEY
    j = first
    with nogil:
        while j < nsel:
            i = j if nall >= 0 else sel[j]
            if i < 0 or i >= ntypes or type_start[i] < 0:
                status = PUT_TRUNCATED
                break
            start = o.pos
            status = put_type(&o, &words[0] if words.shape[0] > 0 else NULL, words.shape[0], type_start[i],
                              <uint64_t>(start_id + i), &all_kind[0] if type_cnt > 0 else NULL,
                              &all_name[0] if type_cnt > 0 else NULL, type_cnt)
            if status != PUT_OK:
                o.pos = start
                break
            if want_ends:
                ends[j] = o.pos
            j += 1
    if status == PUT_TRUNCATED or j == first:
        Py_XDECREF(chunk)
        if status == PUT_TRUNCATED:
            raise BtfFormatError(
                f"type ID {start_id + (j if nall >= 0 else sel[j])}: record runs past the end of the type section"
            )
        return j, None
    # On failure _PyBytes_Resize frees the object, sets chunk to NULL and raises.
    _PyBytes_Resize(&chunk, o.pos)
    data = <object>chunk
    Py_XDECREF(chunk)
    return j, data


def name_offsets(const uint32_t[::1] words, const int64_t[::1] type_start, uint32_t[::1] out, Py_ssize_t at) -> None:
    """``out[at + i]`` = the ``name_off`` word of record ``i`` (``words[type_start[i]]``),
    for every record of one object: its part of the whole-chain name column a dump
    looks DATASEC entries up in (``at`` is its first type ID)."""
    cdef Py_ssize_t n = type_start.shape[0] - 1
    cdef Py_ssize_t n_words = words.shape[0]
    cdef Py_ssize_t i
    cdef int64_t p
    cdef bint bad = False
    if n < 0:
        return
    if at < 0 or at > out.shape[0] - n:
        raise ValueError(f"name_offsets: {n} records at {at} do not fit {out.shape[0]} entries")
    with nogil:
        for i in range(n):
            p = type_start[i]
            if p < 0 or p >= n_words:
                bad = True
                break
            out[at + i] = words[p]
    if bad:
        raise ValueError("name_offsets: a record start lies outside the type section")
