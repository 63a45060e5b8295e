"""Name checks over the string blob, vectorized: offset validity, C identifiers, section names.

The kernel classifies characters with its own ``lib/ctype.c`` table, which is
Latin-1: bytes 0xC0-0xFF (except 0xD7 and 0xF7) are letters and 0xA0-0xFF are
printable.  A name is read from its offset to the next NUL; it is valid only
when it is at most ``KSYM_NAME_LEN`` characters long.
"""

from __future__ import annotations

import numpy as np

from btfdedup.format.constants import BTF_MAX_NAME_OFFSET
from btfdedup.validate.rules import RuleSet


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
        buf = np.frombuffer(blob, dtype=np.uint8) if blob else np.zeros(0, dtype=np.uint8)
        self.buf = buf
        self.size = len(buf)
        nul = np.flatnonzero(buf == 0)
        # A blob not ending in NUL is already a string-section problem; pretend it does.
        self._nul = np.append(nul, self.size).astype(np.int64)
        ident_rest = _ALPHA | _DIGIT
        ident_rest[ord("_")] = True
        ident_first = _ALPHA.copy()
        ident_first[ord("_")] = True
        if rules.dots_in_identifiers:
            ident_rest[ord(".")] = True
            ident_first[ord(".")] = True
        sect_rest = ident_rest.copy()
        sect_rest[ord(".")] = True
        sect_first = ident_first.copy()
        sect_first[ord(".")] = True
        self._ident_first = ident_first[buf] if self.size else np.zeros(0, dtype=bool)
        self._sect_first = sect_first[buf] if self.size else np.zeros(0, dtype=bool)
        self._bad_ident = self._cum(~ident_rest[buf] & (buf != 0))
        self._bad_sect_ident = self._cum(~sect_rest[buf] & (buf != 0))
        self._bad_print = self._cum(~_PRINT[buf] & (buf != 0))

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

    def text(self, off: int) -> str | None:
        """The name at ``off`` for messages (None when the offset is invalid)."""
        if off >= self.size:
            return None
        end = self.blob.find(b"\0", off)
        return self.blob[off : end if end >= 0 else None].decode("utf-8", "backslashreplace")
