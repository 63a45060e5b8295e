"""bpftool-compatible JSON dump (``bpftool -j btf dump file F``; ``-p`` for pretty).

The document is ``{"types":[...]}`` with one object per type whose keys follow the
raw dump's field names (``id``, ``kind``, ``name`` first) and whose element lists
are ``members``, ``values``, ``params`` and ``vars``.  Compact output is one line;
pretty output reproduces bpftool's json_writer layout (4-space indent, ``"key": v``,
``},{`` between array elements).  Values are bpftool's, quirks included: an
unsigned ENUM prints its 32-bit value sign-extended to 64 bits (bpftool passes
the ``__s32`` to a ``uint64_t`` field), a signed one as ``%d``; ``bitfield_size``
appears only when non-zero; DATASEC entries carry no ``(VAR 'x')`` suffix.

String escaping is where we deliberately differ, to always emit valid JSON:
bpftool escapes ``'`` as ``\\'`` and ``\\`` as ``\\n`` and passes other control
bytes through raw; we leave ``'`` alone, escape ``\\`` as ``\\\\`` and other
control bytes as ``\\u00XX``.  Real BTF names contain none of these.  Name bytes
that are not UTF-8 are passed through raw, as bpftool does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING

import numpy as np
from numba import njit

from btfdedup.format.constants import BTF_KIND_MAX, KIND_NAMES
from btfdedup.render.raw import (
    DumpTables,
    _chunks,
    _lit,
    kind_safe,
    name_len,
    put,
    put_i64,
    put_row,
    put_u64,
    resolve_ids,
    s32,
)

if TYPE_CHECKING:
    from btfdedup.model.btf import Btf


def _quoted_table(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(n) for n in names) + 2
    tab = np.zeros((len(names), width), dtype=np.uint8)
    lens = np.zeros(len(names), dtype=np.int64)
    for i, n in enumerate(names):
        q = f'"{n}"'
        tab[i, : len(q)] = _lit(q)
        lens[i] = len(q)
    return tab, lens


QKIND_TXT, QKIND_TXT_LEN = _quoted_table(["UNKNOWN" if k == 0 else KIND_NAMES[k] for k in range(BTF_KIND_MAX + 1)])
QENC_TXT, QENC_TXT_LEN = _quoted_table(["(none)", "SIGNED", "CHAR", "BOOL", "UNKN"])
QLINK_TXT, QLINK_TXT_LEN = _quoted_table(["static", "global", "extern", "(unknown)"])

K_ID = _lit('"id":')
K_KIND = _lit('"kind":')
K_NAME = _lit('"name":')
K_SIZE = _lit('"size":')
K_BITS_OFFSET = _lit('"bits_offset":')
K_NR_BITS = _lit('"nr_bits":')
K_ENCODING = _lit('"encoding":')
K_TYPE_ID = _lit('"type_id":')
K_INDEX_TYPE_ID = _lit('"index_type_id":')
K_NR_ELEMS = _lit('"nr_elems":')
K_VLEN = _lit('"vlen":')
K_MEMBERS = _lit('"members":')
K_BITFIELD_SIZE = _lit('"bitfield_size":')
K_VALUES = _lit('"values":')
K_VAL = _lit('"val":')
K_FWD_KIND = _lit('"fwd_kind":')
K_LINKAGE = _lit('"linkage":')
K_RET_TYPE_ID = _lit('"ret_type_id":')
K_PARAMS = _lit('"params":')
K_VARS = _lit('"vars":')
K_OFFSET = _lit('"offset":')
K_COMPONENT_IDX = _lit('"component_idx":')
V_SIGNED = _lit('"SIGNED"')
V_UNSIGNED = _lit('"UNSIGNED"')
V_STRUCT = _lit('"struct"')
V_UNION = _lit('"union"')
V_ANON = _lit('"(anon)"')
V_INVALID = _lit('"(invalid)"')
HEX = _lit("0123456789abcdef")

#: Indentation (spaces) of a type's keys, its closing brace, an element's keys,
#: an element's closing brace and an element list's closing bracket (pretty mode).
IND_TYPE_KEY, IND_TYPE_END, IND_ELEM_KEY, IND_ELEM_END, IND_LIST_END = 12, 8, 20, 16, 12
#: Bytes reserved per JSON object beyond its escaped name (keys, digits, indent).
JSON_SLACK = 512


@njit(cache=True, nogil=True)
def _eol(out, pos, pretty, indent):  # type: ignore[no-untyped-def]
    if pretty:
        out[pos] = 10
        pos += 1
        for _ in range(indent):
            out[pos] = 32
            pos += 1
    return pos


@njit(cache=True, nogil=True)
def _key(out, pos, lit, first, pretty, indent):  # type: ignore[no-untyped-def]
    """json_writer's ``jsonw_name``: separator, line break, quoted key, colon."""
    if not first:
        out[pos] = 44
        pos += 1
    pos = _eol(out, pos, pretty, indent)
    pos = put(out, pos, lit)
    if pretty:
        out[pos] = 32
        pos += 1
    return pos


