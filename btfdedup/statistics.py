"""Size and shape statistics of one BTF object, for ``btfdedup stats``.

Per kind: how many types and how many record bytes (12-byte header plus tail).
Overall: header, type, string and layout section sizes; bytes of the input that
no section covers (dropped by the reader, refused by the kernel); the ``.BTF.ext`` record
counts when the object came from an ELF with one; and a duplicate indicator —
how many *named* types share their (kind, name) with at least one other type of
this object.  Anonymous types (name offset 0) are excluded from the indicator,
because an anonymous ``PTR``/``CONST``/``FUNC_PROTO`` is distinguished only by
what it points to, not by a name.  Names are compared by content, not by offset,
so BTF whose strings are not deduplicated counts correctly.

Everything is vectorized: per-kind sums are ``np.bincount`` over the kind
column, and duplicates are ``np.unique`` over ``(kind, name content id)``.
For split BTF only the split part is counted, like the dump.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from btfdedup.format.constants import BTF_KIND_MAX, KIND_NAMES, NR_KIND_SLOTS

if TYPE_CHECKING:
    from btfdedup.model.btf import Btf

#: ``.BTF.ext`` subsections, as attributes of :class:`btfdedup.model.ext.BtfExt`.
EXT_SUBSECTIONS = ("func_info", "line_info", "core_relo")


@dataclass
class KindStats:
    """Count, record bytes and duplicate-named count of one kind."""

    kind: str
    count: int
    bytes: int
    duplicates: int


@dataclass
class BtfStats:
    """Statistics of one BTF object (see the module docstring for definitions)."""

    source: str | None
    nr_types: int
    start_id: int
    split: bool
    kinds: list[KindStats]
    hdr_bytes: int
    type_bytes: int
    str_bytes: int
    layout_bytes: int
    named_types: int
    anon_types: int
    #: named types sharing (kind, name) with another type
    duplicate_types: int
    #: distinct (kind, name) pairs held by more than one type
    duplicate_groups: int
    #: subsection -> {"blocks": n, "records": n, "rec_size": n}; None without .BTF.ext
    ext: dict[str, dict[str, int]] | None = field(default=None)
    ext_bytes: int = 0
    #: bytes of the input after its last section / before or between sections, which the
    #: reader dropped (``Btf.trailing_len``/``gap_len``; not part of ``total_bytes``)
    trailing_bytes: int = 0
    gap_bytes: int = 0

    @property
    def total_bytes(self) -> int:
        """Size of the raw ``.BTF`` blob: header + layout + types + strings."""
        return self.hdr_bytes + self.layout_bytes + self.type_bytes + self.str_bytes

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (what ``btfdedup stats --json`` prints per file)."""
        out: dict[str, Any] = {
            "file": self.source,
            "split": self.split,
            "start_id": self.start_id,
            "nr_types": self.nr_types,
            "kinds": {k.kind: {"count": k.count, "bytes": k.bytes, "duplicates": k.duplicates} for k in self.kinds},
            "hdr_bytes": self.hdr_bytes,
            "layout_bytes": self.layout_bytes,
            "type_bytes": self.type_bytes,
            "str_bytes": self.str_bytes,
            "total_bytes": self.total_bytes,
            "named_types": self.named_types,
            "anon_types": self.anon_types,
            "duplicate_types": self.duplicate_types,
            "duplicate_groups": self.duplicate_groups,
            "trailing_bytes": self.trailing_bytes,
            "gap_bytes": self.gap_bytes,
        }
        if self.ext is not None:
            out["ext"] = {"bytes": self.ext_bytes, **self.ext}
        return out


def name_content_ids(btf: Btf, name_off: np.ndarray) -> np.ndarray:
    """Map name offsets to ids equal exactly when the names' bytes are equal.

    Offsets past the string section each get an id of their own.
    """
    offs = np.asarray(name_off, dtype=np.int64)
    uniq, inv = np.unique(offs, return_inverse=True)
    ids = np.empty(len(uniq), dtype=np.int64)
    seen: dict[bytes, int] = {}
    strings = btf.strings
    for j, off in enumerate(uniq.tolist()):
        try:
            s = strings.get(off)
        except KeyError:
            s = b"\xff<invalid %d>" % off
        ids[j] = seen.setdefault(s, len(seen))
    return ids[inv.reshape(-1)]


