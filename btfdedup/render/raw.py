"""bpftool-compatible raw text dump (``bpftool btf dump file F format raw``).

The output matches Debian's bpftool 7.1.0 byte for byte: one ``[ID] KIND 'NAME'``
line per type followed by its fields, one TAB-indented line per member,
enumerator, parameter or DATASEC entry.  For split BTF only the split part is
printed, with absolute type IDs.  Names are printed as raw bytes (like C's
``%s``), ``(anon)`` for offset 0 and ``(invalid)`` for an offset past the string
section; kinds above ENUM64 print as ``UNKNOWN`` with no fields.

The text is produced by one numba loop writing straight into a byte buffer,
chunk by chunk, so dumping the 3.4 M-type raw vmlinux costs about as much as
bpftool itself.  The byte-writing primitives here are shared with
:mod:`btfdedup.render.json`.

Known, deliberate difference: vlen is the full 24-bit field (as the rest of
btfdedup decodes it); bpftool 7.1.0 truncates vlen to 16 bits, which only
matters for records libbpf 1.1 cannot parse in the first place.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING, cast

import numpy as np
from numba import njit

from btfdedup.errors import BtfUsageError
from btfdedup.format.constants import BTF_KIND_MAX, KIND_NAMES

if TYPE_CHECKING:
    from btfdedup.model.btf import Btf

#: Output buffer size per chunk; a single type bigger than this grows it.
CHUNK_BYTES = 1 << 22


def _lit(s: str) -> np.ndarray:
    return np.frombuffer(s.encode(), dtype=np.uint8).copy()


# Kind names as bpftool spells them (kind 0 and unknown kinds -> "UNKNOWN").
_KIND_TXT_W = 16
KIND_TXT = np.zeros((BTF_KIND_MAX + 1, _KIND_TXT_W), dtype=np.uint8)
KIND_TXT_LEN = np.zeros(BTF_KIND_MAX + 1, dtype=np.int64)
for _k in range(BTF_KIND_MAX + 1):
    _n = "UNKNOWN" if _k == 0 else KIND_NAMES[_k]
    KIND_TXT[_k, : len(_n)] = _lit(_n)
    KIND_TXT_LEN[_k] = len(_n)

# INT encodings: index 0..4 = (none), SIGNED, CHAR, BOOL, UNKN
_ENC = ["(none)", "SIGNED", "CHAR", "BOOL", "UNKN"]
ENC_TXT = np.zeros((5, 8), dtype=np.uint8)
ENC_TXT_LEN = np.zeros(5, dtype=np.int64)
for _k, _n in enumerate(_ENC):
    ENC_TXT[_k, : len(_n)] = _lit(_n)
    ENC_TXT_LEN[_k] = len(_n)

# FUNC / VAR linkage: 0 static, 1 global, 2 extern, 3 (unknown)
_LINK = ["static", "global", "extern", "(unknown)"]
LINK_TXT = np.zeros((4, 10), dtype=np.uint8)
LINK_TXT_LEN = np.zeros(4, dtype=np.int64)
for _k, _n in enumerate(_LINK):
    LINK_TXT[_k, : len(_n)] = _lit(_n)
    LINK_TXT_LEN[_k] = len(_n)

L_ANON = _lit("(anon)")
L_INVALID = _lit("(invalid)")
L_SIZE = _lit(" size=")
L_BITS_OFFSET = _lit(" bits_offset=")
L_NR_BITS = _lit(" nr_bits=")
L_ENCODING = _lit(" encoding=")
L_TYPE_ID = _lit(" type_id=")
L_INDEX_TYPE_ID = _lit(" index_type_id=")
L_NR_ELEMS = _lit(" nr_elems=")
L_VLEN = _lit(" vlen=")
L_BITFIELD_SIZE = _lit(" bitfield_size=")
L_VAL = _lit(" val=")
L_ENC_SIGNED = _lit(" encoding=SIGNED")
L_ENC_UNSIGNED = _lit(" encoding=UNSIGNED")
L_FWD_STRUCT = _lit(" fwd_kind=struct")
L_FWD_UNION = _lit(" fwd_kind=union")
L_LINKAGE = _lit(" linkage=")
L_VAR_LINKAGE = _lit(", linkage=")
L_RET_TYPE_ID = _lit(" ret_type_id=")
L_NL_TAB_TYPE_ID = _lit("\n\ttype_id=")
L_OFFSET = _lit(" offset=")
L_COMPONENT_IDX = _lit(" component_idx=")
L_LL = _lit("LL")
L_ULL = _lit("ULL")

#: Bytes reserved per output line beyond its names (fields, digits, punctuation).
LINE_SLACK = 192


# ---------------------------------------------------------------- primitives
@njit(cache=True, nogil=True, inline="always")
def put(out, pos, lit):  # type: ignore[no-untyped-def]
    """Copy a literal byte array to ``out[pos:]``; returns the new position."""
    for i in range(lit.shape[0]):
        out[pos + i] = lit[i]
    return pos + lit.shape[0]


@njit(cache=True, nogil=True, inline="always")
def put_row(out, pos, table, lens, row):  # type: ignore[no-untyped-def]
    """Copy row ``row`` of a padded text table."""
    n = lens[row]
    for i in range(n):
        out[pos + i] = table[row, i]
    return pos + n


@njit(cache=True, nogil=True)
def put_u64(out, pos, v):  # type: ignore[no-untyped-def]
    """Decimal digits of an unsigned integer (``%u``/``%llu``)."""
    v = np.uint64(v)
    if v == 0:
        out[pos] = 48
        return pos + 1
    n = 0
    t = v
    while t > 0:
        t //= np.uint64(10)
        n += 1
    p = pos + n - 1
    while v > 0:
        out[p] = 48 + np.uint8(v % np.uint64(10))
        v //= np.uint64(10)
        p -= 1
    return pos + n


@njit(cache=True, nogil=True)
def put_i64(out, pos, v):  # type: ignore[no-untyped-def]
    """Decimal digits of a signed integer (``%d``/``%lld``)."""
    v = np.int64(v)
    if v < 0:
        out[pos] = 45
        pos += 1
        # two's complement magnitude, correct for INT64_MIN too
        return put_u64(out, pos, np.uint64(0) - np.uint64(v))
    return put_u64(out, pos, np.uint64(v))


@njit(cache=True, nogil=True)
def name_len(strs, off):  # type: ignore[no-untyped-def]
    """Length of the C string at global offset ``off`` (0 past the section)."""
    n = strs.shape[0]
    if off >= n:
        return 0
    e = off
    while e < n and strs[e] != 0:
        e += 1
    return e - off


@njit(cache=True, nogil=True)
def put_member_name(out, pos, strs, off):  # type: ignore[no-untyped-def]
    """Start a member/param/enumerator line: newline, TAB, then the quoted name
    (the caller writes the separator that follows the closing quote)."""
    out[pos] = 10
    out[pos + 1] = 9
    out[pos + 2] = 39
    pos = put_name(out, pos + 3, strs, off)
    out[pos] = 39
    return pos


@njit(cache=True, nogil=True)
def put_name(out, pos, strs, off):  # type: ignore[no-untyped-def]
    """bpftool's ``btf_str``: ``(anon)``, ``(invalid)`` or the raw name bytes."""
    if off == 0:
        return put(out, pos, L_ANON)
    n = strs.shape[0]
    if off >= n:
        return put(out, pos, L_INVALID)
    e = off
    while e < n and strs[e] != 0:
        out[pos] = strs[e]
        pos += 1
        e += 1
    return pos