@njit(cache=True, nogil=True)
def _jname(out, pos, strs, off):  # type: ignore[no-untyped-def]
    """A BTF name as a JSON string (``(anon)``/``(invalid)`` like the raw dump)."""
    if off == 0:
        return put(out, pos, V_ANON)
    n = strs.shape[0]
    if off >= n:
        return put(out, pos, V_INVALID)
    out[pos] = 34
    pos += 1
    e = off
    while e < n and strs[e] != 0:
        c = strs[e]
        if c == 34 or c == 92:
            out[pos] = 92
            out[pos + 1] = c
            pos += 2
        elif c < 32:
            out[pos] = 92
            if c == 9:
                out[pos + 1] = 116
                pos += 2
            elif c == 10:
                out[pos + 1] = 110
                pos += 2
            elif c == 13:
                out[pos + 1] = 114
                pos += 2
            elif c == 12:
                out[pos + 1] = 102
                pos += 2
            elif c == 8:
                out[pos + 1] = 98
                pos += 2
            else:
                out[pos + 1] = 117
                out[pos + 2] = 48
                out[pos + 3] = 48
                out[pos + 4] = HEX[c >> 4]
                out[pos + 5] = HEX[c & 15]
                pos += 6
        else:
            out[pos] = c
            pos += 1
        e += 1
    out[pos] = 34
    return pos + 1


@njit(cache=True, nogil=True)
def _list_end(out, pos, pretty, count):  # type: ignore[no-untyped-def]
    if count > 0:
        pos = _eol(out, pos, pretty, IND_LIST_END)
    out[pos] = 93
    return pos + 1


@njit(cache=True, nogil=True)
def _elem_start(out, pos, m):  # type: ignore[no-untyped-def]
    if m > 0:
        out[pos] = 44
        pos += 1
    out[pos] = 123
    return pos + 1


@njit(cache=True, nogil=True)
def _elem_end(out, pos, pretty):  # type: ignore[no-untyped-def]
    pos = _eol(out, pos, pretty, IND_ELEM_END)
    out[pos] = 125
    return pos + 1


