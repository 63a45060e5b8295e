"""Distill a module's base: libbpf's ``btf__distill_base``, vectorized.

A module's split BTF names its base's types by ID and its base's strings by offset, so
it is tied to one exact vmlinux build.  Distilling replaces the base by the minimum
that lets :mod:`btfdedup.workflows.relocate` find the same types again in another
build, by name and size:

1. **Mark.**  Every base type ID a type-ID field of the module refers to is marked,
   then, transitively, the base IDs the marked types refer to, except through *named*
   STRUCT/UNION (the distilled base keeps them without members).  A marked type must be
   INT, FLOAT, FWD, ARRAY, STRUCT, UNION, TYPEDEF, ENUM, ENUM64, PTR, CONST, RESTRICT,
   VOLATILE, FUNC_PROTO or TYPE_TAG (else :class:`~btfdedup.errors.DistillError`).
2. **Distilled base** (``btf__new_empty``), the marked types in ascending ID order:
   INT, FLOAT and FWD copied; named STRUCT/UNION as a member-less composite of the same
   kind, name and size (kind_flag 0); named ENUM/ENUM64 as an ENUM of vlen 0 with the
   same name and size.
3. **New split** on it (``btf__new_empty_split``): the module's own types in order,
   then the other marked types in ascending ID order (anonymous STRUCT/UNION/ENUM/ENUM64
   in full, ARRAY, TYPEDEF, PTR, CONST, RESTRICT, VOLATILE, FUNC_PROTO, TYPE_TAG).
4. **IDs**: a marked base ID becomes its new ID; a module ID moves down by the number
   of base types the distilled base dropped.

Strings are interned as libbpf's add-APIs do (:class:`btfdedup.append.StringSet`): the
distilled base's in the order its records are added; the new split's in field-iterator
order over its records, a string equal to a distilled-base string taking the base's
offset.  Both outputs are new BTF, so they get the header ``btf__new_empty`` of the chosen
libbpf release writes (``libbpf_version``, :mod:`btfdedup.engine.profiles`: 24 bytes by
default, 32 for 1.8).

Everything is a numpy pass over the records (the marking is one pass per level of
references); the string interning is the compiled walk of :mod:`btfdedup.append_walk`.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from btfdedup.append import StringSet, same_btf
from btfdedup.engine.profiles import DEFAULT_LIBBPF_VERSION, profile_for
from btfdedup.errors import BtfUsageError, DistillError
from btfdedup.format.constants import KIND_NAMES, KIND_SHIFT, Kind
from btfdedup.kernel.flatten import flatten
from btfdedup.model.btf import Btf
from btfdedup.model.fields import ragged, str_fields, type_id_fields
from btfdedup.model.strings import StringTable

#: Base kinds a module may refer to (libbpf ``btf_add_distilled_type_ids``).
DISTILLABLE_KINDS = (
    Kind.INT, Kind.FLOAT, Kind.FWD, Kind.ARRAY, Kind.STRUCT, Kind.UNION, Kind.TYPEDEF, Kind.ENUM,
    Kind.ENUM64, Kind.PTR, Kind.CONST, Kind.RESTRICT, Kind.VOLATILE, Kind.FUNC_PROTO, Kind.TYPE_TAG,
)
_COMPOSITE = (Kind.STRUCT, Kind.UNION)
_ENUMS = (Kind.ENUM, Kind.ENUM64)
_COPIED_TO_BASE = (Kind.INT, Kind.FLOAT, Kind.FWD)


class Distilled(NamedTuple):
    """What :func:`distill_base` returns: the distilled base and the new split on it."""

    base: Btf
    split: Btf


def _kinds(values: tuple[Kind, ...]) -> np.ndarray:
    return np.array([int(k) for k in values], dtype=np.uint8)


def mark_base_types(module: Btf, flat: Btf) -> np.ndarray:
    """Ascending base type IDs the distilled base must describe (step 1).

    ``flat`` is the module's base chain as one base BTF (IDs 1 .. ``module.start_id - 1``).
    """
    split_start = module.start_id
    allowed = np.zeros(256, dtype=np.bool_)
    allowed[_kinds(DISTILLABLE_KINDS)] = True
    kind = flat.kind
    marked = np.zeros(split_start, dtype=np.bool_)
    pos, owner = type_id_fields(module)
    refs = module.words[pos].astype(np.int64)
    referrer = owner + split_start
    sel = (refs > 0) & (refs < split_start)
    frontier, first = np.unique(refs[sel], return_index=True)
    referrer = referrer[sel][first]
    while frontier.size:
        new = ~marked[frontier]
        frontier, referrer = frontier[new], referrer[new]
        bad = ~allowed[kind[frontier - 1]]
        if bad.any():
            ids = frontier[bad]
            what = ", ".join(
                f"[{int(t)}] {KIND_NAMES.get(int(kind[t - 1]), '?')} '{flat.name(int(t))}' (from type [{int(r)}])"
                for t, r in zip(ids[:8].tolist(), referrer[bad][:8].tolist(), strict=True)
            )
            raise DistillError(
                f"{module.source or 'module'}: the module refers to base type{'s' if ids.size > 1 else ''} {what}"
                f"{' and more' if ids.size > 8 else ''}: a distilled base can only stand for "
                + ", ".join(KIND_NAMES[int(k)] for k in DISTILLABLE_KINDS)
            )
        marked[frontier] = True
        rows = frontier - 1
        named_composite = ((kind[rows] == Kind.STRUCT) | (kind[rows] == Kind.UNION)) & (flat.name_off[rows] != 0)
        rows = rows[~named_composite]  # a distilled base keeps those without members: no recursion
        pos, owner = _id_fields_of_rows(flat, rows)
        refs = flat.words[pos].astype(np.int64)
        sel = refs > 0
        frontier, first = np.unique(refs[sel], return_index=True)
        referrer = (owner[sel] + 1)[first]
    return np.flatnonzero(marked)


def _id_fields_of_rows(btf: Btf, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~btfdedup.model.fields.type_id_fields` of the few ``rows`` only (the
    marking visits a handful of a vmlinux's types per level): word positions and the
    owning row of each."""
    from btfdedup.model.fields import TID_FIRST, TID_FIXED, TID_PER_VLEN, TID_STRIDE

    kind = btf.kind[rows].astype(np.int64)
    counts = TID_FIXED[kind] + TID_PER_VLEN[kind] * btf.vlen[rows].astype(np.int64)
    owner, j = ragged(counts)
    k = kind[owner]
    return btf.type_start[rows[owner]] + TID_FIRST[k] + TID_STRIDE[k] * j, rows[owner]