@njit(cache=True, nogil=True, inline="always")
def kind_safe(kind):  # type: ignore[no-untyped-def]
    return kind if kind <= 19 else 0


@njit(cache=True, nogil=True, inline="always")
def s32(w):  # type: ignore[no-untyped-def]
    """A uint32 word read as ``__s32``."""
    w = np.int64(w)
    return w - 4294967296 if w >= 2147483648 else w


@njit(cache=True, nogil=True)
def _type_need(words, p, strs):  # type: ignore[no-untyped-def]
    """Upper bound of the header line's size (the widest name-bearing line)."""
    return LINE_SLACK + name_len(strs, words[p])


# ------------------------------------------------------------------ the dump
@njit(cache=True, nogil=True)
def _dump_raw_chunk(words, type_start, sel, start_id, strs, all_kind, all_name, type_cnt, first, out, ends):  # type: ignore[no-untyped-def]
    """Write types ``sel[first:]`` into ``out`` until it is full.

    Returns ``(next, pos)``: the first ``sel`` index not written and the bytes
    used.  ``ends[j]`` receives the end offset of each written type.
    """
    cap = out.shape[0]
    pos = 0
    j = first
    nsel = sel.shape[0]
    while j < nsel:
        i = sel[j]
        p = type_start[i]
        start = pos
        if pos + _type_need(words, p, strs) > cap:
            return j, pos
        info = words[p + 1]
        kind = (info >> 24) & 0x7F
        vlen = info & 0xFFFFFF
        kflag = info >> 31
        size = words[p + 2]
        tid = start_id + i
        out[pos] = 91  # [
        pos = put_u64(out, pos + 1, tid)
        out[pos] = 93  # ]
        out[pos + 1] = 32
        pos = put_row(out, pos + 2, KIND_TXT, KIND_TXT_LEN, kind_safe(kind))
        out[pos] = 32
        out[pos + 1] = 39  # '
        pos = put_name(out, pos + 2, strs, words[p])
        out[pos] = 39
        pos += 1
        overflow = False
        if kind == 1:  # INT
            v = words[p + 3]
            enc = (v >> 24) & 0x0F
            e = 0 if enc == 0 else 1 if enc == 1 else 2 if enc == 2 else 3 if enc == 4 else 4
            pos = put(out, pos, L_SIZE)
            pos = put_u64(out, pos, size)
            pos = put(out, pos, L_BITS_OFFSET)
            pos = put_u64(out, pos, (v >> 16) & 0xFF)
            pos = put(out, pos, L_NR_BITS)
            pos = put_u64(out, pos, v & 0xFF)
            pos = put(out, pos, L_ENCODING)
            pos = put_row(out, pos, ENC_TXT, ENC_TXT_LEN, e)
        elif kind == 2 or kind == 8 or kind == 9 or kind == 10 or kind == 11 or kind == 18:
            pos = put(out, pos, L_TYPE_ID)
            pos = put_u64(out, pos, size)
        elif kind == 3:  # ARRAY
            pos = put(out, pos, L_TYPE_ID)
            pos = put_u64(out, pos, words[p + 3])
            pos = put(out, pos, L_INDEX_TYPE_ID)
            pos = put_u64(out, pos, words[p + 4])
            pos = put(out, pos, L_NR_ELEMS)
            pos = put_u64(out, pos, words[p + 5])
        elif kind == 4 or kind == 5:  # STRUCT / UNION
            pos = put(out, pos, L_SIZE)
            pos = put_u64(out, pos, size)
            pos = put(out, pos, L_VLEN)
            pos = put_u64(out, pos, vlen)
            q = p + 3
            for _m in range(vlen):
                if pos + LINE_SLACK + name_len(strs, words[q]) > cap:
                    overflow = True
                    break
                pos = put_member_name(out, pos, strs, words[q])
                pos = put(out, pos + 1, L_TYPE_ID)
                pos = put_u64(out, pos, words[q + 1])
                off = words[q + 2]
                pos = put(out, pos, L_BITS_OFFSET)
                if kflag:
                    pos = put_u64(out, pos, off & 0xFFFFFF)
                    if (off >> 24) != 0:
                        pos = put(out, pos, L_BITFIELD_SIZE)
                        pos = put_u64(out, pos, off >> 24)
                else:
                    pos = put_u64(out, pos, off)
                q += 3
        elif kind == 6:  # ENUM
            pos = put(out, pos, L_ENC_SIGNED if kflag else L_ENC_UNSIGNED)
            pos = put(out, pos, L_SIZE)
            pos = put_u64(out, pos, size)
            pos = put(out, pos, L_VLEN)
            pos = put_u64(out, pos, vlen)
            q = p + 3
            for _m in range(vlen):
                if pos + LINE_SLACK + name_len(strs, words[q]) > cap:
                    overflow = True
                    break
                pos = put_member_name(out, pos, strs, words[q])
                pos = put(out, pos + 1, L_VAL)
                if kflag:
                    pos = put_i64(out, pos, s32(words[q + 1]))
                else:
                    pos = put_u64(out, pos, words[q + 1])
                q += 2
        elif kind == 19:  # ENUM64
            pos = put(out, pos, L_ENC_SIGNED if kflag else L_ENC_UNSIGNED)
            pos = put(out, pos, L_SIZE)
            pos = put_u64(out, pos, size)
            pos = put(out, pos, L_VLEN)
            pos = put_u64(out, pos, vlen)
            q = p + 3
            for _m in range(vlen):
                if pos + LINE_SLACK + name_len(strs, words[q]) > cap:
                    overflow = True
                    break
                pos = put_member_name(out, pos, strs, words[q])
                pos = put(out, pos + 1, L_VAL)
                val = (np.uint64(words[q + 2]) << np.uint64(32)) | np.uint64(words[q + 1])
                if kflag:
                    pos = put_i64(out, pos, np.int64(val))
                    pos = put(out, pos, L_LL)
                else:
                    pos = put_u64(out, pos, val)
                    pos = put(out, pos, L_ULL)
                q += 3
        elif kind == 7:  # FWD
            pos = put(out, pos, L_FWD_UNION if kflag else L_FWD_STRUCT)
        elif kind == 12:  # FUNC
            pos = put(out, pos, L_TYPE_ID)
            pos = put_u64(out, pos, size)
            pos = put(out, pos, L_LINKAGE)
            pos = put_row(out, pos, LINK_TXT, LINK_TXT_LEN, vlen if vlen < 3 else 3)
        elif kind == 13:  # FUNC_PROTO
            pos = put(out, pos, L_RET_TYPE_ID)
            pos = put_u64(out, pos, size)
            pos = put(out, pos, L_VLEN)
            pos = put_u64(out, pos, vlen)
            q = p + 3
            for _m in range(vlen):
                if pos + LINE_SLACK + name_len(strs, words[q]) > cap:
                    overflow = True
                    break
                pos = put_member_name(out, pos, strs, words[q])
                pos = put(out, pos + 1, L_TYPE_ID)
                pos = put_u64(out, pos, words[q + 1])
                q += 2
        elif kind == 14:  # VAR
            lk = words[p + 3]
            pos = put(out, pos, L_TYPE_ID)
            pos = put_u64(out, pos, size)
            pos = put(out, pos, L_VAR_LINKAGE)
            pos = put_row(out, pos, LINK_TXT, LINK_TXT_LEN, lk if lk < 3 else 3)
        elif kind == 15:  # DATASEC
            pos = put(out, pos, L_SIZE)
            pos = put_u64(out, pos, size)
            pos = put(out, pos, L_VLEN)
            pos = put_u64(out, pos, vlen)
            q = p + 3
            for _m in range(vlen):
                vt = words[q]
                need = LINE_SLACK
                if vt < type_cnt:
                    need += name_len(strs, all_name[vt])
                if pos + need > cap:
                    overflow = True
                    break
                pos = put(out, pos, L_NL_TAB_TYPE_ID)
                pos = put_u64(out, pos, vt)
                pos = put(out, pos, L_OFFSET)
                pos = put_u64(out, pos, words[q + 1])
                pos = put(out, pos, L_SIZE)
                pos = put_u64(out, pos, words[q + 2])
                if vt < type_cnt:
                    out[pos] = 32
                    out[pos + 1] = 40  # (
                    pos = put_row(out, pos + 2, KIND_TXT, KIND_TXT_LEN, kind_safe(all_kind[vt]))
                    out[pos] = 32
                    out[pos + 1] = 39
                    pos = put_name(out, pos + 2, strs, all_name[vt])
                    out[pos] = 39
                    out[pos + 1] = 41  # )
                    pos += 2
                q += 3
        elif kind == 16:  # FLOAT
            pos = put(out, pos, L_SIZE)
            pos = put_u64(out, pos, size)
        elif kind == 17:  # DECL_TAG
            pos = put(out, pos, L_TYPE_ID)
            pos = put_u64(out, pos, size)
            pos = put(out, pos, L_COMPONENT_IDX)
            pos = put_i64(out, pos, s32(words[p + 3]))
        if overflow:
            return j, start
        out[pos] = 10
        pos += 1
        ends[j] = pos
        j += 1
    return j, pos


