"""Mutation classes for the kernel-agreement suite: valid blobs, broken one rule at a time.

``synthetic_cases()`` builds small blobs around one rule each (named by class);
``byte_mutations(blob)`` applies generic record-level mutations to any valid
raw blob (CU files, BPF objects' .BTF).  Every class yields a few blobs; the test
compares our verdict with BPF_BTF_LOAD's on each.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator

from tests._btf_build import (
    ARRAY,
    CONST,
    DATASEC,
    DECL_TAG,
    ENUM,
    ENUM64,
    FLOAT,
    FUNC,
    FUNC_PROTO,
    FWD,
    INT,
    PTR,
    RESTRICT,
    STRUCT,
    TYPE_TAG,
    TYPEDEF,
    UNION,
    VAR,
    VOLATILE,
    Builder,
    info,
)

Case = tuple[str, bytes]


def rich() -> tuple[Builder, dict[str, int]]:
    """A valid blob with every kind, bitfields, tags, a DATASEC; returns the builder and named IDs."""
    b = Builder()
    ids: dict[str, int] = {}
    ids["int"] = b.int_("int", 4, 32, 1)
    ids["uint"] = b.int_("unsigned int", 4, 32, 0)
    ids["char"] = b.int_("char", 1, 8, 2)
    ids["bool"] = b.int_("_Bool", 1, 8, 4)
    ids["long"] = b.int_("long", 8, 64, 1)
    ids["ptr"] = b.ptr(ids["int"])
    ids["voidp"] = b.ptr(0)
    ids["const"] = b.const(ids["int"])
    ids["volatile"] = b.volatile(ids["int"])
    ids["restrict"] = b.ref(RESTRICT, ids["voidp"])
    ids["typedef"] = b.typedef("my_int", ids["int"])
    ids["array"] = b.array(ids["char"], ids["uint"], 16)
    ids["enum"] = b.enum("color", 4, [("RED", 0), ("GREEN", 1), ("BLUE", 2)])
    ids["enum64"] = b.enum64("big", 8, [("BIG_A", 1 << 40), ("BIG_B", 7)], signed=1)
    ids["fwd"] = b.fwd("opaque")
    ids["fwdp"] = b.ptr(ids["fwd"])
    ids["float"] = b.float_("double", 8)
    ids["struct"] = b.struct(
        "point",
        32,
        [("x", ids["int"], 0), ("y", ids["int"], 32), ("name", ids["array"], 64), ("next", ids["fwdp"], 192)],
    )
    ids["bitfields"] = b.struct(
        "flags",
        8,
        [
            ("a", ids["uint"], (3 << 24) | 0),
            ("b", ids["uint"], (5 << 24) | 3),
            ("c", ids["enum"], (4 << 24) | 8),
            ("d", ids["long"], 0),
        ],
        kflag=1,
    )
    # d at bit 0 with kflag: make it valid: replace with a byte-aligned second word
    b.types[ids["bitfields"] - 1] = [
        b.s("flags"),
        info(STRUCT, 3, 1),
        8,
        b.s("a"),
        ids["uint"],
        (3 << 24) | 0,
        b.s("b"),
        ids["uint"],
        (5 << 24) | 3,
        b.s("c"),
        ids["enum"],
        (4 << 24) | 32,
    ]
    ids["union"] = b.struct("u", 8, [("i", ids["int"], 0), ("l", ids["long"], 0), ("f", ids["float"], 0)], union=True)
    ids["proto"] = b.func_proto(ids["int"], [("a", ids["int"]), ("p", ids["ptr"])])
    ids["vproto"] = b.func_proto(0, [("fmt", ids["ptr"]), (0, 0)])
    ids["func"] = b.func("do_thing", ids["proto"], 1)
    ids["sfunc"] = b.func("helper", ids["vproto"], 0)
    ids["fnptr"] = b.ptr(ids["proto"])
    ids["var"] = b.var("counter", ids["int"], 1)
    ids["var2"] = b.var("pt", ids["struct"], 0)
    ids["datasec"] = b.datasec(".data", 64, [(ids["var"], 0, 4), (ids["var2"], 8, 32)])
    ids["type_tag"] = b.type_tag("user", ids["int"])
    ids["tagp"] = b.ptr(ids["type_tag"])
    ids["dt_struct"] = b.decl_tag("tag_s", ids["struct"], -1)
    ids["dt_member"] = b.decl_tag("tag_m", ids["struct"], 1)
    ids["dt_func"] = b.decl_tag("tag_f", ids["func"], -1)
    ids["dt_param"] = b.decl_tag("tag_p", ids["func"], 0)
    ids["dt_var"] = b.decl_tag("tag_v", ids["var"], -1)
    ids["dt_typedef"] = b.decl_tag("tag_t", ids["typedef"], -1)
    ids["holder"] = b.struct("holder", 16, [("up", ids["tagp"], 0), ("fn", ids["fnptr"], 64)])
    return b, ids


def _copy(b: Builder) -> Builder:
    c = Builder()
    c.strs = bytearray(b.strs)
    c._str_off = dict(b._str_off)
    c.types = [list(t) for t in b.types]
    return c


def _set(b: Builder, tid: int, word: int, value: int) -> Builder:
    c = _copy(b)
    c.types[tid - 1][word] = value & 0xFFFFFFFF
    return c


# ----------------------------------------------------------------------------------- header
def header_cases() -> Iterator[Case]:
    b, _ids = rich()
    good = b.blob()
    types, strs = b.type_bytes(), bytes(b.strs)
    tl, sl = len(types), len(strs)
    yield "hdr_magic", b"\xeb\x9f" + good[2:]
    yield "hdr_magic", b"\x00\x00" + good[2:]
    yield "hdr_version", b.blob(version=0)
    yield "hdr_version", b.blob(version=2)
    yield "hdr_flags", b.blob(flags=1)
    yield "hdr_flags", b.blob(flags=0x80)
    yield "hdr_len", b.blob(hdr_len=32)  # zero padded: accepted
    yield "hdr_len", b.blob(hdr_len=28)
    padded = bytearray(b.blob(hdr_len=32))
    padded[28] = 1
    yield "hdr_len", bytes(padded)
    padded = bytearray(b.blob(hdr_len=32))
    padded[24] = 4  # a non-zero "layout_off": no 6.18 kernel knows the layout section
    yield "hdr_layout", bytes(padded)
    yield "hdr_len", good[:4] + struct.pack("<I", 20) + good[8:]
    yield "hdr_len", good[:4] + struct.pack("<I", len(good) + 4) + good[8:]
    yield "hdr_truncated", good[:7]
    yield "hdr_truncated", good[:24]
    hdr = lambda **kw: b.blob(**kw)[:24]  # noqa: E731
    yield "sec_gap", hdr(str_off=tl + 4) + types + b"\0\0\0\0" + strs
    yield "sec_overlap", hdr(str_off=tl - 4) + types + strs
    yield "sec_trailing", good + b"\0\0\0\0"
    yield "sec_strings_first", hdr(type_off=sl, str_off=0) + strs + types
    yield "sec_type_unaligned", hdr(type_off=2, str_off=tl + 2) + b"\0\0" + types + strs
    yield "sec_too_long", hdr(str_len=sl + 8) + types + strs
    yield "sec_offset", hdr(str_off=tl + sl + 100) + types + strs
    yield "str_not_nul_terminated", hdr(str_len=sl + 1) + types + strs + b"x"
    yield "str_first_not_nul", hdr() + types + b"x" + strs[1:]
    yield "str_empty", hdr(str_len=0) + types
    yield "type_empty", hdr(type_len=0, str_off=0) + strs
    yield "no_data", hdr(type_len=0, str_off=0, str_len=0)
    yield "type_len_short", hdr(type_len=tl - 4, str_off=tl - 4) + types[:-4] + strs
    yield "type_len_short", hdr(type_len=tl - 2, str_off=tl - 2) + types[:-2] + strs
    yield "type_len_short", hdr(type_len=tl + 6, str_off=tl + 6) + types + b"\0" * 6 + strs
    yield "too_big", b.blob(str_len=sl + 17 * 1024 * 1024)[:24] + types + strs + b"\0" * (17 * 1024 * 1024)


# ------------------------------------------------------------------------------ per kind
def kind_cases() -> Iterator[Case]:  # noqa: C901 - one long list of rules
    b, ids = rich()
    yield "valid_rich", b.blob()
    every = [
        "int",
        "ptr",
        "array",
        "struct",
        "union",
        "enum",
        "fwd",
        "typedef",
        "volatile",
        "const",
        "restrict",
        "func",
        "proto",
        "var",
        "datasec",
        "float",
        "dt_var",
        "type_tag",
        "enum64",
    ]
    for name in every:
        t = b.types[ids[name] - 1]
        yield "kind_flag", _set(b, ids[name], 1, t[1] | (1 << 31)).blob()
    for name in ["int", "ptr", "array", "fwd", "typedef", "var", "float", "dt_var", "type_tag", "const", "func"]:
        t = b.types[ids[name] - 1]
        yield "vlen_nonzero", _set(b, ids[name], 1, t[1] | 2).blob()
    for name in ["int", "struct", "enum", "proto"]:
        t = b.types[ids[name] - 1]
        yield "info_reserved", _set(b, ids[name], 1, t[1] | (1 << 16)).blob()
        yield "info_reserved", _set(b, ids[name], 1, t[1] | (1 << 29)).blob()
    for k in (0, 20, 31):
        t = b.types[ids["int"] - 1]
        yield "kind_invalid", _set(b, ids["int"], 1, (t[1] & ~(0x1F << 24)) | (k << 24)).blob()
    for name in ["int", "struct", "typedef", "dt_var"]:
        yield "name_off_range", _set(b, ids[name], 0, len(b.strs) + 10).blob()
        yield "name_off_range", _set(b, ids[name], 0, 0x1000000).blob()
    some = b.s("some_name")
    for name in ["ptr", "const", "volatile", "restrict", "array", "proto"]:
        yield "name_on_anon", _set(b, ids[name], 0, some).blob()
    for bad in ("1abc", "a-b", "a b", "a\x01", "\xd7x"):
        off = _copy(b).s(bad)
        for name in ["typedef", "struct", "fwd", "func", "var", "enum"]:
            c = _copy(b)
            c.s(bad)
            c.types[ids[name] - 1][0] = off
            yield "name_invalid", c.blob()
    for name in ["typedef", "fwd", "func", "var", "datasec", "dt_var", "type_tag"]:
        yield "name_missing", _set(b, ids[name], 0, 0).blob()
    empty = len(b.strs) - 1  # the NUL ending the last string: an empty name
    for name in ["typedef", "dt_var", "type_tag", "struct"]:
        yield "name_empty_string", _set(b, ids[name], 0, empty).blob()
    # member / enumerator / param names
    yield "member_name", _set(b, ids["struct"], 3, len(b.strs) + 5).blob()
    yield "member_name", _set(b, ids["struct"], 3, b.s("x") + 0).blob()
    c = _copy(b)
    bad = c.s("9lives")
    yield "member_name", _set(c, ids["struct"], 6, bad).blob()
    yield "enum_value_name", _set(b, ids["enum"], 3, 0).blob()
    yield "enum_value_name", _set(b, ids["enum"], 3, len(b.strs) + 3).blob()
    yield "enum_value_name", _set(c, ids["enum64"], 3, bad).blob()
    yield "param_name", _set(c, ids["proto"], 3, bad).blob()
    yield "param_name", _set(b, ids["proto"], 3, len(b.strs) + 1).blob()
    yield "param_name", _set(b, ids["proto"], 3, 0).blob()  # unnamed param of a FUNC: rejected via FUNC
    # type IDs
    n = len(b.types)
    for name in ["ptr", "const", "typedef", "var", "func", "dt_var", "type_tag"]:
        yield "type_id_range", _set(b, ids[name], 2, n + 1).blob()
        yield "type_id_range", _set(b, ids[name], 2, 0x100000).blob()
    yield "type_id_range", _set(b, ids["array"], 3, n + 5).blob()
    yield "type_id_range", _set(b, ids["array"], 4, 0x100000).blob()
    yield "type_id_range", _set(b, ids["struct"], 4, n + 1).blob()
    yield "type_id_range", _set(b, ids["datasec"], 3, n + 1).blob()
    yield "type_id_range", _set(b, ids["proto"], 2, n + 1).blob()
    yield "type_id_range", _set(b, ids["proto"], 4, n + 1).blob()
    # INT
    for data in ((3 << 24) | 32, (8 << 24) | 32, (1 << 28) | 32, (5 << 24) | 32, 129, (100 << 16) | 32, 33, 0):
        yield "int_encoding_bits", _set(b, ids["int"], 3, data).blob()
    for size in (0, 3, 2, 16):
        yield "int_size", _set(b, ids["int"], 2, size).blob()
    yield "int_size", _set(_set(b, ids["long"], 2, 16), ids["long"], 3, (1 << 24) | 128).blob()
    # ARRAY
    yield "array_elem_index", _set(b, ids["array"], 3, 0).blob()
    yield "array_elem_index", _set(b, ids["array"], 4, 0).blob()
    yield "array_elem_index", _set(b, ids["array"], 4, ids["struct"]).blob()
    yield "array_elem_index", _set(b, ids["array"], 4, ids["typedef"]).blob()
    yield "array_elem_index", _set(b, ids["array"], 4, ids["enum"]).blob()
    yield "array_elem_index", _set(b, ids["array"], 3, ids["proto"]).blob()
    yield "array_elem_index", _set(b, ids["array"], 3, ids["fwd"]).blob()
    yield "array_elem_index", _set(b, ids["array"], 3, ids["var"]).blob()
    yield "array_elem_index", _set(b, ids["array"], 3, ids["typedef"]).blob()
    yield "array_size", _set(b, ids["array"], 2, 4).blob()
    yield "array_size", _set(b, ids["array"], 5, 0x80000000).blob()
    yield "array_size", _set(b, ids["array"], 5, 0).blob()
    c = _copy(b)
    odd = c.int_("u3", 1, 3, 0)
    yield "array_elem_index", _set(c, ids["array"], 3, odd).blob()
    yield "array_elem_index", _set(c, ids["array"], 4, odd).blob()
    # STRUCT / UNION members
    yield "member_offset", _set(b, ids["struct"], 5, 64).blob()  # x after y: decreasing
    yield "member_offset", _set(b, ids["struct"], 8, 16).blob()
    yield "member_offset", _set(b, ids["struct"], 14, 300).blob()
    yield "member_offset", _set(b, ids["struct"], 14, 260).blob()
    yield "member_offset", _set(b, ids["struct"], 14, 196).blob()  # ptr not byte aligned
    yield "member_offset", _set(b, ids["union"], 8, 8).blob()
    yield "member_offset", _set(b, ids["struct"], 11, 68).blob()  # array not byte aligned
    yield "struct_size", _set(b, ids["struct"], 2, 30).blob()
    yield "struct_size", _set(b, ids["struct"], 2, 24).blob()
    yield "struct_size", _set(b, ids["union"], 2, 4).blob()
    yield "struct_size", _set(b, ids["bitfields"], 2, 4).blob()
    yield "member_type", _set(b, ids["struct"], 4, 0).blob()
    for target in ("fwd", "proto", "func", "var", "datasec", "dt_var"):
        yield "member_type", _set(b, ids["struct"], 4, ids[target]).blob()
    yield "member_type", _set(b, ids["struct"], 4, ids["typedef"]).blob()  # valid
    yield "member_type", _set(b, ids["struct"], 4, ids["float"]).blob()  # valid (x at 0, 8 bytes)
    yield "member_type", _set(b, ids["struct"], 7, ids["float"]).blob()  # float at bit 32: misaligned
    yield "bitfield", _set(b, ids["bitfields"], 5, (40 << 24)).blob()  # > 32 bits of uint
    yield "bitfield", _set(b, ids["bitfields"], 11, (33 << 24) | 32).blob()  # enum > 32
    yield "bitfield", _set(b, ids["bitfields"], 11, 36).blob()  # enum non-bitfield unaligned
    yield "bitfield", _set(b, ids["bitfields"], 5, 3).blob()  # non-bitfield int unaligned
    yield "bitfield", _set(b, ids["bitfields"], 8, (30 << 24) | 40).blob()  # exceeds struct
    c = _copy(b)
    odd = c.int_("u3", 1, 3, 0)
    yield "bitfield", _set(c, ids["bitfields"], 4, odd).blob()  # kflag member base must be regular int
    c2 = _copy(b)
    c2.types[ids["bitfields"] - 1][1] = info(STRUCT, 3, 0)
    yield "bitfield", c2.blob()  # kflag off: offsets read as plain bit offsets
    off_int = _copy(b)
    oi = off_int.int_("oi", 4, 8, 0, off=4)
    off_int.types[ids["struct"] - 1][4] = oi
    yield "bitfield", off_int.blob()  # int with bit offset as a member (non-kflag): valid
    c3 = _copy(b)
    c3.types[ids["holder"] - 1][5] = ids["ptr"] * 0 + ids["bitfields"]
    yield "member_type", c3.blob()
    c4 = _copy(b)
    c4.types[ids["holder"] - 1][5] = ids["ptr"]
    c4.types[ids["holder"] - 1][4] = 8 << 24
    c4.types[ids["holder"] - 1][1] = info(STRUCT, 2, 1)
    yield "bitfield", c4.blob()  # kflag ptr member with bitfield size
    # ENUM
    for size in (0, 3, 16, 1, 2):
        yield "enum_size", _set(b, ids["enum"], 2, size).blob()
        yield "enum_size", _set(b, ids["enum64"], 2, size).blob()
    e = _copy(b)
    e.types[ids["enum"] - 1] = [e.s("color"), info(ENUM, 0, 0), 4]
    yield "enum_size", e.blob()  # enum forward declaration: valid
    # FUNC
    for link in (0, 2, 3):
        yield "func_linkage", _set(b, ids["func"], 1, info(FUNC, link)).blob()
    yield "func_proto_ref", _set(b, ids["func"], 2, ids["int"]).blob()
    yield "func_proto_ref", _set(b, ids["func"], 2, 0).blob()
    # FUNC_PROTO params
    fp = _copy(b)
    fp.types[ids["proto"] - 1] = [
        0,
        info(FUNC_PROTO, 3),
        ids["int"],
        fp.s("a"),
        0,
        fp.s("b"),
        ids["int"],
        fp.s("c"),
        ids["int"],
    ]
    yield "proto_params", fp.blob()  # void param in the middle
    fp = _copy(b)
    fp.types[ids["vproto"] - 1] = [0, info(FUNC_PROTO, 2), 0, fp.s("fmt"), ids["ptr"], fp.s("va"), 0]
    yield "proto_params", fp.blob()  # named vararg
    yield "proto_params", _set(b, ids["proto"], 4, ids["var"]).blob()
    yield "proto_params", _set(b, ids["proto"], 4, ids["fwd"]).blob()
    yield "proto_params", _set(b, ids["proto"], 4, ids["dt_var"]).blob()
    yield "proto_params", _set(b, ids["proto"], 2, ids["datasec"]).blob()
    yield "proto_params", _set(b, ids["proto"], 2, ids["fwd"]).blob()
    yield "proto_params", _set(b, ids["proto"], 2, ids["proto"]).blob()
    yield "proto_params", _set(b, ids["vproto"], 3, 0).blob()  # unnamed param in a static func
    # VAR
    for link in (2, 3):
        yield "var_linkage", _set(b, ids["var"], 3, link).blob()
    yield "var_type", _set(b, ids["var"], 2, 0).blob()
    yield "var_type", _set(b, ids["var"], 2, ids["proto"]).blob()
    yield "var_type", _set(b, ids["var"], 2, ids["fwd"]).blob()
    yield "var_type", _set(b, ids["var"], 2, ids["var2"]).blob()
    yield "var_type", _set(b, ids["var"], 2, ids["func"]).blob()
    # DATASEC
    yield "datasec_size", _set(b, ids["datasec"], 2, 0).blob()
    yield "datasec_size", _set(b, ids["datasec"], 2, 30).blob()
    yield "datasec_entries", _set(b, ids["datasec"], 7, 2).blob()  # overlap
    yield "datasec_entries", _set(b, ids["datasec"], 7, 64).blob()  # offset >= size
    yield "datasec_entries", _set(b, ids["datasec"], 8, 0).blob()
    yield "datasec_entries", _set(b, ids["datasec"], 8, 65).blob()
    yield "datasec_entries", _set(b, ids["datasec"], 8, 60).blob()  # end past section
    yield "datasec_entries", _set(b, ids["datasec"], 5, 2).blob()  # entry smaller than var type
    yield "datasec_entries", _set(b, ids["datasec"], 3, ids["int"]).blob()  # not a VAR
    yield "datasec_entries", _set(b, ids["datasec"], 3, 0).blob()
    c = _copy(b)
    c.types[ids["datasec"] - 1][0] = c.s("sec with spaces")
    yield "datasec_name", c.blob()
    c = _copy(b)
    c.types[ids["datasec"] - 1][0] = c.s("sec\x01")
    yield "datasec_name", c.blob()
    c = _copy(b)
    c.types[ids["datasec"] - 1][0] = c.s("?.rodata")
    yield "datasec_name", c.blob()
    # FLOAT
    for size in (0, 3, 12, 16, 32, 1):
        yield "float_size", _set(b, ids["float"], 2, size).blob()
    # DECL_TAG
    yield "decl_tag", _set(b, ids["dt_var"], 2, ids["int"]).blob()
    yield "decl_tag", _set(b, ids["dt_var"], 2, ids["ptr"]).blob()
    yield "decl_tag", _set(b, ids["dt_var"], 2, ids["union"]).blob()
    yield "decl_tag", _set(b, ids["dt_var"], 3, -2).blob()
    yield "decl_tag", _set(b, ids["dt_var"], 3, 0).blob()
    yield "decl_tag", _set(b, ids["dt_typedef"], 3, 0).blob()
    yield "decl_tag", _set(b, ids["dt_member"], 3, 4).blob()
    yield "decl_tag", _set(b, ids["dt_member"], 3, 3).blob()
    yield "decl_tag", _set(b, ids["dt_param"], 3, 2).blob()
    yield "decl_tag", _set(b, ids["dt_param"], 3, 1).blob()
    yield "decl_tag", _set(b, ids["dt_var"], 2, ids["dt_struct"]).blob()
    yield "decl_tag", _set(b, ids["dt_var"], 1, info(DECL_TAG, 0, 1)).blob()
    # TYPE_TAG ordering and kind_flag
    t = _copy(b)
    cst = t.const(ids["int"])
    tt = t.type_tag("late", cst)
    t.ptr(tt)
    yield "type_tag_order", t.blob()  # tag -> const: valid
    t = _copy(b)
    tt = t.type_tag("early", ids["int"])
    cst = t.const(tt)
    t.ptr(cst)
    yield "type_tag_order", t.blob()  # const -> tag: rejected
    t = _copy(b)
    tt = t.type_tag("early", ids["int"])
    t.typedef("tagged_t", tt)
    yield "type_tag_order", t.blob()
    t = _copy(b)
    tt = t.type_tag("attr", ids["int"], kflag=1)
    t.ptr(tt)
    yield "type_tag_order", t.blob()


# --------------------------------------------------------------------------- loops / depth
def graph_cases() -> Iterator[Case]:
    b = Builder()
    b.int_()
    b.struct("A", 4, [("b", 3, 0)])
    b.struct("B", 4, [("a", 2, 0)])
    yield "loop", b.blob()
    b = Builder()
    b.int_()
    b.const(3)
    b.volatile(2)
    yield "loop", b.blob()
    b = Builder()
    b.int_()
    b.typedef("self_t", 2)
    yield "loop", b.blob()
    b = Builder()
    b.int_()
    b.ptr(3)
    b.const(2)
    yield "loop", b.blob()  # through a pointer: still a loop of modifiers and pointers
    b = Builder()
    b.int_()
    b.struct("list", 8, [("next", 3, 0)])
    b.ptr(2)
    yield "loop", b.blob()  # self-referential through a pointer: valid
    b = Builder()
    b.int_()
    b.array(3, 1, 2)
    b.struct("S", 8, [("arr", 2, 0)])
    b.array(3, 1, 1)
    yield "loop", b.blob()
    b = Builder()
    b.int_()
    b.var("v", 3)
    b.datasec(".data", 4, [(2, 0, 4)])
    b.typedef("t", 2)
    yield "loop", b.blob()  # typedef of a VAR
    for depth in (31, 32, 33, 40):
        b = Builder()
        prev = b.int_()
        for _ in range(depth):
            prev = b.const(prev)
        b.ptr(prev)
        yield "depth_modifiers", b.blob()
    for depth in (30, 31, 32, 33):
        b = Builder()
        prev = b.int_()
        for k in range(depth):
            prev = b.struct(f"s{k}", 4, [("m", prev, 0)])
        yield "depth_structs", b.blob()
    for depth in (31, 32, 33):
        b = Builder()
        idx = b.int_("unsigned int", 4, 32, 0)
        prev = idx
        for _ in range(depth):
            prev = b.array(prev, idx, 2)
        yield "depth_arrays", b.blob()
    for depth in (31, 32, 33):
        b = Builder()
        prev = b.int_()
        for _ in range(depth):
            prev = b.ptr(prev)
        b.var("pp", prev)
        yield "depth_pointers", b.blob()
    for depth in (31, 33):
        b = Builder()
        prev = b.int_()
        for k in range(depth):
            prev = b.typedef(f"t{k}", prev) if k % 2 else b.type_tag(f"tag{k}", prev)
        yield "type_tag_chain", b.blob()
    b = Builder()
    b.int_()
    v = b.var("x", 1)
    b.ptr(v)
    yield "ptr_target", b.blob()
    b = Builder()
    b.int_()
    b.decl_tag("t", 1)
    b.ptr(2)
    yield "ptr_target", b.blob()
    b = Builder()
    b.int_()
    b.func_proto(1, [])
    b.func("f", 2)
    b.const(3)
    yield "ptr_target", b.blob()
    b = Builder()
    b.int_()
    b.func_proto(1, [])
    b.const(2)
    b.ptr(3)
    yield "ptr_target", b.blob()  # const func_proto: valid


def _special(
    node_size: int = 24, lock: bool = True, value: str = "contains:foo:node", node_off: int = 64, locks: int = 1
) -> bytes:
    b = Builder()
    long_ = b.int_("long", 8, 64, 1)
    i = b.int_()
    lh = b.struct("bpf_list_head", 16, [("a", long_, 0), ("b", long_, 64)])
    ln = b.struct("bpf_list_node", node_size, [("a", long_, 0), ("b", long_, 64), ("c", long_, 128)])
    sl = b.struct("bpf_spin_lock", 4, [("val", i, 0)])
    b.struct("foo", 40, [("v", long_, 0), ("node", ln, node_off)])
    mem: list[tuple[str | int, int, int]] = [("h", lh, 0)]
    mem += [(f"l{k}", sl, 128 + 32 * k) for k in range(locks if lock else 0)]
    s = b.struct("s", 32, mem)
    b.decl_tag(value, s, 0)
    return b.blob()


def special_field_cases() -> Iterator[Case]:
    """BPF special fields (btf_parse_struct_metas): lock uniqueness, layouts, graph-root tags."""
    yield "special_fields", _special()
    yield "special_fields", _special(lock=False)
    yield "special_fields", _special(locks=2)
    yield "special_fields", _special(value="contains:foo:nodex")
    yield "special_fields", _special(value="contains:bar:node")
    yield "special_fields", _special(value="contains:foo")
    yield "special_fields", _special(value="contains:foo:")
    yield "special_fields", _special(value="holds:foo:node")
    yield "special_fields", _special(node_off=96)
    yield "special_fields", _special(node_size=32)
    for off in (8, 16, 32, 64):
        b = Builder()
        i = b.int_()
        sl = b.struct("bpf_spin_lock", 4, [("val", i, 0)])
        b.struct("s", 16, [("l", sl, off)])
        yield "special_fields", b.blob()
    b = Builder()
    i = b.int_()
    rc = b.struct("bpf_refcount", 4, [("a", i, 0)])
    b.struct("s", 8, [("r", rc, 0), ("q", rc, 32)])
    yield "special_fields", b.blob()
    yield from _kptr_and_nesting_cases()


def _lock() -> tuple[Builder, int, int]:
    b = Builder()
    i = b.int_()
    return b, i, b.struct("bpf_spin_lock", 4, [("val", i, 0)])


def _kptr_and_nesting_cases() -> Iterator[Case]:
    for tag, target_struct, extra_tag, off in (
        ("user", False, False, 64),
        ("kptr", False, False, 64),
        ("kptr", True, True, 64),
        ("kptr", True, False, 64),
        ("kptr", True, False, 32),
        ("kptr_untrusted", True, False, 64),
        ("percpu_kptr", True, False, 64),
        ("uptr", True, False, 64),
    ):
        b, i, sl = _lock()
        target = b.struct("x", 4, [("a", i, 0)]) if target_struct else i
        t = b.type_tag(tag, target)
        if extra_tag:
            t = b.type_tag(tag, t)
        b.struct("s", 16, [("l", sl, 0), ("p", b.ptr(t), off)])
        yield "special_kptr", b.blob()
    b, i, sl = _lock()
    n = b.struct("inner", 8, [("a", i, 0), ("b", sl, 32)])
    b.struct("s", 16, [("l", sl, 0), ("n", n, 64)])
    yield "special_nested", b.blob()
    b, i, sl = _lock()
    n = b.struct("inner", 8, [("a", i, 3)])
    b.struct("s", 16, [("l", sl, 0), ("n", n, 64)])
    yield "special_nested", b.blob()
    b, i, sl = _lock()
    b.struct("s", 8, [("l", sl, 0), ("a", i, (3 << 24) | 35)], kflag=1)
    yield "special_nested", b.blob()
    b, i, sl = _lock()
    b.struct("s", 8, [("l", b.array(sl, i, 2), 0)])
    yield "special_nested", b.blob()
    b, i, sl = _lock()
    b.struct("s", 8, [("l", sl, 0), ("m", sl, 16)])
    yield "special_nested", b.blob()
    b, i, sl = _lock()
    b.struct("s", 8, [("l", b.typedef("lock_t", sl), 0)])
    yield "special_nested", b.blob()
    b, i, sl = _lock()
    u = b.struct("uu", 4, [("l", sl, 0)], union=True)
    b.struct("s", 8, [("u", u, 0), ("l", sl, 32)])
    yield "special_nested", b.blob()
    b, i, sl = _lock()
    b.struct("s", 8, [("l", sl, 0)], union=True)
    yield "special_nested", b.blob()


def resolve_cases() -> Iterator[Case]:
    """Resolution corner cases: members through modifiers, kflag members through typedefs, sinks."""
    b = Builder()
    u = b.int_("unsigned int", 4, 32, 0)
    td = b.typedef("u32", u)
    cst = b.const(td)
    b.struct("s", 4, [("a", cst, (3 << 24) | 0), ("b", cst, (29 << 24) | 3)], kflag=1)
    yield "resolve_misc", b.blob()  # bitfields through const typedef: valid
    b = Builder()
    u = b.int_("unsigned int", 4, 32, 0)
    td = b.typedef("u32", u)
    b.struct("s", 4, [("a", td, (33 << 24) | 0)], kflag=1)
    yield "resolve_misc", b.blob()
    b = Builder()
    u = b.int_("u3", 1, 3, 0)
    td = b.typedef("u3_t", u)
    b.array(td, b.int_("unsigned int", 4, 32, 0), 4)
    yield "resolve_misc", b.blob()  # array of a non-regular int through a typedef
    b = Builder()
    i = b.int_()
    p = b.func_proto(i, [])
    b.func("f", p, 1)
    b.ptr(3)
    yield "resolve_misc", b.blob()  # pointer to FUNC
    b = Builder()
    i = b.int_()
    p = b.func_proto(i, [])
    f = b.func("f", p, 1)
    b.const(f)
    yield "resolve_misc", b.blob()  # const FUNC after the FUNC resolved
    b = Builder()
    i = b.int_()
    c = b.const(5)
    p = b.func_proto(i, [])
    b.func("f", p, 1)
    b.ptr(c)
    yield "resolve_misc", b.blob()  # const FUNC before the FUNC resolved
    b = Builder()
    i = b.int_()
    td = b.typedef("t", i)
    v = b.var("v", td)
    b.datasec(".data", 4, [(v, 0, 4)])
    yield "resolve_misc", b.blob()
    b = Builder()
    i = b.int_()
    f = b.fwd("later")
    b.func_proto(f, [])
    yield "resolve_misc", b.blob()  # FUNC_PROTO returning a FWD
    b = Builder()
    i = b.int_()
    f = b.fwd("later")
    b.func_proto(i, [("x", f)])
    yield "resolve_misc", b.blob()
    b = Builder()
    i = b.int_()
    u = b.struct("u", 4, [("a", i, 0), ("b", i, 0)], union=True)
    b.decl_tag("t", u, 1)
    b.decl_tag("t", u, 2)
    yield "resolve_misc", b.blob()
    b = Builder()
    i = b.int_()
    arr = b.array(i, i, 0)
    b.struct("flex", 4, [("n", i, 0), ("data", arr, 32)])
    yield "resolve_misc", b.blob()  # flexible array member at the end: valid
    b = Builder()
    i = b.int_()
    arr = b.array(i, i, 0x40000000)
    b.struct("huge", 8, [("data", arr, 0)])
    yield "resolve_misc", b.blob()
    b = Builder()
    i = b.int_()
    arr = b.array(i, i, 0x3FFFFFFF)
    arr2 = b.array(arr, i, 2)
    b.var("big", arr2)
    yield "resolve_misc", b.blob()  # nested arrays overflowing u32
    b = Builder()
    i = b.int_()
    e = b.enum("e", 4, [("A", 1)])
    b.struct("s", 4, [("a", e, (33 << 24) | 0)], kflag=1)
    yield "resolve_misc", b.blob()
    b = Builder()
    i = b.int_()
    f = b.float_("float", 4)
    b.struct("s", 6, [("a", f, 16)])
    yield "resolve_misc", b.blob()
    b = Builder()
    i = b.int_()
    b.ptr(0)
    b.typedef("vt", 0)
    b.const(0)
    b.volatile(4)
    yield "resolve_misc", b.blob()  # void through modifiers: valid
    b = Builder()
    i = b.int_()
    td = b.typedef("vt", 0)
    b.struct("s", 4, [("a", td, 0)])
    yield "resolve_misc", b.blob()  # a member of a void typedef


def synthetic_cases() -> list[Case]:
    return (
        list(header_cases())
        + list(kind_cases())
        + list(graph_cases())
        + list(special_field_cases())
        + list(resolve_cases())
    )


# ---------------------------------------------------------------- generic byte mutations
def _records(blob: bytes) -> tuple[int, int, list[tuple[int, int]]]:
    """(type section start, string length, [(record offset, kind)]) of a valid little-endian blob."""
    hdr_len, type_off, type_len, _str_off, str_len = struct.unpack_from("<IIIII", blob, 4)
    t0 = hdr_len + type_off
    out = []
    pos = 0
    while pos < type_len:
        _name, inf, _st = struct.unpack_from("<III", blob, t0 + pos)
        kind, vlen = (inf >> 24) & 0x1F, inf & 0xFFFF
        out.append((t0 + pos, kind))
        tail = {1: 4, 3: 12, 14: 4, 17: 4}.get(kind, 0) + vlen * {4: 12, 5: 12, 6: 8, 13: 8, 15: 12, 19: 12}.get(
            kind, 0
        )
        pos += 12 + tail
    return t0, str_len, out


def _put(blob: bytes, off: int, value: int) -> bytes:
    return blob[:off] + struct.pack("<I", value & 0xFFFFFFFF) + blob[off + 4 :]


def byte_mutations(blob: bytes, per_kind: int = 1) -> Iterator[Case]:
    """Record-level mutations of the first ``per_kind`` records of each kind in a real blob."""
    if blob[:2] != b"\x9f\xeb":
        return
    _t0, str_len, recs = _records(blob)
    n = len(recs)
    seen: dict[int, int] = {}
    for off, kind in recs:
        if seen.get(kind, 0) >= per_kind:
            continue
        seen[kind] = seen.get(kind, 0) + 1
        name, inf, st = struct.unpack_from("<III", blob, off)
        yield "real_kind_flag", _put(blob, off + 4, inf ^ (1 << 31))
        yield "real_vlen", _put(blob, off + 4, (inf & ~0xFFFF) | ((inf + 1) & 0xFFFF))
        yield "real_reserved_bits", _put(blob, off + 4, inf | (1 << 20))
        yield "real_name_off", _put(blob, off, str_len + 7)
        yield "real_name_off", _put(blob, off, 0)
        if kind in (PTR, CONST, VOLATILE, RESTRICT, TYPEDEF, FUNC, VAR, DECL_TAG, TYPE_TAG, FUNC_PROTO):
            yield "real_type_id", _put(blob, off + 8, n + 3)
            yield "real_type_id", _put(blob, off + 8, 0)
        if kind in (INT, STRUCT, UNION, ENUM, ENUM64, FLOAT, DATASEC):
            yield "real_size", _put(blob, off + 8, max(st - 1, 0))
            yield "real_size", _put(blob, off + 8, 0)
        if kind in (STRUCT, UNION) and (inf & 0xFFFF) >= 1:
            last = off + 12 + 12 * ((inf & 0xFFFF) - 1)
            yield "real_member", _put(blob, last + 4, 0)
            yield "real_member", _put(blob, last + 8, struct.unpack_from("<I", blob, last + 8)[0] + 3)
        new_kind = {INT: FLOAT, STRUCT: UNION, UNION: STRUCT, PTR: CONST, TYPEDEF: PTR, ENUM: ENUM64}.get(kind)
        if new_kind is not None:
            yield "real_kind_change", _put(blob, off + 4, (inf & ~(0x1F << 24)) | (new_kind << 24))
    yield "real_truncated", blob[:4] + struct.pack("<I", 24) + blob[8:]  # unchanged header length


MUTATION_FAMILIES: dict[str, Callable[[], Iterator[Case]]] = {
    "header": header_cases,
    "kinds": kind_cases,
    "graph": graph_cases,
}

_unused = (ARRAY, ENUM, FWD, VAR, TYPE_TAG, DATASEC, UNION, ENUM64)


def random_word_mutations(sources: list[bytes], count: int, seed: int) -> Iterator[Case]:
    """Seeded random damage: one or two words of the type/string sections replaced by bit flips,
    boundary values or small numbers (the class that found the special-field rules)."""
    import random

    rng = random.Random(seed)
    for _ in range(count):
        blob = bytearray(rng.choice(sources))
        for _k in range(rng.choice((1, 1, 2))):
            w = rng.randrange(6, len(blob) // 4)
            (val,) = struct.unpack_from("<I", blob, 4 * w)
            r = rng.random()
            if r < 0.3:
                val ^= 1 << rng.randrange(32)
            elif r < 0.5:
                val = rng.choice((0, 1, 2, 3, 4, 8, 0xFFFFFFFF, 0x80000000, 0xFFFFF, 0x100000, val + 1, val - 1))
            elif r < 0.7:
                val = (val & ~0xFF) | rng.randrange(256)
            else:
                val = rng.randrange(200)
            struct.pack_into("<I", blob, 4 * w, val & 0xFFFFFFFF)
        yield "random_words", bytes(blob)