@njit(cache=True, nogil=True)
def _dump_json_chunk(words, type_start, sel, start_id, strs, all_kind, all_name, type_cnt, first, out, ends, pretty):  # type: ignore[no-untyped-def]
    """Write type objects ``sel[first:]`` (each preceded by ``,``) into ``out``.

    Same contract as the raw kernel: returns ``(next, pos)``.
    """
    cap = out.shape[0]
    pos = 0
    j = first
    nsel = sel.shape[0]
    TK = IND_TYPE_KEY
    EK = IND_ELEM_KEY
    while j < nsel:
        i = sel[j]
        p = type_start[i]
        start = pos
        if pos + JSON_SLACK + 6 * name_len(strs, words[p]) > cap:
            return j, pos
        info = words[p + 1]
        kind = (info >> 24) & 0x7F
        vlen = info & 0xFFFFFF
        kflag = info >> 31
        size = words[p + 2]
        out[pos] = 44
        out[pos + 1] = 123
        pos += 2
        pos = _key(out, pos, K_ID, True, pretty, TK)
        pos = put_u64(out, pos, start_id + i)
        pos = _key(out, pos, K_KIND, False, pretty, TK)
        pos = put_row(out, pos, QKIND_TXT, QKIND_TXT_LEN, kind_safe(kind))
        pos = _key(out, pos, K_NAME, False, pretty, TK)
        pos = _jname(out, pos, strs, words[p])
        overflow = False
        if kind == 1:  # INT
            v = words[p + 3]
            enc = (v >> 24) & 0x0F
            e = 0 if enc == 0 else 1 if enc == 1 else 2 if enc == 2 else 3 if enc == 4 else 4
            pos = _key(out, pos, K_SIZE, False, pretty, TK)
            pos = put_u64(out, pos, size)
            pos = _key(out, pos, K_BITS_OFFSET, False, pretty, TK)
            pos = put_u64(out, pos, (v >> 16) & 0xFF)
            pos = _key(out, pos, K_NR_BITS, False, pretty, TK)
            pos = put_u64(out, pos, v & 0xFF)
            pos = _key(out, pos, K_ENCODING, False, pretty, TK)
            pos = put_row(out, pos, QENC_TXT, QENC_TXT_LEN, e)
        elif kind == 2 or kind == 8 or kind == 9 or kind == 10 or kind == 11 or kind == 18:
            pos = _key(out, pos, K_TYPE_ID, False, pretty, TK)
            pos = put_u64(out, pos, size)
        elif kind == 3:  # ARRAY
            pos = _key(out, pos, K_TYPE_ID, False, pretty, TK)
            pos = put_u64(out, pos, words[p + 3])
            pos = _key(out, pos, K_INDEX_TYPE_ID, False, pretty, TK)
            pos = put_u64(out, pos, words[p + 4])
            pos = _key(out, pos, K_NR_ELEMS, False, pretty, TK)
            pos = put_u64(out, pos, words[p + 5])
        elif kind == 4 or kind == 5:  # STRUCT / UNION
            pos = _key(out, pos, K_SIZE, False, pretty, TK)
            pos = put_u64(out, pos, size)
            pos = _key(out, pos, K_VLEN, False, pretty, TK)
            pos = put_u64(out, pos, vlen)
            pos = _key(out, pos, K_MEMBERS, False, pretty, TK)
            out[pos] = 91
            pos += 1
            q = p + 3
            for m in range(vlen):
                if pos + JSON_SLACK + 6 * name_len(strs, words[q]) > cap:
                    overflow = True
                    break
                pos = _elem_start(out, pos, m)
                pos = _key(out, pos, K_NAME, True, pretty, EK)
                pos = _jname(out, pos, strs, words[q])
                pos = _key(out, pos, K_TYPE_ID, False, pretty, EK)
                pos = put_u64(out, pos, words[q + 1])
                off = words[q + 2]
                pos = _key(out, pos, K_BITS_OFFSET, False, pretty, EK)
                if kflag:
                    pos = put_u64(out, pos, off & 0xFFFFFF)
                    if (off >> 24) != 0:
                        pos = _key(out, pos, K_BITFIELD_SIZE, False, pretty, EK)
                        pos = put_u64(out, pos, off >> 24)
                else:
                    pos = put_u64(out, pos, off)
                pos = _elem_end(out, pos, pretty)
                q += 3
            pos = _list_end(out, pos, pretty, vlen)
        elif kind == 6 or kind == 19:  # ENUM / ENUM64
            pos = _key(out, pos, K_ENCODING, False, pretty, TK)
            pos = put(out, pos, V_SIGNED if kflag else V_UNSIGNED)
            pos = _key(out, pos, K_SIZE, False, pretty, TK)
            pos = put_u64(out, pos, size)
            pos = _key(out, pos, K_VLEN, False, pretty, TK)
            pos = put_u64(out, pos, vlen)
            pos = _key(out, pos, K_VALUES, False, pretty, TK)
            out[pos] = 91
            pos += 1
            q = p + 3
            step = 2 if kind == 6 else 3
            for m in range(vlen):
                if pos + JSON_SLACK + 6 * name_len(strs, words[q]) > cap:
                    overflow = True
                    break
                pos = _elem_start(out, pos, m)
                pos = _key(out, pos, K_NAME, True, pretty, EK)
                pos = _jname(out, pos, strs, words[q])
                pos = _key(out, pos, K_VAL, False, pretty, EK)
                if kind == 6:
                    sv = s32(words[q + 1])
                    if kflag:
                        pos = put_i64(out, pos, sv)
                    else:
                        # bpftool: uint64_t parameter fed an __s32 -> sign extension
                        pos = put_u64(out, pos, np.uint64(np.int64(sv)))
                else:
                    val = (np.uint64(words[q + 2]) << np.uint64(32)) | np.uint64(words[q + 1])
                    if kflag:
                        pos = put_i64(out, pos, np.int64(val))
                    else:
                        pos = put_u64(out, pos, val)
                pos = _elem_end(out, pos, pretty)
                q += step
            pos = _list_end(out, pos, pretty, vlen)
        elif kind == 7:  # FWD
            pos = _key(out, pos, K_FWD_KIND, False, pretty, TK)
            pos = put(out, pos, V_UNION if kflag else V_STRUCT)
        elif kind == 12:  # FUNC
            pos = _key(out, pos, K_TYPE_ID, False, pretty, TK)
            pos = put_u64(out, pos, size)
            pos = _key(out, pos, K_LINKAGE, False, pretty, TK)
            pos = put_row(out, pos, QLINK_TXT, QLINK_TXT_LEN, vlen if vlen < 3 else 3)
        elif kind == 13:  # FUNC_PROTO
            pos = _key(out, pos, K_RET_TYPE_ID, False, pretty, TK)
            pos = put_u64(out, pos, size)
            pos = _key(out, pos, K_VLEN, False, pretty, TK)
            pos = put_u64(out, pos, vlen)
            pos = _key(out, pos, K_PARAMS, False, pretty, TK)
            out[pos] = 91
            pos += 1
            q = p + 3
            for m in range(vlen):
                if pos + JSON_SLACK + 6 * name_len(strs, words[q]) > cap:
                    overflow = True
                    break
                pos = _elem_start(out, pos, m)
                pos = _key(out, pos, K_NAME, True, pretty, EK)
                pos = _jname(out, pos, strs, words[q])
                pos = _key(out, pos, K_TYPE_ID, False, pretty, EK)
                pos = put_u64(out, pos, words[q + 1])
                pos = _elem_end(out, pos, pretty)
                q += 2
            pos = _list_end(out, pos, pretty, vlen)
        elif kind == 14:  # VAR
            lk = words[p + 3]
            pos = _key(out, pos, K_TYPE_ID, False, pretty, TK)
            pos = put_u64(out, pos, size)
            pos = _key(out, pos, K_LINKAGE, False, pretty, TK)
            pos = put_row(out, pos, QLINK_TXT, QLINK_TXT_LEN, lk if lk < 3 else 3)
        elif kind == 15:  # DATASEC
            pos = _key(out, pos, K_SIZE, False, pretty, TK)
            pos = put_u64(out, pos, size)
            pos = _key(out, pos, K_VLEN, False, pretty, TK)
            pos = put_u64(out, pos, vlen)
            pos = _key(out, pos, K_VARS, False, pretty, TK)
            out[pos] = 91
            pos += 1
            q = p + 3
            for m in range(vlen):
                if pos + JSON_SLACK > cap:
                    overflow = True
                    break
                pos = _elem_start(out, pos, m)
                pos = _key(out, pos, K_TYPE_ID, True, pretty, EK)
                pos = put_u64(out, pos, words[q])
                pos = _key(out, pos, K_OFFSET, False, pretty, EK)
                pos = put_u64(out, pos, words[q + 1])
                pos = _key(out, pos, K_SIZE, False, pretty, EK)
                pos = put_u64(out, pos, words[q + 2])
                pos = _elem_end(out, pos, pretty)
                q += 3
            pos = _list_end(out, pos, pretty, vlen)
        elif kind == 16:  # FLOAT
            pos = _key(out, pos, K_SIZE, False, pretty, TK)
            pos = put_u64(out, pos, size)
        elif kind == 17:  # DECL_TAG
            pos = _key(out, pos, K_TYPE_ID, False, pretty, TK)
            pos = put_u64(out, pos, size)
            pos = _key(out, pos, K_COMPONENT_IDX, False, pretty, TK)
            pos = put_i64(out, pos, s32(words[p + 3]))
        if overflow:
            return j, start
        pos = _eol(out, pos, pretty, IND_TYPE_END)
        out[pos] = 125
        pos += 1
        ends[j] = pos
        j += 1
    return j, pos