# ------------------------------------------------------------ shared tables
class DumpTables:
    """Whole-chain lookup arrays a dump needs, computed once per :class:`Btf`.

    ``strs`` is every string section of the base chain concatenated (so a global
    name offset indexes it directly); ``all_kind``/``all_name`` give the kind and
    name offset of every type ID (0 = void) for DATASEC entries that point into
    the base.
    """

    __slots__ = ("strs", "all_kind", "all_name", "type_cnt")

    def __init__(self, btf: Btf) -> None:
        chain: list[Btf] = []
        b: Btf | None = btf
        while b is not None:
            chain.append(b)
            b = b.base
        chain.reverse()
        datas = []
        expect = 0
        for c in chain:
            if c.strings.start_off != expect:
                raise BtfUsageError(f"string offsets of {c!r} do not continue its base's")
            datas.append(c.strings.data)
            expect = c.strings.end_off
        self.strs = np.frombuffer(b"".join(datas) or b"\0", dtype=np.uint8)
        if not any(datas):
            # No string bytes at all: every non-zero offset is invalid.
            self.strs = self.strs[:0]
        self.all_kind = btf.all_kinds().astype(np.uint8)
        self.all_name = np.concatenate([np.zeros(1, dtype=np.uint32), *[c.name_off.astype(np.uint32) for c in chain]])
        self.type_cnt = np.uint32(btf.type_cnt)