def btf_stats(btf: Btf) -> BtfStats:
    """Compute :class:`BtfStats` for ``btf`` (its own types only when split)."""
    kind = btf.kind.astype(np.int64)
    rec_bytes = np.diff(btf.type_start) * 4
    counts = np.bincount(kind, minlength=NR_KIND_SLOTS)
    sizes = np.bincount(kind, weights=rec_bytes, minlength=NR_KIND_SLOTS).astype(np.int64)

    named = btf.name_off != 0
    dup_mask = np.zeros(btf.nr_types, dtype=np.bool_)
    groups = 0
    if named.any():
        idx = np.flatnonzero(named)
        content = name_content_ids(btf, btf.name_off[idx])
        key = content * NR_KIND_SLOTS + kind[idx]
        _u, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
        dup_mask[idx] = cnt[inv.reshape(-1)] > 1
        groups = int((cnt > 1).sum())
    dups = np.bincount(kind[dup_mask], minlength=NR_KIND_SLOTS)

    kinds = []
    for k in np.flatnonzero(counts).tolist():
        label = KIND_NAMES.get(k, "UNKNOWN") if k <= BTF_KIND_MAX else f"KIND_{k}"
        kinds.append(KindStats(label, int(counts[k]), int(sizes[k]), int(dups[k])))

    ext_stats, ext_bytes = _ext_stats(btf)
    return BtfStats(
        source=btf.source,
        nr_types=btf.nr_types,
        start_id=btf.start_id,
        split=btf.base is not None,
        kinds=kinds,
        hdr_bytes=int(btf.hdr_len),
        type_bytes=btf.type_len,
        str_bytes=len(btf.strings),
        layout_bytes=len(btf.layout),
        named_types=int(named.sum()),
        anon_types=int(btf.nr_types - named.sum()),
        duplicate_types=int(dup_mask.sum()),
        duplicate_groups=groups,
        ext=ext_stats,
        ext_bytes=ext_bytes,
        trailing_bytes=int(getattr(btf, "trailing_len", 0)),
        gap_bytes=int(getattr(btf, "gap_len", 0)),
    )


def _ext_stats(btf: Btf) -> tuple[dict[str, dict[str, int]] | None, int]:
    """Record counts of ``btf.ext`` through the attributes of :class:`BtfExt`:
    ``func_info``/``line_info``/``core_relo``, each with ``present``,
    ``nr_blocks``, ``nr_records`` and ``rec_size``; ``len(ext)`` is its size."""
    ext = getattr(btf, "ext", None)
    if ext is None:
        return None, 0
    out: dict[str, dict[str, int]] = {}
    for name in EXT_SUBSECTIONS:
        sub = getattr(ext, name, None)
        if sub is None or not getattr(sub, "present", True):
            out[name] = {"blocks": 0, "records": 0, "rec_size": 0}
            continue
        out[name] = {
            "blocks": int(getattr(sub, "nr_blocks", 0)),
            "records": int(getattr(sub, "nr_records", 0)),
            "rec_size": int(getattr(sub, "rec_size", 0)),
        }
    try:
        size = len(ext)
    except TypeError:
        size = len(getattr(ext, "raw", b""))
    return out, size


def format_stats(st: BtfStats) -> str:
    """The human table ``btfdedup stats`` prints for one file."""
    lines = []
    title = st.source or "<bytes>"
    if st.split:
        title += f" (split BTF, type IDs {st.start_id}..{st.start_id + st.nr_types - 1})"
    lines.append(title)
    lines.append(f"  {'kind':<12} {'count':>10} {'bytes':>12} {'dup-named':>10}")
    for k in st.kinds:
        lines.append(f"  {k.kind:<12} {k.count:>10,} {k.bytes:>12,} {k.duplicates:>10,}")
    lines.append(f"  {'types':<12} {st.nr_types:>10,} {st.type_bytes:>12,} {st.duplicate_types:>10,}")
    lines.append(f"  {'strings':<12} {'':>10} {st.str_bytes:>12,}")
    lines.append(f"  {'header':<12} {'':>10} {st.hdr_bytes:>12,}")
    if st.layout_bytes:
        lines.append(f"  {'layout':<12} {'':>10} {st.layout_bytes:>12,}")
    lines.append(f"  {'total':<12} {'':>10} {st.total_bytes:>12,}")
    if st.trailing_bytes or st.gap_bytes:
        lines.append(
            f"  no section:  {st.trailing_bytes:,} bytes after the last section, {st.gap_bytes:,} before or between "
            "sections (dropped by the reader, not in the total; the kernel refuses such a blob)"
        )
    lines.append(
        f"  duplicates: {st.duplicate_types:,} of {st.named_types:,} named types share (kind, name) with another"
        f" ({st.duplicate_groups:,} groups; {st.anon_types:,} anonymous types not counted)"
    )
    if st.ext is not None:
        parts = ", ".join(f"{name} {v['records']:,} records in {v['blocks']:,} blocks" for name, v in st.ext.items())
        lines.append(f"  .BTF.ext: {st.ext_bytes:,} bytes: {parts}")
    return "\n".join(lines)


def stats(btf: Btf) -> BtfStats:
    """Counts and bytes per kind, section sizes, ``.BTF.ext`` records and the
    duplicate indicator of ``btf`` (only its own types when split), as
    ``btfdedup stats`` prints them; ``.to_json()`` is its ``--json`` form.

    >>> import btfdedup
    >>> st = btfdedup.stats(btfdedup.load("corpora/bpf/fwd_owner.bpf.o"))
    >>> st.nr_types, st.total_bytes, st.duplicate_types
    (33, 1278, 0)
    >>> st.kinds[0]
    KindStats(kind='INT', count=5, bytes=80, duplicates=0)
    >>> st.ext["line_info"]
    {'blocks': 1, 'records': 13, 'rec_size': 16}
    """
    return btf_stats(btf)
