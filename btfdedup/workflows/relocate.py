"""Relocate split BTF from its distilled base onto a full base: libbpf's ``btf__relocate``.

The input is split BTF whose base is a *distilled* base (:mod:`btfdedup.workflows.distill`,
an out-of-tree module's ``.BTF.base``): named INT, FLOAT, ENUM, STRUCT, UNION and FWD
types only, each standing for a type of the real base found by name and size.

1. **Validate** the distilled base: only those six kinds, every one named.
2. **Embedded**: a distilled STRUCT/UNION that a split STRUCT/UNION holds by value
   (a member type reached through CONST, VOLATILE, RESTRICT, TYPEDEF, TYPE_TAG and ARRAY
   element types, not through a PTR) must match a base type of the same size.
3. **Match** every named base INT/FLOAT/ENUM/ENUM64/FWD/STRUCT/UNION against the
   distilled types of the same name: INT, FLOAT, ENUM, ENUM64 only when the sizes are
   equal too, STRUCT/UNION only when sizes are equal *if* the base has more than one
   composite of that name.  Compatible pairs: distilled FWD with a base FWD of the same
   kind_flag, a STRUCT (FWD kind_flag 0) or a UNION (kind_flag 1); INT with INT of the
   same encoding; FLOAT with FLOAT; ENUM with ENUM or ENUM64; STRUCT/UNION with any of
   them, the size checked while it is embedded and not yet matched.  A distilled type
   matched twice, or never, is a :class:`~btfdedup.errors.RelocationError` naming every
   such type and why, in one line.
4. **Rewrite**: distilled IDs become their base IDs, split IDs move by the difference of
   the two type counts; a string offset inside the distilled base's strings becomes the
   matched base type's name offset, the split's own strings move by the difference of
   the two string section sizes.  The split's records and string bytes are otherwise
   unchanged, so the result is the input with its fields rewritten, on the real base.

Name comparisons are vectorized: the candidate base names are gathered into a fixed
width byte matrix and compared with the distilled names as numpy byte strings.
"""

from __future__ import annotations

import weakref
from typing import NamedTuple

import numpy as np

from btfdedup.append import same_btf
from btfdedup.engine.profiles import DEFAULT_LIBBPF_VERSION, profile_for
from btfdedup.errors import BtfUsageError, RelocationError
from btfdedup.format.constants import KIND_NAMES, Kind
from btfdedup.kernel.flatten import flatten
from btfdedup.model.btf import Btf
from btfdedup.model.fields import ragged, str_fields, type_id_fields

#: The kinds a distilled base may hold (libbpf ``btf_relocate_validate_distilled_base``).
DISTILLED_KINDS = (Kind.INT, Kind.FLOAT, Kind.ENUM, Kind.STRUCT, Kind.UNION, Kind.FWD)
#: Base kinds matched against distilled types.
_MATCHED_KINDS = (Kind.INT, Kind.FLOAT, Kind.ENUM, Kind.ENUM64, Kind.FWD, Kind.STRUCT, Kind.UNION)
#: Kinds whose ``type`` field an embedding walk follows.
_WALKED = (Kind.CONST, Kind.RESTRICT, Kind.VOLATILE, Kind.TYPEDEF, Kind.TYPE_TAG)
_ENCODINGS = {0: "none", 1: "SIGNED", 2: "CHAR", 4: "BOOL"}


def _u8(values: tuple[Kind, ...]) -> np.ndarray:
    return np.array([int(k) for k in values], dtype=np.uint8)


def _int_encoding(btf: Btf, rows: np.ndarray) -> np.ndarray:
    """Encoding bits of the INT records at ``rows`` (others: 0)."""
    out = np.zeros(len(rows), dtype=np.int64)
    is_int = btf.kind[rows] == Kind.INT
    out[is_int] = (btf.words[btf.type_start[rows[is_int]] + 3] >> 24) & 0x0F
    return out


def _validate_distilled(dist: Btf) -> None:
    """Step 1."""
    ok = np.isin(dist.kind, _u8(DISTILLED_KINDS)) & (dist.name_off != 0)
    if ok.all():
        return
    bad = np.flatnonzero(~ok)[:8]
    what = ", ".join(
        f"[{int(i) + 1}] {KIND_NAMES.get(int(dist.kind[i]), '?')}"
        + (" (anonymous)" if dist.name_off[i] == 0 else f" '{dist.name(int(i) + 1)}'")
        for i in bad.tolist()
    )
    raise RelocationError(
        f"{dist.source or 'distilled base'}: not a distilled base: type{'s' if len(bad) > 1 else ''} {what}; "
        "a distilled base holds only named " + ", ".join(KIND_NAMES[int(k)] for k in DISTILLED_KINDS)
    )