def resolve_ids(btf: Btf, ids: Iterable[int] | None) -> list[tuple[Btf, np.ndarray]]:
    """Group the IDs to dump into runs of (owning object, local indices), in order.

    ``None`` means every type of ``btf`` itself (not its base).  An ID that is
    not a type raises :class:`BtfUsageError` naming it.
    """
    if ids is None:
        return [(btf, np.arange(btf.nr_types, dtype=np.int64))]
    runs: list[tuple[Btf, list[int]]] = []
    for tid in ids:
        tid = int(tid)
        if tid < 1 or tid >= btf.type_cnt:
            where = f"{btf.source}: " if btf.source else ""
            raise BtfUsageError(f"{where}type ID {tid} is out of range (valid IDs are 1..{btf.type_cnt - 1})")
        owner, i = btf.owner_of(tid)
        if runs and runs[-1][0] is owner:
            runs[-1][1].append(i)
        else:
            runs.append((owner, [i]))
    return [(o, np.asarray(ix, dtype=np.int64)) for o, ix in runs]


def _chunks(
    kernel, btf: Btf, runs: list[tuple[Btf, np.ndarray]], tables: DumpTables | None, *extra: object
) -> Iterator[tuple[bytes, np.ndarray]]:  # type: ignore[no-untyped-def]
    """Drive a chunk kernel over :func:`resolve_ids` runs; yields (bytes, end
    offset of each type in them)."""
    t = tables or DumpTables(btf)
    cap = CHUNK_BYTES
    for owner, sel in runs:
        if len(sel) == 0:
            continue
        out = np.empty(cap, dtype=np.uint8)
        ends = np.zeros(len(sel), dtype=np.int64)
        j = 0
        while j < len(sel):
            nj, used = kernel(
                owner.words,
                owner.type_start,
                sel,
                np.int64(owner.start_id),
                t.strs,
                t.all_kind,
                t.all_name,
                t.type_cnt,
                j,
                out,
                ends,
                *extra,
            )
            if nj == j:
                # One type does not fit: grow the buffer and retry.
                cap *= 4
                out = np.empty(cap, dtype=np.uint8)
                continue
            yield out[:used].tobytes(), ends[j:nj]
            j = nj


