"""The ``.BTF.ext`` the static linker writes: records gathered per output section.

For each input (``linker_append_btf_ext``), every block of its func_info, line_info
and core_relo subsections is appended to the output section its section landed in:
the first record size seen for an output section and kind fixes it (another size is
refused); ``insn_off`` moves by the input section's offset in the output section;
func_info and core_relo ``type_id`` go through the input's type map (pre-dedup
IDs); line_info ``file_name_off``/``line_off`` and core_relo ``access_str_off`` are
interned into the output strings in record order (line_info first, then core_relo).

At finalisation (``finalize_btf_ext``) the record sizes of each kind must agree
across output sections; the section is a 32-byte header, then per kind with records
its record size and one block per output section holding records, in output section
order, the block's section name interned as it is written (all func_info blocks,
then line_info, then core_relo).  No records at all: no ``.BTF.ext``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from btfdedup.bpfobj.link_input import LinkError, LinkInput, SrcSection
from btfdedup.model.ext import BtfExt, parse_ext
from btfdedup.model.strings import StringTable

EXT_KINDS = ("func_info", "line_info", "core_relo")
_EXT_HDR_LEN = 32

#: ``btf__add_str`` of the strings at the given offsets of a string table, in order
Intern = Callable[[StringTable, np.ndarray], np.ndarray]


@dataclass
class ExtRecs:
    """The ``.BTF.ext`` records of one kind collected for one output section."""

    rec_sz: int = 0
    recs: list[np.ndarray] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(r) for r in self.recs)


def new_ext_recs() -> dict[str, ExtRecs]:
    """Empty collections for the three kinds."""
    return {k: ExtRecs() for k in EXT_KINDS}


def collect_ext(inp: LinkInput, type_map: np.ndarray, ext_of: Callable[[SrcSection], dict[str, ExtRecs]],
                intern: Intern) -> None:
    """Append ``inp``'s records to the collections ``ext_of(section)`` of the output
    sections its sections were merged into."""
    ext = inp.ext
    if ext is None:
        return
    assert inp.btf is not None
    strings = inp.btf.strings
    for sub in ext.subsections:
        if not sub.present:
            continue
        recs_all = sub.records.astype(np.int64)
        first = sub.first
        for b in range(sub.nr_blocks):
            sec_name = strings.text(int(sub.sec_name_off[b]))
            src = inp.find_sec(sec_name)
            if src is None:
                raise LinkError(inp.path, "btf-ext-section", f".BTF.ext refers to a missing section '{sec_name}'")
            acc = ext_of(src)[sub.name]
            if acc.rec_sz == 0:
                acc.rec_sz = sub.rec_size
            if acc.rec_sz != sub.rec_size:
                raise LinkError(inp.path, "btf-ext-rec-size",
                                f".BTF.ext {sub.name} record size differs for section '{sec_name}'")
            recs = recs_all[int(first[b]) : int(first[b]) + int(sub.num_info[b])].copy()
            recs[:, 0] = (recs[:, 0] + src.dst_off) & 0xFFFFFFFF
            if sub.name in ("func_info", "core_relo"):
                recs[:, 1] = type_map[np.minimum(recs[:, 1], len(type_map) - 1)]
            if sub.name == "line_info":
                recs[:, 1:3] = intern(strings, recs[:, 1:3].reshape(-1)).reshape(-1, 2)
            elif sub.name == "core_relo":
                recs[:, 2] = intern(strings, recs[:, 2])
            acc.recs.append(recs)


def build_ext(secs: Sequence[tuple[str, dict[str, ExtRecs]]],
              intern_names: Callable[[Sequence[str]], list[int]]) -> BtfExt | None:
    """The linked ``.BTF.ext`` over the output sections ``(name, collections)`` in
    order, or None when no section collected any record."""
    sizes = {}
    for kind in EXT_KINDS:
        rec_sz = total = 0
        for _, ext in secs:
            acc = ext[kind]
            if not acc.count:
                continue
            if rec_sz == 0:
                rec_sz = acc.rec_sz
            if rec_sz != acc.rec_sz:
                raise LinkError(None, "btf-ext-rec-size", f".BTF.ext {kind} record sizes differ between sections")
            total += 8 + rec_sz * acc.count
        sizes[kind] = (rec_sz, total + 4 if total else 0)
    if not any(total for _, total in sizes.values()):
        return None
    fl, ll, cl = (sizes[k][1] for k in EXT_KINDS)
    out = bytearray(struct.pack("<HBBIIIIIII", 0xEB9F, 1, 0, _EXT_HDR_LEN, 0, fl, fl, ll, fl + ll, cl))
    for kind in EXT_KINDS:
        rec_sz, total = sizes[kind]
        if not total:
            continue
        out += struct.pack("<I", rec_sz)
        for name, ext in secs:
            acc = ext[kind]
            if not acc.count:
                continue
            (noff,) = intern_names([name])
            out += struct.pack("<II", noff, acc.count)
            for recs in acc.recs:
                out += recs.astype("<u4").tobytes()
    return parse_ext(bytes(out), byteorder="<", source="linked .BTF.ext")


__all__ = ["EXT_KINDS", "ExtRecs", "build_ext", "collect_ext", "new_ext_recs"]
