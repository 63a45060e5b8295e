"""The string area as the verifier reads it: the kernel's character classes, names for messages.

The kernel classifies characters with its own ``lib/ctype.c`` table, which is
Latin-1: bytes 0xC0-0xFF (except 0xD7 and 0xF7) are letters and 0xA0-0xFF are
printable.  A name is read from its offset to the next NUL; it is valid only
when it is at most ``KSYM_NAME_LEN`` characters long.  The checks themselves run
compiled (:mod:`btfdedup.verifier.meta_checks`) over :func:`char_classes`.
"""

from __future__ import annotations

import numpy as np

from btfdedup.verifier.rules import RuleSet

#: Bits of :func:`char_classes`.
IDENT_FIRST, IDENT_REST, SECT_FIRST, SECT_REST, PRINT = 1, 2, 4, 8, 16


def _kernel_ctype() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(isalpha, isdigit, isprint) for all 256 byte values, as the kernel's ctype table says."""
    c = np.arange(256)
    upper = ((c >= 65) & (c <= 90)) | ((c >= 192) & (c <= 222) & (c != 215))
    lower = ((c >= 97) & (c <= 122)) | ((c >= 223) & (c != 247))
    alpha = upper | lower
    digit = (c >= 48) & (c <= 57)
    printable = ((c >= 32) & (c <= 126)) | (c >= 160)
    return alpha, digit, printable


def char_classes(rules: RuleSet) -> np.ndarray:
    """Per byte value, which places of a name it may take under ``rules`` (uint8 bit set).

    IDENT_FIRST/IDENT_REST: first/other characters of a C identifier (``btf_name_valid_identifier``;
    '.' too from 6.8); SECT_FIRST/SECT_REST: the same plus '.' (``btf_name_valid_section`` before
    6.8); PRINT: printable (DATASEC names from 6.8).
    """
    alpha, digit, printable = _kernel_ctype()
    ident_first = alpha.copy()
    ident_first[ord("_")] = True
    ident_rest = alpha | digit
    ident_rest[ord("_")] = True
    if rules.dots_in_identifiers:
        ident_first[ord(".")] = True
        ident_rest[ord(".")] = True
    sect_first = ident_first.copy()
    sect_first[ord(".")] = True
    sect_rest = ident_rest.copy()
    sect_rest[ord(".")] = True
    out = (
        ident_first * IDENT_FIRST + ident_rest * IDENT_REST + sect_first * SECT_FIRST + sect_rest * SECT_REST
    ) + printable * PRINT
    out[0] = 0
    return out.astype(np.uint8)


class NameTable:
    """One string area (base chain + own, or own only): offsets to names."""

    def __init__(self, blob: bytes, rules: RuleSet) -> None:
        self.blob = blob
        self.rules = rules
        self.size = len(blob)

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

    def find(self, name: str) -> np.ndarray:
        return np.concatenate([self.base.find(name), self.own.find(name) + self.split_at])

    def text(self, off: int) -> str | None:
        return self.base.text(off) if off < self.split_at else self.own.text(off - self.split_at)
