"""Renumber the types of a BTF by an ID map, as libbpf's ``btf__permute`` does.

``permute(btf, id_map)`` gives the object libbpf (v1.7.0 and later) holds after
``btf__permute(btf, id_map, id_map_cnt, opts)``, so that :meth:`Btf.to_bytes` of the
result equals ``btf__raw_data`` of it:

* **id_map** maps old to new IDs.  For base BTF it covers every ID, void included
  (``type_cnt`` entries, ``id_map[0] == 0``); for split BTF it covers the object's own
  types only (``nr_types`` entries, ``id_map[old_id - start_id]``) and the new IDs
  are absolute (``start_id .. type_cnt - 1``).  Every new ID must be in range and
  used once, which with the count makes the map a bijection.  A bad map is the
  caller's error (:class:`~btfdedup.errors.BtfUsageError`) and nothing is changed.
* **Records** are emitted in new-ID order, each copied as it is except its type-ID
  fields (libbpf's field-iterator set: the ``type`` of PTR, TYPEDEF, the modifiers,
  FUNC, VAR, DECL_TAG, TYPE_TAG and FWD, ARRAY element and index, member, return,
  parameter and DATASEC entry types): a value of at least ``start_id`` (an own type)
  becomes ``id_map``'s new ID, a smaller one (void, a base type) is kept, and one past
  the last type is an error.  A kind the field iterator does not know fails too.
* **Strings are not touched**: same blob, same offsets, unreferenced strings kept.
  Neither are the header's length, byte order and version, nor a layout section;
  the type section keeps its length.  Base types of split BTF keep their IDs (the
  base object is shared, not copied).
* **.BTF.ext** (``opts.btf_ext``): every func_info ``type_id`` and core_relo
  ``type_id`` is remapped by the same rule; line_info has none.  The result's
  :attr:`Btf.ext` is the rewritten copy; the given object is left as it was.

The map is checked and inverted with numpy; the records are copied and their type-ID
fields renumbered in one compiled pass (:func:`btfdedup.model.reorder.reorder_records`),
so a vmlinux of 100k types, or a raw one of 3.4 million, is permuted without a Python
object per type and without index arrays the size of the type section.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from btfdedup.errors import BtfExtFormatError, BtfFormatError, BtfUsageError
from btfdedup.format.constants import BTF_KIND_MAX
from btfdedup.model.btf import Btf
from btfdedup.model.fields import FIELD_TABLES
from btfdedup.model.reorder import reorder_records

if TYPE_CHECKING:
    from btfdedup.model.ext import BtfExt


def full_map(btf: Btf, id_map: np.ndarray | Sequence[int]) -> np.ndarray:
    """``id_map`` (libbpf's ``btf__permute`` form, see the module docstring) checked
    and widened to every type ID of ``btf``: entry ``t`` is the new ID of ``t``, void
    and base IDs map to themselves.

    Raises :class:`BtfUsageError` naming the entry and the rule when ``id_map`` has
    the wrong length, moves void, or gives a new ID out of range or twice.
    """
    start, cnt = btf.start_id, btf.type_cnt
    ids = np.asarray(id_map)
    if ids.ndim != 1 or (len(ids) and ids.dtype.kind not in "iu"):
        raise BtfUsageError(f"id_map must be a flat sequence of integer type IDs, got shape {ids.shape} "
                            f"of {ids.dtype}")
    ids = ids.astype(np.int64)
    label = btf.source or "this BTF"
    if btf.base is not None:
        if len(ids) != btf.nr_types:
            raise BtfUsageError(f"{label}: the id_map of split BTF has one entry per own type "
                                f"({btf.nr_types}, IDs {start}..{cnt - 1}), got {len(ids)}")
        own, first = ids, 0
    else:
        if len(ids) != cnt:
            raise BtfUsageError(f"{label}: the id_map of base BTF has one entry per type ID, void included "
                                f"({cnt}), got {len(ids)}")
        if ids[0] != 0:
            raise BtfUsageError(f"{label}: id_map[0] is {int(ids[0])}: void (type ID 0) cannot move")
        own, first = ids[1:], 1
    out_of_range = np.flatnonzero((own < start) | (own >= cnt))
    if len(out_of_range):
        k = int(out_of_range[0])
        raise BtfUsageError(f"{label}: id_map[{k + first}] is {int(own[k])}, outside the own type IDs "
                            f"{start}..{cnt - 1}")
    seen = np.bincount(own - start, minlength=len(own))
    twice = np.flatnonzero(seen > 1)
    if len(twice):
        new = int(twice[0]) + start
        where = np.flatnonzero(own == new)[:2] + first
        raise BtfUsageError(f"{label}: id_map gives new ID {new} twice (entries {int(where[0])} and "
                            f"{int(where[1])}): a permutation uses each new ID once")
    mapping = np.arange(cnt, dtype=np.int64)
    mapping[start:] = own
    return mapping


def permute(btf: Btf, id_map: np.ndarray | Sequence[int], *, ext: BtfExt | None = None) -> Btf:
    """``btf`` with its own types renumbered by ``id_map`` (libbpf ``btf__permute``;
    see the module docstring for the map's form and what changes).

    ``ext``, the object's ``.BTF.ext``, has its func_info and core_relo type IDs
    remapped too; the copy is the result's :attr:`Btf.ext` (None without ``ext``).
    ``btf`` and ``ext`` are not modified.
    """
    mapping = full_map(btf, id_map)
    start, cnt, n = btf.start_id, btf.type_cnt, btf.nr_types
    # order[k]: the row (old local index) that becomes new local index k
    order = np.empty(n, dtype=np.int64)
    order[mapping[start:] - start] = np.arange(n, dtype=np.int64)

    kinds = np.asarray(btf.kind)
    unknown = np.flatnonzero(kinds > BTF_KIND_MAX)
    if len(unknown):
        i = int(unknown[0])
        raise BtfFormatError(f"kind {int(kinds[i])} is not one libbpf's field iterator knows: btf__permute "
                             "cannot rewrite its type IDs", source=btf.source, type_id=start + i)

    new_words, new_start, bad_row, bad_word = reorder_records(
        btf.words_buffer, np.ascontiguousarray(btf.type_start, dtype=np.int64), order, mapping, start,
        *FIELD_TABLES[:4])
    if bad_row >= 0:
        old_row = int(order[bad_row])
        value = int(new_words[int(new_start[bad_row]) + bad_word])
        raise BtfFormatError(f"type ID field at word {bad_word} refers to type [{value}], past the last type "
                             f"[{cnt - 1}]", source=btf.source, type_id=old_row + start)
    out = Btf(
        new_words,
        new_start,
        btf.strings,
        base=btf.base,
        byteorder=btf.byteorder,
        hdr_len=btf.hdr_len,
        layout=btf.layout,
        layout_off_hint=btf.layout_off_hint,
        version=btf.version,
        source=btf.source,
        strs_deduped=btf.strs_deduped,
    )
    out._kind = kinds[order]
    if ext is not None:
        out.ext = permute_ext(ext, mapping, start)
    return out


def permute_ext(ext: BtfExt, mapping: np.ndarray, start_id: int) -> BtfExt:
    """A copy of ``ext`` whose func_info and core_relo type IDs of own types (at least
    ``start_id``) are replaced through ``mapping`` (:func:`full_map`'s table); void and
    base IDs are kept.  An ID past the last type raises :class:`BtfExtFormatError`."""
    out = ext.copy()
    fields = out.type_id_fields()
    ids = fields.values.astype(np.int64)
    if not len(ids):
        return out
    past = np.flatnonzero(ids >= len(mapping))
    if len(past):
        b = int(past[0])
        raise BtfExtFormatError(f"{fields.describe(b)} refers to type [{int(ids[b])}], past the last type "
                                f"[{len(mapping) - 1}]", source=ext.source)
    new = np.where(ids < start_id, ids, mapping[ids])
    out.set_type_ids(new.astype(np.uint32))
    return out