def embedded_composites(module: Btf) -> np.ndarray:
    """Step 2: a mask over the distilled base's IDs (0 .. ``module.start_id - 1``) of the
    STRUCT/UNION types a split STRUCT/UNION of ``module`` holds by value."""
    nd = module.start_id
    dist = module.base
    assert dist is not None
    kind_all = np.concatenate([np.zeros(1, dtype=np.uint8), dist.kind, module.kind])
    next_all = np.zeros(module.type_cnt, dtype=np.int64)
    walked = np.isin(module.kind, _u8(_WALKED))
    next_all[nd:][walked] = module.size_type[walked]
    arrays = module.kind == Kind.ARRAY
    next_all[nd:][arrays] = module.words[module.type_start[:-1][arrays] + 3]
    composite = np.isin(module.kind, _u8((Kind.STRUCT, Kind.UNION)))
    pos, _ = type_id_fields(module, select=composite)
    cur = module.words[pos].astype(np.int64)
    embedded = np.zeros(nd, dtype=np.bool_)
    for _ in range(module.type_cnt + 1):
        cur = cur[cur != 0]
        if cur.size == 0:
            return embedded
        k = kind_all[cur]
        stop = (k == Kind.STRUCT) | (k == Kind.UNION)
        hit = cur[stop & (cur < nd)]
        embedded[hit] = True
        cur = next_all[cur[~stop]]
    raise RelocationError(f"{module.source or 'module'}: a chain of modifier, typedef or array types loops")


