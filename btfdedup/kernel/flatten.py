"""Flatten split BTF and its base chain into one standalone BTF.

``BPF_BTF_LOAD`` takes a single self-contained blob: user space cannot name a
base BTF for it (only the kernel itself links module BTF to vmlinux).  Split
BTF numbers its types after the base's last ID and its string offsets after the
base's string section, so base and split laid end to end already *are* a valid
standalone BTF: base records then split records, base strings then split
strings, under one header.  No ID or offset needs rewriting.
"""

from __future__ import annotations

import numpy as np

from btfdedup.errors import BtfUsageError
from btfdedup.model.btf import Btf


def flatten(btf: Btf) -> Btf:
    """A base BTF equal, type for type and offset for offset, to ``btf`` with its bases.

    A BTF without a base is returned unchanged.  The layout section (if any) and
    byte order are taken from ``btf`` itself; the header is the longest in the chain.
    """
    if btf.base is None:
        return btf
    chain = btf.chain()
    words_parts: list[np.ndarray] = []
    starts: list[np.ndarray] = []
    strings: list[bytes] = []
    word_pos = 0
    str_len = 0
    for b in chain:
        if b.strings.start_off != str_len:
            raise BtfUsageError(
                f"cannot flatten: strings of {b.source or 'a split BTF'} start at offset {b.strings.start_off}, "
                f"but its base's strings end at {str_len}"
            )
        words_parts.append(b.words)
        starts.append(b.type_start[:-1].astype(np.int64) + word_pos)
        word_pos += int(b.words.shape[0])
        strings.append(b.strings.data)
        str_len += len(b.strings.data)
    starts.append(np.array([word_pos], dtype=np.int64))
    words = np.concatenate(words_parts).astype(np.uint32, copy=False)
    type_start = np.concatenate(starts)
    layout = btf.layout or next((b.layout for b in reversed(chain) if b.layout), b"")
    return Btf.from_words(
        words,
        b"".join(strings),
        type_start=type_start,
        byteorder=btf.byteorder,
        hdr_len=max(b.hdr_len for b in chain),
        layout=layout,
        source=f"{btf.source or '<split>'} (flattened with its base)",
    )


def flatten_bytes(btf: Btf) -> bytes:
    """Raw bytes of :func:`flatten` — what ``btfdedup kernel load --merge-base`` sends."""
    return flatten(btf).to_bytes()


__all__ = ["flatten", "flatten_bytes"]
