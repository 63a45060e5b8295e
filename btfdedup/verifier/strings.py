"""Name checks over the string blob, vectorized: offset validity, C identifiers, section names.

The kernel classifies characters with its own ``lib/ctype.c`` table, which is
Latin-1: bytes 0xC0-0xFF (except 0xD7 and 0xF7) are letters and 0xA0-0xFF are
printable.  A name is read from its offset to the next NUL; it is valid only
when it is at most ``KSYM_NAME_LEN`` characters long.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from btfdedup.format.constants import BTF_MAX_NAME_OFFSET
from btfdedup.verifier.rules import RuleSet


def _kernel_ctype() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(isalpha, isdigit, isprint) for all 256 byte values, as the kernel's ctype table says."""
    c = np.arange(256)
    upper = ((c >= 65) & (c <= 90)) | ((c >= 192) & (c <= 222) & (c != 215))
    lower = ((c >= 97) & (c <= 122)) | ((c >= 223) & (c != 247))
    alpha = upper | lower
    digit = (c >= 48) & (c <= 57)
    printable = ((c >= 32) & (c <= 126)) | (c >= 160)
    return alpha, digit, printable


_ALPHA, _DIGIT, _PRINT = _kernel_ctype()


class NameTable:
    """Validity of names in the concatenated (base chain + own) string area."""

    def __init__(self, blob: bytes, rules: RuleSet) -> None:
        self.blob = blob
        self.rules = rules
        self.buf = np.frombuffer(blob, dtype=np.uint8) if blob else np.zeros(0, dtype=np.uint8)
        self.size = len(self.buf)
        # A blob not ending in NUL is already a string-section problem; pretend it does.
        self._nul = np.append(np.flatnonzero(self.buf == 0), self.size).astype(np.int64)

    @cached_property
    def _classes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        ident_rest = _ALPHA | _DIGIT
        ident_rest[ord("_")] = True
        ident_first = _ALPHA.copy()
        ident_first[ord("_")] = True
        if self.rules.dots_in_identifiers:
            ident_rest[ord(".")] = True
            ident_first[ord(".")] = True
        sect_rest = ident_rest.copy()
        sect_rest[ord(".")] = True
        sect_first = ident_first.copy()
        sect_first[ord(".")] = True
        return ident_first, ident_rest, sect_first, sect_rest

    @cached_property
    def _ident_first(self) -> np.ndarray:
        return self._classes[0][self.buf]

    @cached_property
    def _sect_first(self) -> np.ndarray:
        return self._classes[2][self.buf]

    @cached_property
    def _bad_ident(self) -> np.ndarray:
        return self._cum(~self._classes[1][self.buf] & (self.buf != 0))

    @cached_property
    def _bad_sect_ident(self) -> np.ndarray:
        return self._cum(~self._classes[3][self.buf] & (self.buf != 0))

    @cached_property
    def _bad_print(self) -> np.ndarray:
        return self._cum(~_PRINT[self.buf] & (self.buf != 0))

    @staticmethod
    def _cum(bad: np.ndarray) -> np.ndarray:
        out = np.zeros(len(bad) + 1, dtype=np.int64)
        np.cumsum(bad, out=out[1:])
        return out

    def valid_offset(self, offs: np.ndarray) -> np.ndarray:
        """``btf_name_offset_valid``: inside the string area and within BTF_MAX_NAME_OFFSET."""
        o = np.asarray(offs, dtype=np.int64)
        return (o <= BTF_MAX_NAME_OFFSET) & (o < self.size)

    def _span(self, offs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        o = np.clip(np.asarray(offs, dtype=np.int64), 0, max(self.size - 1, 0))
        end = self._nul[np.searchsorted(self._nul, o)]
        return o, end, end - o

    def nonempty(self, offs: np.ndarray) -> np.ndarray:
        """The string at each (valid) offset is not empty."""
        if not self.size:
            return np.zeros(len(offs), dtype=bool)
        o, _end, length = self._span(offs)
        return length > 0

    def identifier(self, offs: np.ndarray) -> np.ndarray:
        """``btf_name_valid_identifier`` for each (valid) offset."""
        if not self.size:
            return np.zeros(len(offs), dtype=bool)
        o, end, length = self._span(offs)
        rest_ok = self._bad_ident[end] - self._bad_ident[np.minimum(o + 1, end)] == 0
        return (length >= 1) & self._ident_first[o] & rest_ok & (length <= self.rules.ksym_name_len)

    def section(self, offs: np.ndarray) -> np.ndarray:
        """``btf_name_valid_section`` (DATASEC names) for each (valid) offset."""
        if not self.size:
            return np.zeros(len(offs), dtype=bool)
        o, end, length = self._span(offs)
        if self.rules.datasec_printable:
            ok = self._bad_print[end] - self._bad_print[o] == 0
            return (length >= 1) & ok & (length <= self.rules.ksym_name_len)
        rest_ok = self._bad_sect_ident[end] - self._bad_sect_ident[np.minimum(o + 1, end)] == 0
        return (length >= 1) & self._sect_first[o] & rest_ok & (length <= self.rules.ksym_name_len)

    def find(self, name: str) -> np.ndarray:
        """Every offset whose string is exactly ``name`` (suffix matches of longer strings included)."""
        raw = name.encode("latin-1", "replace") + b"\0"
        out = []
        start = self.blob.find(raw)
        while start >= 0:
            out.append(start)
            start = self.blob.find(raw, start + 1)
        return np.asarray(out, dtype=np.int64)

    def text(self, off: int) -> str | None:
        """The name at ``off`` for messages (None when the offset is invalid)."""
        if off >= self.size:
            return None
        end = self.blob.find(b"\0", off)
        return self.blob[off : end if end >= 0 else None].decode("utf-8", "backslashreplace")


class SplitNames:
    """Names of split BTF: offsets below the base's string size go to the base's table."""

    def __init__(self, base: NameTable, own: NameTable) -> None:
        self.base = base
        self.own = own
        self.split_at = base.size
        self.size = base.size + own.size

    def _pick(self, offs: np.ndarray, fn: str) -> np.ndarray:
        o = np.asarray(offs, dtype=np.int64)
        in_base = o < self.split_at
        res_base = getattr(self.base, fn)(np.where(in_base, o, 0))
        res_own = getattr(self.own, fn)(np.where(in_base, 0, o - self.split_at))
        return np.where(in_base, res_base, res_own)

    def valid_offset(self, offs: np.ndarray) -> np.ndarray:
        o = np.asarray(offs, dtype=np.int64)
        return (o <= BTF_MAX_NAME_OFFSET) & (o < self.size)

    def nonempty(self, offs: np.ndarray) -> np.ndarray:
        return self._pick(offs, "nonempty")

    def identifier(self, offs: np.ndarray) -> np.ndarray:
        return self._pick(offs, "identifier")

    def section(self, offs: np.ndarray) -> np.ndarray:
        return self._pick(offs, "section")

    def find(self, name: str) -> np.ndarray:
        return np.concatenate([self.base.find(name), self.own.find(name) + self.split_at])

    def text(self, off: int) -> str | None:
        return self.base.text(off) if off < self.split_at else self.own.text(off - self.split_at)
