"""The BTF string section: offsets <-> bytes, base-aware lookup, interning.

Offsets are *global*: a split BTF's strings start at ``start_off`` (the base's
``start_off + len``), and smaller offsets resolve in the base, recursively.
A reference is "the C string starting at that offset", so offsets into the middle
of a string (suffix sharing) are legal.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from btfdedup.model.strindex import StringIndex


class StringTable:
    """Immutable view of one BTF object's own string bytes plus its base chain."""

    __slots__ = ("data", "start_off", "base", "__dict__")

    def __init__(self, data: bytes, start_off: int = 0, base: StringTable | None = None) -> None:
        self.data = bytes(data)
        self.start_off = start_off
        self.base = base

    def __len__(self) -> int:
        return len(self.data)

    @property
    def end_off(self) -> int:
        """One past the last global offset this table (with its bases) covers."""
        return self.start_off + len(self.data)

    @cached_property
    def nul_positions(self) -> np.ndarray:
        """Sorted local positions of every NUL byte."""
        import numpy as np

        return np.flatnonzero(np.frombuffer(self.data, dtype=np.uint8) == 0)

    def contains(self, off: int) -> bool:
        """Whether ``off`` names a NUL-terminated string in this table or a base."""
        if off < self.start_off:
            return self.base.contains(off) if self.base is not None else off == 0 and self.start_off == 0
        return off - self.start_off < len(self.data)

    def get(self, off: int) -> bytes:
        """The string at global offset ``off`` (without its NUL).  Offset 0 is always ``b""``."""
        if off < self.start_off:
            if self.base is None:
                if off == 0:
                    return b""
                raise KeyError(off)
            return self.base.get(off)
        local = off - self.start_off
        if local >= len(self.data):
            if off == 0:
                return b""
            raise KeyError(off)
        end = self.data.find(b"\0", local)
        if end < 0:
            raise KeyError(off)
        return self.data[local:end]

    def text(self, off: int) -> str:
        """``get`` decoded for display; undecodable bytes are kept as escapes."""
        return self.get(off).decode("utf-8", "backslashreplace")

    def valid_mask(self, offsets: np.ndarray) -> np.ndarray:
        """Vectorized ``contains`` for an array of global offsets."""
        import numpy as np

        offsets = np.asarray(offsets, dtype=np.int64)
        out = np.zeros(len(offsets), dtype=np.bool_)
        own = offsets >= self.start_off
        if own.any():
            # The blob ends with NUL (checked at parse), so in range means terminated.
            out[own] = offsets[own] - self.start_off < len(self.data)
        low = ~own
        if low.any():
            if self.base is not None:
                out[low] = self.base.valid_mask(offsets[low])
            else:
                out[low] = offsets[low] == 0
        return out

    @cached_property
    def _index(self) -> StringIndex:
        """The compiled content index of this table's own strings (built on first use)."""
        from btfdedup.model.strindex import StringIndex

        return StringIndex(self.data)

    def find(self, s: bytes) -> int:
        """Global offset of ``s`` as libbpf's ``btf__find_str`` returns it, or -1.

        The base chain is searched first, so a split BTF reuses base offsets.  Within
        one table only string starts are indexed (not suffixes), and the first copy of
        equal content wins: the index libbpf's strset builds over an existing blob.
        """
        if self.base is not None:
            off = self.base.find(s)
            if off >= 0:
                return off
        off = self._index.find(s)
        return off if off < 0 else self.start_off + off
