"""bpftool-compatible dumps of BTF: raw text and JSON.

``dump_raw``/``write_raw`` reproduce ``bpftool btf dump file F format raw``
(bpftool 7.1.0) byte for byte; ``dump_json``/``write_json`` reproduce
``bpftool -j`` (and ``-p`` with ``pretty=True``).  Both take ``ids`` to dump only
some type IDs, and print only the split part of split BTF.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from btfdedup.errors import BtfUsageError
from btfdedup.render.json import dump_json, dump_json_bytes, iter_json_chunks, write_json
from btfdedup.render.raw import dump_raw, dump_raw_bytes, iter_raw_chunks, write_raw

if TYPE_CHECKING:
    from btfdedup.model.btf import Btf

#: the values ``dump(format=...)`` accepts
FORMATS = ("raw", "json")


def dump(btf: Btf, format: str = "raw", ids: Iterable[int] | None = None, *, pretty: bool = False) -> str:
    r"""The text ``bpftool btf dump file F format raw`` (or ``bpftool -j``) prints for ``btf``.

    ``format`` is ``"raw"`` (bpftool's raw text, one line per type plus one per
    member) or ``"json"`` (``bpftool -j``; ``pretty=True`` gives ``bpftool -p``).
    ``ids`` restricts the dump to those type IDs, in the order given (base IDs of
    a split BTF allowed); by default every own type of ``btf`` is dumped, and a
    split BTF's base is not.  An ID out of range raises :class:`BtfUsageError`.

    >>> import btfdedup
    >>> btf = btfdedup.load("corpora/bpf/fwd_owner.bpf.o")
    >>> text = btfdedup.dump(btf, ids=[25, 20])
    >>> text.splitlines()
    ["[25] PTR '(anon)' type_id=20", "[20] UNION 'shared_blob' size=16 vlen=2", "\t'word' type_id=12 bits_offset=0", "\t'text' type_id=22 bits_offset=0"]
    >>> btfdedup.dump(btf, "json", ids=[25])
    '{"types":[{"id":25,"kind":"PTR","name":"(anon)","type_id":20}]}\n'
    """
    if format == "raw":
        if pretty:
            raise BtfUsageError("pretty=True applies to format='json' only")
        return dump_raw_bytes(btf, ids).decode("utf-8", "surrogateescape")
    if format == "json":
        return dump_json(btf, ids, pretty=pretty)
    raise BtfUsageError(f"unknown dump format {format!r} (expected one of: {', '.join(FORMATS)})")


__all__ = [
    "FORMATS",
    "dump",
    "dump_json",
    "dump_json_bytes",
    "dump_raw",
    "dump_raw_bytes",
    "iter_json_chunks",
    "iter_raw_chunks",
    "write_json",
    "write_raw",
]