def iter_json_chunks(
    btf: Btf, ids: Iterable[int] | None = None, *, pretty: bool = False, tables: DumpTables | None = None
) -> Iterator[bytes]:
    """The JSON document as byte chunks, ending with bpftool's final newline.

    Every ID in ``ids`` is checked before the first chunk, so a bad ID raises
    without a half-written document."""
    runs = resolve_ids(btf, ids)
    yield b'{\n    "types": [' if pretty else b'{"types":['
    any_type = False
    for data, _ends in _chunks(_dump_json_chunk, btf, runs, tables, pretty):
        if not any_type:
            data = data[1:]  # no separator before the first type
            any_type = True
        yield data
    if pretty:
        yield b"\n    ]\n}\n" if any_type else b"]\n}\n"
    else:
        yield b"]}\n"


def dump_json_bytes(btf: Btf, ids: Iterable[int] | None = None, *, pretty: bool = False) -> bytes:
    """The whole JSON document as bytes."""
    return b"".join(iter_json_chunks(btf, ids, pretty=pretty))


def dump_json(btf: Btf, ids: Iterable[int] | None = None, *, pretty: bool = False) -> str:
    """The whole JSON document as text (non-UTF-8 name bytes kept with ``surrogateescape``)."""
    return dump_json_bytes(btf, ids, pretty=pretty).decode("utf-8", "surrogateescape")


def write_json(btf: Btf, stream: IO[bytes], ids: Iterable[int] | None = None, *, pretty: bool = False) -> int:
    """Write the JSON document to a binary stream; returns the bytes written."""
    n = 0
    for data in iter_json_chunks(btf, ids, pretty=pretty):
        stream.write(data)
        n += len(data)
    return n
