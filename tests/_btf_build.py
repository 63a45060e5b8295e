"""Tiny raw-BTF blob builder for the validator tests: types as word lists, header fields overridable.

Independent of btfdedup's own writer on purpose, so the tests exercise the
validator on bytes the package did not produce.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT = range(1, 12)
FUNC, FUNC_PROTO, VAR, DATASEC, FLOAT, DECL_TAG, TYPE_TAG, ENUM64 = range(12, 20)


def info(kind: int, vlen: int = 0, kflag: int = 0) -> int:
    return ((kflag & 1) << 31) | ((kind & 0x7F) << 24) | (vlen & 0xFFFFFF)


class Builder:
    """Accumulates strings and type records (lists of u32 words); type IDs start at 1."""

    def __init__(self) -> None:
        self.strs = bytearray(b"\0")
        self._str_off: dict[bytes, int] = {b"": 0}
        self.types: list[list[int]] = []

    # strings
    def s(self, text: str | bytes) -> int:
        raw = text.encode("latin-1") if isinstance(text, str) else bytes(text)
        if raw not in self._str_off:
            self._str_off[raw] = len(self.strs)
            self.strs += raw + b"\0"
        return self._str_off[raw]

    def add(self, words: Sequence[int]) -> int:
        self.types.append([w & 0xFFFFFFFF for w in words])
        return len(self.types)

    def _n(self, name: str | int) -> int:
        return name if isinstance(name, int) else self.s(name)

    # kinds
    def int_(self, name: str | int = "int", size: int = 4, bits: int = 32, enc: int = 1, off: int = 0) -> int:
        return self.add([self._n(name), info(INT), size, (enc << 24) | (off << 16) | bits])

    def ref(self, kind: int, t: int, name: str | int = 0, kflag: int = 0) -> int:
        return self.add([self._n(name), info(kind, 0, kflag), t])

    def ptr(self, t: int) -> int:
        return self.ref(PTR, t)

    def const(self, t: int) -> int:
        return self.ref(CONST, t)

    def volatile(self, t: int) -> int:
        return self.ref(VOLATILE, t)

    def typedef(self, name: str | int, t: int) -> int:
        return self.ref(TYPEDEF, t, name)

    def type_tag(self, name: str | int, t: int, kflag: int = 0) -> int:
        return self.ref(TYPE_TAG, t, name, kflag)

    def array(self, elem: int, index: int, n: int) -> int:
        return self.add([0, info(ARRAY), 0, elem, index, n])

    def struct(
        self,
        name: str | int,
        size: int,
        members: Sequence[tuple[str | int, int, int]],
        kflag: int = 0,
        union: bool = False,
    ) -> int:
        words = [self._n(name), info(UNION if union else STRUCT, len(members), kflag), size]
        for mname, mtype, moff in members:
            words += [self._n(mname), mtype, moff]
        return self.add(words)

    def enum(self, name: str | int, size: int, values: Sequence[tuple[str | int, int]], signed: int = 0) -> int:
        words = [self._n(name), info(ENUM, len(values), signed), size]
        for vname, val in values:
            words += [self._n(vname), val]
        return self.add(words)

    def enum64(self, name: str | int, size: int, values: Sequence[tuple[str | int, int]], signed: int = 0) -> int:
        words = [self._n(name), info(ENUM64, len(values), signed), size]
        for vname, val in values:
            words += [self._n(vname), val & 0xFFFFFFFF, (val >> 32) & 0xFFFFFFFF]
        return self.add(words)

    def fwd(self, name: str | int, union: int = 0) -> int:
        return self.add([self._n(name), info(FWD, 0, union), 0])

    def func_proto(self, ret: int, params: Sequence[tuple[str | int, int]]) -> int:
        words = [0, info(FUNC_PROTO, len(params)), ret]
        for pname, ptype in params:
            words += [self._n(pname), ptype]
        return self.add(words)

    def func(self, name: str | int, proto: int, linkage: int = 1) -> int:
        return self.add([self._n(name), info(FUNC, linkage), proto])

    def var(self, name: str | int, t: int, linkage: int = 1) -> int:
        return self.add([self._n(name), info(VAR), t, linkage])

    def datasec(self, name: str | int, size: int, entries: Sequence[tuple[int, int, int]]) -> int:
        words = [self._n(name), info(DATASEC, len(entries)), size]
        for vt, off, sz in entries:
            words += [vt, off, sz]
        return self.add(words)

    def float_(self, name: str | int = "double", size: int = 8) -> int:
        return self.add([self._n(name), info(FLOAT), size])

    def decl_tag(self, name: str | int, t: int, idx: int = -1, kflag: int = 0) -> int:
        return self.add([self._n(name), info(DECL_TAG, 0, kflag), t, idx & 0xFFFFFFFF])

    # output
    def type_bytes(self) -> bytes:
        return b"".join(struct.pack(f"<{len(w)}I", *w) for w in self.types)

    def blob(self, **hdr: int) -> bytes:
        """Header + types + strings; keyword overrides for magic, version, flags, hdr_len, type_off, ..."""
        types = self.type_bytes()
        strs = bytes(self.strs)
        f = {
            "magic": 0xEB9F,
            "version": 1,
            "flags": 0,
            "hdr_len": 24,
            "type_off": 0,
            "type_len": len(types),
            "str_off": len(types),
            "str_len": len(strs),
        }
        f.update(hdr)
        head = struct.pack(
            "<HBBIIIII",
            f["magic"],
            f["version"],
            f["flags"],
            f["hdr_len"],
            f["type_off"],
            f["type_len"],
            f["str_off"],
            f["str_len"],
        )
        return head + b"\0" * max(0, f["hdr_len"] - 24) + types + strs


class SplitBuilder(Builder):
    """:class:`Builder` for split BTF on the BTF ``base`` builds: type IDs continue after
    the base's, string offsets after the base's string section."""

    def __init__(self, base: Builder) -> None:
        super().__init__()
        self.str_base = len(base.strs)
        self.id_base = len(base.types)

    def s(self, text: str | bytes) -> int:
        off = super().s(text)
        return off + self.str_base if off else 0

    def add(self, words: Sequence[int]) -> int:
        return super().add(words) + self.id_base