def _names_matrix(blob: np.ndarray, offs: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
    """The strings at ``offs`` (of ``lengths`` bytes, all <= ``width``) as numpy byte strings."""
    if width == 0:
        return np.zeros(len(offs), dtype="S1")
    j = np.arange(width, dtype=np.int64)
    idx = offs[:, None] + j[None, :]
    mat = np.where(j[None, :] < lengths[:, None], blob[np.minimum(idx, len(blob) - 1)], 0).astype(np.uint8)
    return np.ascontiguousarray(mat).view(f"S{width}").ravel()


def _string_lengths(blob: np.ndarray, nul: np.ndarray, offs: np.ndarray) -> np.ndarray:
    return nul[np.searchsorted(nul, offs)] - offs


class _BaseNames(NamedTuple):
    """The base side of the name matching, kept per base BTF (relocating many modules
    onto one vmlinux computes it once)."""

    cand: np.ndarray  # rows of the named INT/FLOAT/ENUM/ENUM64/FWD/STRUCT/UNION types
    blob: np.ndarray  # the string section, NUL-terminated
    offs: np.ndarray  # the distinct name offsets of ``cand``
    inverse: np.ndarray  # index into ``offs`` of each row of ``cand``
    lengths: np.ndarray  # length of each name of ``offs``


_BASE_NAMES: weakref.WeakKeyDictionary[Btf, _BaseNames] = weakref.WeakKeyDictionary()


def _base_names(base: Btf) -> _BaseNames:
    """:class:`_BaseNames` of the standalone ``base`` (string offsets index its blob)."""
    hit = _BASE_NAMES.get(base)
    if hit is not None:
        return hit
    cand = np.flatnonzero((base.name_off != 0) & np.isin(base.kind, _u8(_MATCHED_KINDS)))
    offs, inverse = np.unique(base.name_off[cand].astype(np.int64), return_inverse=True)
    nul = base.strings.nul_positions
    blob = np.frombuffer(base.strings.data + b"\0", dtype=np.uint8)
    out = _BaseNames(cand, blob, offs, inverse.ravel(), nul[np.searchsorted(nul, offs)] - offs)
    _BASE_NAMES[base] = out
    return out


def _name_groups(dist: Btf, base: _BaseNames) -> tuple[np.ndarray, np.ndarray]:
    """For the distilled types (rows of ``dist``) and the candidate base rows ``base.cand``:
    the index of each one's name among the distinct distilled names (-1: none)."""
    dblob = np.frombuffer(dist.strings.data + b"\0", dtype=np.uint8)
    dnul = np.flatnonzero(dblob == 0)
    doffs = dist.name_off.astype(np.int64)
    dlen = _string_lengths(dblob, dnul, doffs)
    width = int(dlen.max()) if len(dlen) else 0
    dnames = _names_matrix(dblob, doffs, dlen, width)
    uniq, dgroup = np.unique(dnames, return_inverse=True)

    fits = np.isin(base.lengths, np.unique(dlen))
    group = np.full(len(base.offs), -1, dtype=np.int64)
    if fits.any() and len(uniq):
        names = _names_matrix(base.blob, base.offs[fits], base.lengths[fits], width)
        at = np.minimum(np.searchsorted(uniq, names), len(uniq) - 1)
        group[np.flatnonzero(fits)] = np.where(uniq[at] == names, at, -1)
    return dgroup.astype(np.int64).ravel(), group[base.inverse]


def _describe(btf: Btf, row: int, enc: int | None = None) -> str:
    kind = int(btf.kind[row])
    out = f"{KIND_NAMES.get(kind, '?')} '{btf.name(btf.start_id + row)}'"
    if kind in (Kind.INT, Kind.FLOAT, Kind.ENUM, Kind.ENUM64, Kind.STRUCT, Kind.UNION):
        out += f" size={int(btf.size_type[row])}"
    if kind == Kind.INT:
        e = enc if enc is not None else int(_int_encoding(btf, np.array([row]))[0])
        out += f" encoding={_ENCODINGS.get(e, hex(e))}"
    if kind == Kind.FWD:
        out += " (union)" if btf.kind_flag[row] else " (struct)"
    return out


def map_distilled(module: Btf, base: Btf, label: str | None = None) -> np.ndarray:
    """Step 3: the base type ID of every distilled type ID (index 0: void), or a
    :class:`RelocationError` naming every distilled type matched never or twice.
    ``base`` is standalone (a chain is flattened first); ``label`` names it in errors."""
    dist = module.base
    assert dist is not None
    nd = dist.type_cnt
    embedded = embedded_composites(module)
    names = _base_names(base)
    cand = names.cand
    dgroup, bgroup = _name_groups(dist, names)
    keep = bgroup >= 0
    cand, bgroup = cand[keep], bgroup[keep]

    # Every (base candidate, distilled type of the same name) pair, in base ID order.
    order = np.argsort(dgroup, kind="stable")
    counts = np.bincount(dgroup, minlength=int(dgroup.max()) + 1 if len(dgroup) else 0)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    owner, j = ragged(counts[bgroup])
    prow = cand[owner]  # base rows
    drow = order[first[bgroup[owner]] + j]  # distilled rows
    bkind, dkind = base.kind[prow], dist.kind[drow]
    bsize = base.size_type[prow].astype(np.int64) & 0x7FFFFFFF
    dsize = dist.size_type[drow].astype(np.int64) & 0x7FFFFFFF
    bcomp = (bkind == Kind.STRUCT) | (bkind == Kind.UNION)
    # Composites of the base sharing a name offset (every one of them is a candidate
    # when one is: they have the same name).
    comp = np.isin(base.kind[cand], _u8((Kind.STRUCT, Kind.UNION)))
    uoff, ucnt = np.unique(base.name_off[cand[comp]], return_counts=True)
    boff = base.name_off[prow]
    ncomp = np.zeros(len(prow), dtype=np.int64)
    if len(uoff):
        at = np.minimum(np.searchsorted(uoff, boff), len(uoff) - 1)
        ncomp = np.where(uoff[at] == boff, ucnt[at], 0)
    needs_size = np.isin(bkind, _u8((Kind.INT, Kind.FLOAT, Kind.ENUM, Kind.ENUM64))) | (bcomp & (ncomp > 1))
    found = ~needs_size | (bsize == dsize)
    bflag, dflag = base.kind_flag[prow], dist.kind_flag[drow]
    benc, denc = _int_encoding(base, prow), _int_encoding(dist, drow)
    compat = np.select(
        [dkind == Kind.FWD, dkind == Kind.INT, dkind == Kind.FLOAT, dkind == Kind.ENUM,
         (dkind == Kind.STRUCT) | (dkind == Kind.UNION)],
        [((bkind == Kind.FWD) & (bflag == dflag)) | ((bkind == Kind.STRUCT) & (bflag == 0))
         | ((bkind == Kind.UNION) & (bflag == 1)),
         (bkind == Kind.INT) & (benc == denc),
         bkind == Kind.FLOAT,
         (bkind == Kind.ENUM) | (bkind == Kind.ENUM64),
         np.ones(len(prow), dtype=np.bool_)],
        False,
    ) & found
    # Per distilled type, in base ID order: the first compatible pair that passes the
    # size check of an embedded composite maps it; any compatible pair after it is a
    # second match (libbpf checks the size only until the type is mapped).
    did = drow + 1
    emb = embedded[did]
    maps = compat & (~emb | (bsize == dsize))
    srt = np.lexsort((prow, did))
    did_s, maps_s, compat_s, prow_s = did[srt], maps[srt], compat[srt], prow[srt]
    first_map = np.full(nd, np.iinfo(np.int64).max, dtype=np.int64)
    hits = np.flatnonzero(maps_s)
    np.minimum.at(first_map, did_s[hits], hits)
    mapped = first_map < np.iinfo(np.int64).max
    id_map = np.zeros(nd, dtype=np.int64)
    id_map[mapped] = base.start_id + prow_s[first_map[mapped]]
    after = compat_s & (np.arange(len(did_s)) > first_map[did_s])
    twice = np.zeros(nd, dtype=np.bool_)
    twice[did_s[after]] = True
    missing = ~mapped
    missing[0] = False
    if twice.any() or missing.any():
        raise RelocationError(_failure_line(module, base, label, id_map, missing, twice, embedded,
                                            did_s, prow_s, after, cand, bgroup, dgroup))
    return id_map


def _failure_line(module: Btf, base: Btf, label: str | None, id_map: np.ndarray, missing: np.ndarray, twice: np.ndarray,
                  embedded: np.ndarray, did_s: np.ndarray, prow_s: np.ndarray, after: np.ndarray,
                  cand: np.ndarray, bgroup: np.ndarray, dgroup: np.ndarray) -> str:
    """One line naming every distilled type that has no match or two, and why."""
    dist = module.base
    assert dist is not None
    parts: list[str] = []
    for d in np.flatnonzero(missing | twice).tolist():
        what = f"[{d}] {_describe(dist, d - 1)}" + (" (embedded by value)" if embedded[d] else "")
        if twice[d]:
            others = [int(id_map[d])] + [base.start_id + int(p) for p in prow_s[(did_s == d) & after].tolist()]
            parts.append(f"{what} is ambiguous: base types {others} all match")
            continue
        same = cand[bgroup == dgroup[d - 1]]
        if same.size == 0:
            parts.append(f"{what} has no match: no base INT, FLOAT, ENUM, FWD, STRUCT or UNION has that name")
            continue
        shown = ", ".join(f"[{base.start_id + int(r)}] {_describe(base, int(r))}" for r in same[:4].tolist())
        more = f" and {same.size - 4} more" if same.size > 4 else ""
        parts.append(f"{what} has no match: the base has {shown}{more}")
    n = len(parts)
    return (f"{module.source or 'module'}: cannot relocate onto {label or base.source or 'the base'}: "
            f"{n} distilled base type{'s' if n > 1 else ''} unmatched or ambiguous: " + "; ".join(parts))


def relocate_split(module: Btf, base: Btf) -> Btf:
    """``btf__relocate(module, base)``: ``module`` (split BTF on a distilled base) as
    split BTF on ``base``.  A base that is itself split (a module on a module) is
    matched as one base with the chain's IDs and string offsets.

    >>> import btfdedup
    >>> base = btfdedup.load("corpora/modules/vmlinux-6.1.btf.xz")
    >>> mod = btfdedup.load("corpora/modules/8021q.distilled.ko")   # .BTF on its .BTF.base
    >>> out = relocate_split(mod, base)
    >>> out.start_id == base.type_cnt, len(out)
    (True, 269)
    """
    dist = module.base
    if dist is None or dist.base is not None:
        raise BtfUsageError(
            f"{module.source or 'module'}: relocation needs split BTF on a distilled base "
            "(a standalone .BTF.base), " + ("found no base" if dist is None else "found a base that is split itself")
        )
    _validate_distilled(dist)
    flat = flatten(base)
    id_map_dist = map_distilled(module, flat, base.source)
    nd, nb = dist.type_cnt, base.type_cnt
    id_map = np.concatenate([id_map_dist, np.arange(nd, module.type_cnt, dtype=np.int64) + (nb - nd)])
    words = module.words.copy()
    tpos, _ = type_id_fields(module)
    words[tpos] = id_map[words[tpos]]

    # Strings: distilled names -> the matched base names; the split's own move up.
    dist_len, base_len = dist.strings.end_off, base.strings.end_off
    str_map = np.zeros(dist_len, dtype=np.int64)
    mapped = np.flatnonzero(id_map_dist)
    # the last match in base ID order wins, as libbpf writes them in that order
    order = np.argsort(id_map_dist[mapped], kind="stable")
    str_map[dist.name_off[mapped[order] - 1].astype(np.int64)] = flat.name_off[id_map_dist[mapped[order]] - 1]
    spos, sowner = str_fields(module)
    offs = words[spos].astype(np.int64)
    low = (offs != 0) & (offs < dist_len)
    new = np.where(offs >= dist_len, offs + (base_len - dist_len), offs)
    new[low] = str_map[offs[low]]
    unmapped = low & (new == 0)
    if unmapped.any():
        k = int(np.flatnonzero(unmapped)[0])
        raise RelocationError(
            f"{module.source or 'module'}: type [{module.start_id + int(sowner[k])}]: string offset {int(offs[k])} "
            f"('{dist.strings.text(int(offs[k]))}') lies in the distilled base's strings but is no distilled type's name"
        )
    words[spos] = new
    return Btf.from_words(words, module.strings.data, base=base, type_start=module.type_start,
                          byteorder=module.byteorder, hdr_len=module.hdr_len, layout=module.layout,
                          strs_deduped=module.strs_deduped, check=False, source=module.source)


#: Where the running kernel's vmlinux BTF is: the default base to relocate onto.
SYSFS_VMLINUX = "/sys/kernel/btf/vmlinux"


def relocate(module: Btf, dist_base: Btf | None = None, base: Btf | None = None, *,
             libbpf_version: str = DEFAULT_LIBBPF_VERSION) -> Btf:
    """The public form of :func:`relocate_split`: ``module`` is split BTF loaded on its
    distilled base (a ``.ko`` with ``.BTF.base`` loads that way by itself; a raw file
    needs ``load(path, base=dist_base)``).  ``dist_base``, when given, must be the base
    ``module`` was loaded on; ``base`` defaults to the running kernel's vmlinux.

    libbpf rewrites the parsed object in place, so the result keeps the input's
    header in every release; ``libbpf_version`` is only checked to be one of them.

    >>> import btfdedup
    >>> mod = btfdedup.load("corpora/modules/8021q.distilled.ko")     # on its .BTF.base
    >>> out = btfdedup.relocate(mod, base=btfdedup.load("corpora/modules/vmlinux-6.1.btf.xz"))
    >>> len(mod.base), len(out), out.start_id
    (65, 269, 95247)
    >>> btfdedup.relocate(mod, base=btfdedup.load("corpora/vmlinux-6.18.btf.xz"))
    Traceback (most recent call last):
    btfdedup.errors.RelocationError: corpora/modules/8021q.distilled.ko: cannot relocate onto corpora/vmlinux-6.18.btf.xz: 8 distilled base types unmatched or ambiguous: [2] INT 'char' size=1 encoding=SIGNED has no match: ...
    """
    profile_for(libbpf_version)
    if dist_base is not None and module.base is not dist_base and not same_btf(module.base, dist_base):
        raise BtfUsageError(
            f"{module.source or 'module'}: is not split BTF on the given distilled base: load it with base=dist_base"
        )
    if base is None:
        from btfdedup.io.load import load

        base = load(SYSFS_VMLINUX)
    return relocate_split(module, base)


def load_on_distilled_base(module_path: str, dist_base_path: str | None = None) -> Btf:
    """The module at ``module_path`` as split BTF on its distilled base: a ``.ko``'s own
    ``.BTF.base``, or the raw file ``dist_base_path`` (which wins when both exist)."""
    from btfdedup.io.elf import BTF_BASE_SECTION, find_btf_sections
    from btfdedup.io.load import load, load_data, read_input

    data = read_input(module_path)
    if dist_base_path is not None:
        return load_data(data, module_path, load(dist_base_path))
    if data[:4] == b"\x7fELF" and find_btf_sections(data, module_path).btf_base is not None:
        return load_data(data, module_path, None)
    raise BtfUsageError(
        f"{module_path}: has no {BTF_BASE_SECTION} section: give its distilled base with --dist-base DBASE"
    )


def relocate_file(module_path: str, output: str, *, dist_base_path: str | None = None, base_path: str | None = None,
                  libbpf_version: str = DEFAULT_LIBBPF_VERSION) -> tuple[Btf, Btf]:
    """``btfdedup relocate``: relocate the module at ``module_path`` from its distilled
    base onto the base at ``base_path`` (default: the running kernel's vmlinux) and
    write the split BTF to ``output`` (never over an input).  Returns (input, result)."""
    from btfdedup.io.load import load
    from btfdedup.io.writer import check_output, write_output

    base_path = base_path or SYSFS_VMLINUX
    protect = [p for p in (module_path, dist_base_path, base_path) if p]
    check_output(output, protect)
    module = load_on_distilled_base(module_path, dist_base_path)
    out = relocate(module, base=load(base_path), libbpf_version=libbpf_version)
    write_output(output, out.to_bytes(), protect)
    return module, out


__all__ = ["DISTILLED_KINDS", "SYSFS_VMLINUX", "embedded_composites", "load_on_distilled_base", "map_distilled",
           "relocate", "relocate_file", "relocate_split"]