def iter_raw_chunks(btf: Btf, ids: Iterable[int] | None = None, tables: DumpTables | None = None) -> Iterator[bytes]:
    """The raw dump as byte chunks of whole types (the fast path for writing)."""
    for data, _ends in _chunks(_dump_raw_chunk, btf, resolve_ids(btf, ids), tables):
        yield data


def dump_raw(btf: Btf, ids: Iterable[int] | None = None) -> Iterator[str]:
    """bpftool's raw dump, one string per type (header plus member lines, ending in ``\\n``).

    Name bytes that are not UTF-8 are kept with ``surrogateescape`` so that
    ``s.encode("utf-8", "surrogateescape")`` gives bpftool's exact bytes.
    """
    for data, ends in _chunks(_dump_raw_chunk, btf, resolve_ids(btf, ids), None):
        text = data.decode("utf-8", "surrogateescape")
        if text.isascii():
            prev = 0
            for e in ends.tolist():
                yield text[prev:e]
                prev = e
        else:
            prev = 0
            for e in ends.tolist():
                yield data[prev:e].decode("utf-8", "surrogateescape")
                prev = e


def dump_raw_bytes(btf: Btf, ids: Iterable[int] | None = None) -> bytes:
    """The whole raw dump as bytes."""
    return b"".join(iter_raw_chunks(btf, ids))


def write_raw(btf: Btf, stream: IO[bytes] | IO[str], ids: Iterable[int] | None = None) -> int:
    """Write the raw dump to a binary stream (or a text stream, decoding with
    ``surrogateescape``); returns the bytes of dump text written."""
    text = isinstance(stream, io.TextIOBase)
    n = 0
    for data in iter_raw_chunks(btf, ids):
        if text:
            cast("IO[str]", stream).write(data.decode("utf-8", "surrogateescape"))
        else:
            cast("IO[bytes]", stream).write(data)
        n += len(data)
    return n
