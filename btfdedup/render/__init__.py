"""bpftool-compatible dumps of BTF: raw text and JSON.

``dump_raw``/``write_raw`` reproduce ``bpftool btf dump file F format raw``
(bpftool 7.1.0) byte for byte; ``dump_json``/``write_json`` reproduce
``bpftool -j`` (and ``-p`` with ``pretty=True``).  Both take ``ids`` to dump only
some type IDs, and print only the split part of split BTF.
"""

from __future__ import annotations

from btfdedup.render.json import dump_json, dump_json_bytes, iter_json_chunks, write_json
from btfdedup.render.raw import dump_raw, dump_raw_bytes, iter_raw_chunks, write_raw

__all__ = [
    "dump_json",
    "dump_json_bytes",
    "dump_raw",
    "dump_raw_bytes",
    "iter_json_chunks",
    "iter_raw_chunks",
    "write_json",
    "write_raw",
]