def _gather_records(flat: Btf, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The records of base ``ids`` (in that order) laid end to end, and their lengths in words."""
    start = flat.type_start[ids - 1]
    length = flat.type_start[ids] - start
    owner, j = ragged(length)
    return flat.words[start[owner] + j], length


def _type_start(lengths: np.ndarray) -> np.ndarray:
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def _distilled_base(module: Btf, flat: Btf, ids: np.ndarray, source: StringTable, hdr_len: int) -> Btf:
    """Step 2: the distilled base's records for base ``ids`` (those that go there)."""
    kind = flat.kind[ids - 1]
    start = flat.type_start[ids - 1]
    size = flat.size_type[ids - 1].astype(np.int64)
    odd = np.isin(kind, _kinds(_ENUMS)) & ~np.isin(size, [1, 2, 4, 8])
    if odd.any():  # libbpf's btf__add_enum refuses them
        t = int(ids[odd][0])
        raise DistillError(f"{module.source or 'module'}: base type [{t}] {KIND_NAMES[int(flat.kind[t - 1])]} "
                           f"'{flat.name(t)}' has size {int(flat.size_type[t - 1])}: a distilled base ENUM must be "
                           "1, 2, 4 or 8 bytes")
    copied = np.isin(kind, _kinds(_COPIED_TO_BASE))
    nwords = np.where(kind == Kind.INT, 4, 3).astype(np.int64)
    ts = _type_start(nwords)
    words = np.zeros(int(ts[-1]), dtype=np.uint32)
    hdr = ts[:-1]
    new_kind = np.where(np.isin(kind, _kinds(_ENUMS)), int(Kind.ENUM), kind).astype(np.uint32)
    words[hdr + 1] = np.where(copied, flat.info[ids - 1], new_kind << KIND_SHIFT)
    words[hdr + 2] = flat.size_type[ids - 1]
    is_int = kind == Kind.INT
    words[hdr[is_int] + 3] = flat.words[start[is_int] + 3]
    names = flat.name_off[ids - 1].astype(np.int64)
    strset = StringSet(None)
    strset.intern_fields(names, np.zeros(len(names), dtype=np.int64), [source])
    words[hdr] = names
    return Btf.from_words(words, strset.to_bytes(), type_start=ts, byteorder=module.byteorder,
                          hdr_len=hdr_len, strs_deduped=True, check=False,
                          source=f"{module.source or 'module'} (distilled base)")


def distill_base(module: Btf, *, libbpf_version: str = DEFAULT_LIBBPF_VERSION) -> Distilled:
    """``btf__distill_base(module)``: the distilled base and the module's split BTF on it.

    ``module`` must be split BTF (loaded on the base it was built against); a base that
    is itself split (a module on a module) is walked as one base, as libbpf does.
    ``libbpf_version`` picks the header of the two new objects.

    >>> import btfdedup
    >>> base = btfdedup.load("corpora/modules/vmlinux-6.1.btf.xz")
    >>> dist = btfdedup.distill(btfdedup.load("corpora/modules/8021q.btf", base=base))
    >>> len(dist.base), len(dist.split), dist.split.start_id
    (65, 269, 66)
    """
    if module.base is None:
        raise BtfUsageError(
            f"{module.source or 'module'}: is not split BTF: distilling needs a module loaded on its base (--base)"
        )
    hdr_len = profile_for(libbpf_version).new_hdr_len
    flat = flatten(module.base)
    split_start = module.start_id
    source = StringTable(module.all_strings(), 0)
    ids = mark_base_types(module, flat)
    kind = flat.kind[ids - 1]
    named = flat.name_off[ids - 1] != 0
    to_base = np.isin(kind, _kinds(_COPIED_TO_BASE)) | (np.isin(kind, _kinds(_COMPOSITE + _ENUMS)) & named)
    base_ids, moved_ids = ids[to_base], ids[~to_base]
    dist = _distilled_base(module, flat, base_ids, source, hdr_len)

    # Step 3: the module's own records, then the moved base records.
    moved_words, moved_len = _gather_records(flat, moved_ids)
    own_len = np.diff(module.type_start)
    words = np.concatenate([module.words, moved_words]).astype(np.uint32)
    ts = _type_start(np.concatenate([own_len, moved_len]))
    # A scaffold for the field positions only (its cached columns are not used again).
    layout = Btf(words, ts, StringTable(b"", dist.strings.end_off, dist.strings), base=dist)

    # Strings, in field-iterator order over the new records.
    spos, _ = str_fields(layout)
    offs = words[spos].astype(np.int64)
    strset = StringSet(dist)
    strset.intern_fields(offs, np.zeros(len(offs), dtype=np.int64), [source])
    words[spos] = offs

    # Step 4: IDs.
    new_start = dist.type_cnt
    id_map = np.arange(module.type_cnt, dtype=np.int64)
    id_map[split_start:] -= split_start - new_start
    id_map[base_ids] = np.arange(1, len(base_ids) + 1)
    id_map[moved_ids] = new_start + module.nr_types + np.arange(len(moved_ids))
    tpos, _ = type_id_fields(layout)
    words[tpos] = id_map[words[tpos]]
    split = Btf.from_words(words, strset.to_bytes(), base=dist, type_start=ts, byteorder=module.byteorder,
                           hdr_len=hdr_len, strs_deduped=True, check=False, source=module.source)
    return Distilled(dist, split)


def distill(module: Btf, base: Btf | None = None, *, libbpf_version: str = DEFAULT_LIBBPF_VERSION) -> Distilled:
    """The public form of :func:`distill_base`: ``module`` is split BTF loaded on
    ``base`` (default: whatever base it was loaded on); a ``base`` that is not the
    module's is refused rather than silently ignored.

    >>> import btfdedup
    >>> base = btfdedup.load("corpora/modules/vmlinux-6.1.btf.xz")
    >>> new_base, new_split = btfdedup.distill(btfdedup.load("corpora/modules/8021q.btf", base=base), base)
    >>> len(new_base), new_base[new_base.find_by_name("net_device")[0]]     # members dropped
    (65, TypeView(id=46, kind=STRUCT, name='net_device', size=2432))
    """
    if base is not None and module.base is not base and not same_btf(module.base, base):
        what = "is not split BTF" if module.base is None else "is split BTF on another base"
        raise BtfUsageError(f"{module.source or 'module'}: {what}: load it with base= the base to distill")
    return distill_base(module, libbpf_version=libbpf_version)




# ----------------------------------------------------------------------------- files


class DistillRun(NamedTuple):
    """What :func:`distill_file` did: the result and the paths written."""

    name: str
    distilled: Distilled
    base_types: int
    outputs: list[str]


def distill_file(module_path: str, base: Btf, *, base_path: str | None = None, outdir: str | None = None,
                 ko: str | None = None, libbpf_version: str = DEFAULT_LIBBPF_VERSION) -> DistillRun:
    """``btfdedup distill``: distill the module at ``module_path`` (split on ``base``) and
    write ``OUTDIR/<name>.base.btf`` and ``OUTDIR/<name>.btf`` and/or a copy of the
    input ``.ko`` with the two as ``.BTF.base`` and ``.BTF`` (:mod:`btfdedup.io.elf_sections`).
    All outputs are put in place together, never over an input."""
    from btfdedup.io.elf import BTF_BASE_SECTION, BTF_SECTION
    from btfdedup.io.elf_sections import set_sections
    from btfdedup.io.load import load_data, read_input
    from btfdedup.io.writer import OutputSet, check_output
    from btfdedup.workflows.split import module_name

    if outdir is None and ko is None:
        raise BtfUsageError("nothing to write: give -o OUTDIR and/or --ko OUT.ko")
    protect = [module_path] + ([base_path] if base_path else [])
    if ko is not None:
        check_output(ko, protect, not_stdout="--ko writes an ELF file")
    data = read_input(module_path)
    if ko is not None and data[:4] != b"\x7fELF":
        raise BtfUsageError(f"{module_path}: --ko needs an ELF module (.ko) to copy, this is raw BTF")
    module = load_data(data, module_path, base)
    result = distill(module, base, libbpf_version=libbpf_version)
    name = module_name(module_path)
    base_bytes, split_bytes = result.base.to_bytes(), result.split.to_bytes()
    written: list[str] = []
    with OutputSet(protect) as out:
        if outdir is not None:
            out.make_dir(outdir)
            for path, blob in ((os.path.join(outdir, f"{name}.base.btf"), base_bytes),
                               (os.path.join(outdir, f"{name}.btf"), split_bytes)):
                out.add(path, blob)
                written.append(path)
        if ko is not None:
            out.add(ko, set_sections(data, {BTF_SECTION: split_bytes, BTF_BASE_SECTION: base_bytes},
                                     source=module_path))
            written.append(ko)
        out.commit()
    return DistillRun(name, result, base.type_cnt - 1, written)


__all__ = ["DISTILLABLE_KINDS", "DistillRun", "Distilled", "distill", "distill_base", "distill_file", "mark_base_types"]
