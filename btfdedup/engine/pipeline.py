"""The dedup engine: libbpf v1.6 ``btf__dedup``, phase by phase, byte for byte.

``libbpf_version`` picks another release: "1.1" (libbpf 1.1.2, Debian 12's system
``libbpf.so.1``, and the static linker built on it: IS_EQUIV's fallback for
compiler-duplicated candidates differs), "1.7" (v1.7.0: TYPEDEF deduplicated in the
struct phase) or "1.8" (master: the same, with base typedefs keyed for it); see
:mod:`btfdedup.engine.profiles`.

Design
======

Output bytes must equal libbpf's, and libbpf's result depends on *order*: which
candidate is met first under a hash key, which type a recursive walk reaches first,
how many entries the hashmap held when it last grew.  The engine therefore splits the
work in two kinds of code:

* **order-independent** steps run vectorized in numpy over whole columns: the
  FWD-by-name pass, compaction's ID table, remapping of every ID field (gathered in
  iterator order with the :mod:`btfdedup.model.fields` tables);
* **order-dependent** steps are transcriptions of libbpf's loops, compiled ahead of
  time with Cython (``btfdedup/engine/phases/*.pyx``) over raw pointers into the arrays
  of one :class:`~btfdedup.engine.state.DedupState` (libbpf's ``struct btf_dedup``):
  the candidate table with libbpf's exact chain order (``table.pxd``), the primitive
  walk, IS_EQUIV with its hypothetical map, the hypot merge, the reference post-order
  walk, the string-first-reference pass.  Recursions (IS_EQUIV, REF, IDENTICAL) use
  explicit stacks that visit in libbpf's order, so depth is bounded by memory, not by
  the native stack.
* hash keys (``hashing.pxd``) have a numpy closed form (:mod:`btfdedup.engine.hashing`),
  but the phases compute them per record in compiled code, only for the records they
  process: on a 3.4 M-type input a key column and its temporaries cost more than the
  walks themselves.

Measured on the raw 6.1 vmlinux (3,408,970 types), alternating with libbpf 1.1.2's
``btf__dedup`` in one process on a shared 2-core VM (best of five): the dedup call
0.96 s wall / 0.77 s CPU against libbpf's 2.05 s / 1.48 s; the numba engine this
replaced took 2.63 s / 2.20 s against libbpf's 1.72 s / 1.44 s in the same setting.
The call adds about 225 MB to the resident set at its peak (the private ``W`` copy is
131 MB of it); libbpf's adds about 140 MB.

Every phase has one calling shape, ``<name>_phase(d: DedupState) -> int``: it reads and
writes the state and returns a ``DedupErr`` code (0 when it succeeded, else the first
failure, with the type IDs involved in ``d.err_a`` / ``d.err_b``).  :func:`dedup` runs
them in libbpf's order and :func:`_failure` is the one place that turns a code into a
:class:`DedupError` message.  ``dedup(..., debug=True)`` checks, after each phase, the
invariant listed below (numpy over whole columns) and raises a :class:`DedupError`
naming the phase, the type ID and the invariant when one does not hold.

All compiled phases share one flat view of the whole type graph, base chain included:
``W`` (uint32 words: three zero words for void, every base record, every split record)
and ``ts`` (type ID -> word offset).  ``W`` is a private copy: the strings phase
rewrites split name offsets in it, the reference phase rewrites reference IDs, exactly
as libbpf mutates its in-memory BTF; the input :class:`Btf` is never modified.

Phases and the invariant each establishes (libbpf order)
--------------------------------------------------------

1. **prep** (split only) — base IDs self-canonical, base types (but VAR/DATASEC) in
   the table in ID order.
2. **strings** (unless ``strs_deduped``) — equal string contents share one offset;
   the blob holds referenced strings in first-reference order (types, then .BTF.ext);
   split strings found in the base use the base's first occurrence.
3. **primitives** — INT/ENUM/ENUM64/FWD/FLOAT mapped (enum forwards resolved).
4. **composites** — STRUCT/UNION (1.7+: and TYPEDEF) mapped by graph equivalence; FWDs
   linked through the hypot merge; candidate-side nested structs possibly mapped early.
5. **fwds** — leftover self-canonical split FWDs mapped to the unique same-named
   canonical struct/union of their flavour.
6. **references** — all other kinds (up to v1.6: TYPEDEF included) mapped in post-order,
   their ID fields rewritten to resolved IDs; the table is dropped afterwards.
7. **compact** — self-canonical split types kept in order, renumbered from start_id.
8. **remap** — every ID field (and .BTF.ext func_info / core_relo IDs) becomes
   ``new_id[resolve(id)]``.

VAR and DATASEC are self-canonical from the start and never merged.

Many splits on one base
-----------------------

``btfdedup split`` deduplicates a thousand modules against one vmlinux.  libbpf redoes
the base's share of the work for each: prep hashes every base type into a fresh table,
the strings phase indexes every base string, and the flat view copies the base
records.  None of it depends on the module, so :func:`prepare_base` does it once and
``dedup(module, prepared=...)`` starts from it (see
:class:`~btfdedup.engine.state.PreparedBase`): the candidate table is put back exactly
as prep leaves it after each module (entries, per-key orientation, grow count and
bucket count, hence the same candidate order as a fresh run), the base string index is
only read, and the working arrays are reused.  The output is the same as without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from btfdedup.engine.phases.compact import compact_phase
from btfdedup.engine.phases.composites import composites_phase
from btfdedup.engine.phases.fwds import fwds_phase
from btfdedup.engine.phases.prep import prep_phase
from btfdedup.engine.phases.primitives import primitives_phase
from btfdedup.engine.phases.references import references_phase
from btfdedup.engine.phases.remap import remap_phase
from btfdedup.engine.phases.strings import strings_phase
from btfdedup.engine.profiles import DEFAULT_LIBBPF_VERSION, profile_for
from btfdedup.engine.state import (
    PY_DEDUP_OK,
    PY_ERR_EQUIV_KIND,
    PY_ERR_IDENTICAL_LOOP,
    PY_ERR_NOMEM,
    PY_ERR_REF_KIND,
    PY_ERR_REF_LOOP,
    PY_ERR_REMAP,
    PY_ERR_UNKNOWN_KIND,
    TYPEDEF_AS_REFERENCE,
    UNPROCESSED_ID,
    DedupState,
    PreparedBase,
)
from btfdedup.errors import BtfUsageError, DedupError
from btfdedup.format.constants import KIND_MASK, KIND_NAMES, KIND_SHIFT, VLEN_MASK, Kind
from btfdedup.model.btf import Btf
from btfdedup.model.fields import TID_FIRST, TID_FIXED, TID_PER_VLEN, TID_STRIDE, ragged
from btfdedup.model.strindex import StringIndex

if TYPE_CHECKING:
    from btfdedup.model.ext import BtfExt

#: ``map`` values above this are sentinels (UNPROCESSED, IN_PROGRESS), not type IDs
_MAX_MAPPED = 0x7FFFFFFF


@dataclass
class DedupResult:
    """Outcome of :func:`dedup`."""

    #: the deduplicated BTF (split on the same base when the input is split)
    btf: Btf
    #: old type ID -> new type ID, for every ID 0..input.type_cnt-1 (base IDs map to themselves)
    type_map: np.ndarray
    #: the remapped .BTF.ext, when one was given
    ext: BtfExt | None = None
    #: types_in, types_out and seconds per phase
    stats: dict[str, Any] = field(default_factory=dict)


class _View:
    """The flat whole-graph view the compiled phases work on.

    Filled slice by slice into preallocated arrays, so building it holds no temporary
    the size of a column (on a 3.4 M-type input each ``ts`` temporary is 27 MB).
    ``spare`` allocates room for that many more words and types after the view
    (``W_buf``/``ts_buf``/``kinds_buf``; ``W``/``ts``/``kinds`` are the filled part):
    pages never written cost no memory."""

    def __init__(self, btf: Btf, spare: tuple[int, int] = (0, 0)) -> None:
        chain = btf.chain()
        n_words = 3 + sum(int(b.words.shape[0]) for b in chain)
        type_cnt = btf.type_cnt
        self.W_buf = np.empty(n_words + spare[0], dtype=np.uint32)
        self.ts_buf = np.empty(type_cnt + 1 + spare[1], dtype=np.int64)
        self.kinds_buf = np.empty(type_cnt + spare[1], dtype=np.uint8)
        self.W = self.W_buf[:n_words]
        self.ts = self.ts_buf[:type_cnt + 1]
        self.kinds = self.kinds_buf[:type_cnt]
        self.W[:3] = 0
        self.ts[0] = 0
        self.kinds[0] = 0
        off = 3
        tid = 1
        for b in chain:
            n = int(b.nr_types)
            self.W[off:off + b.words.shape[0]] = b.words
            ts = self.ts[tid:tid + n]
            ts[:] = b.type_start[:n]
            ts += off
            self.kinds[tid:tid + n] = b.kind
            off += int(b.words.shape[0])
            tid += n
        self.ts[type_cnt] = off
        self.chain = chain


def prepare_base(base: Btf, *, libbpf_version: str = DEFAULT_LIBBPF_VERSION) -> PreparedBase:
    """The base's share of every split dedup on ``base``, done once (see "Many splits on
    one base" above): pass it as ``dedup(split, prepared=...)`` for splits whose
    ``base`` is this very object.  A base type of a kind libbpf rejects is reported by
    each such dedup, as libbpf's prep would.  ``libbpf_version`` must be the dedups'
    (1.8's prep keys base typedefs differently); a mismatch is a :class:`BtfUsageError`."""
    profile = profile_for(libbpf_version)
    # room for splits as large as the base itself: only what a split writes is resident
    view = _View(base, spare=(len(base.words), base.type_cnt))
    d = DedupState(view.W, view.ts, view.kinds, base.type_cnt, typedef_mode=profile.typedef_mode,
                   table_hint=max(base.type_cnt, 1 << 14))
    prep_phase(d)
    strings = StringIndex(base.all_strings())
    prepared = PreparedBase(base, view.W_buf, view.ts_buf, view.kinds_buf, len(view.W), strings)
    prepared.adopt(d)
    return prepared


def _kind(kinds: np.ndarray, tid: int) -> str:
    return KIND_NAMES.get(int(kinds[tid]), f"kind {int(kinds[tid])}")


def _failure(d: DedupState, code: int, a: int, b: int) -> DedupError:
    """The one translation of a failure (a ``DedupErr`` code and its type IDs, as a phase
    leaves them in ``d.err`` / ``d.err_a`` / ``d.err_b``) into the error users see, in
    libbpf's terms.  ``ERR_REMAP`` with ``a`` -1 is a .BTF.ext reference."""
    kinds = d.kinds_arr
    if code == PY_ERR_UNKNOWN_KIND:
        if a < d.start_id:
            return DedupError(f"prep: base type [{a}] has unknown kind {int(kinds[a])} (libbpf -EINVAL)")
        return DedupError(f"primitives: type [{a}] has unknown kind {int(kinds[a])} (libbpf -EINVAL)")
    if code == PY_ERR_EQUIV_KIND:
        return DedupError(
            f"struct/union equivalence reached {_kind(kinds, a)} [{a}] / {_kind(kinds, b)} [{b}]; "
            "only INT, ENUM, FWD, FLOAT, modifiers, ARRAY, STRUCT, UNION, FUNC_PROTO may be compared "
            "(libbpf -EINVAL)"
        )
    if code == PY_ERR_IDENTICAL_LOOP:
        return DedupError(f"identical-types check between [{a}] and [{b}] runs round a cycle (a modifier "
                          "loop, or with libbpf 1.1 structs holding each other by value) where libbpf would "
                          "recurse without end")
    if code == PY_ERR_REF_LOOP:
        return DedupError(
            f"reference loop: {_kind(kinds, b)} [{b}] reaches {_kind(kinds, a)} [{a}] again without "
            f"passing a {'struct or union' if d.typedef_mode == TYPEDEF_AS_REFERENCE else 'struct, union or typedef'} "
            "(libbpf -ELOOP)"
        )
    if code == PY_ERR_REF_KIND:
        return DedupError(f"reference phase: {_kind(kinds, a)} [{a}] (referenced by [{b}]) cannot be "
                          "deduplicated as a reference type (libbpf -EINVAL)")
    if code == PY_ERR_REMAP:
        if a < 0:
            return DedupError(f"remap: .BTF.ext refers to type [{b}], which has no deduplicated "
                              "counterpart (libbpf -EINVAL)")
        return DedupError(f"remap: type [{d.start_id + a}] (was [{int(d.kept[a])}]) refers to [{b}], "
                          "which has no deduplicated counterpart (libbpf -EINVAL)")
    if code == PY_ERR_NOMEM:
        return DedupError("dedup ran out of memory (libbpf -ENOMEM)")
    return DedupError(f"dedup failed with code {code}")


# -- debug=True: each phase's invariant, checked over whole columns ---------------------


def _violation(phase: str, bad: np.ndarray, ids: np.ndarray | None, invariant: str) -> None:
    """Raise for the first ``True`` of ``bad`` (``ids[i]`` names its type ID)."""
    hit = np.flatnonzero(bad)
    if len(hit):
        i = int(hit[0])
        tid = int(ids[i]) if ids is not None else i
        raise DedupError(f"debug check after {phase}: type [{tid}]: {invariant}")


def _split_ids(d: DedupState) -> np.ndarray:
    return np.arange(d.start_id, d.type_cnt, dtype=np.int64)


def _check_mapped(d: DedupState, phase: str, kinds: tuple[int, ...] | None, what: str) -> None:
    ids = _split_ids(d)
    k = d.kinds_arr[d.start_id:]
    sel = np.ones(len(ids), dtype=bool) if kinds is None else np.isin(k, kinds)
    _violation(phase, sel & (d.mp_arr[d.start_id:d.type_cnt] > _MAX_MAPPED), ids, f"{what} is not mapped")


def _check_prep(d: DedupState) -> None:
    ids = np.arange(d.start_id, dtype=np.int64)
    _violation("prep", d.mp_arr[:d.start_id] != ids, ids, "base type is not self-canonical")
    k = d.kinds_arr[1:d.start_id]
    want = np.flatnonzero((k != Kind.VAR) & (k != Kind.DATASEC)) + 1
    got = d.table_type_ids()
    n = min(len(want), len(got))
    _violation("prep", want[:n] != got[:n], want, "base type is not in the candidate table in ID order")
    if len(want) != len(got):
        raise DedupError(f"debug check after prep: the candidate table holds {len(got)} entries, "
                         f"not the {len(want)} base types")


def _check_strings(d: DedupState) -> None:
    data = d.strings_data
    parts = bytes(data).split(b"\0")[:-1]
    if len(set(parts)) != len(parts):
        seen: set[bytes] = set()
        off = 0
        for s in parts:
            if s in seen:
                raise DedupError(f"debug check after strings: string offset {d.str_start_off + off}: "
                                 f"content {s!r} is stored twice")
            seen.add(s)
            off += len(s) + 1
    ids = _split_ids(d)
    names = d.W_arr[d.ts_arr[ids]].astype(np.int64)
    _violation("strings", names >= d.str_start_off + len(data), ids,
               "name offset lies beyond the deduplicated string section")


def _check_fwds(d: DedupState) -> None:
    ids = _split_ids(d)
    fwd = ids[d.kinds_arr[d.start_id:] == Kind.FWD]
    tk = d.kinds_arr[d.mp_arr[fwd]]
    ok = (tk == Kind.FWD) | (tk == Kind.STRUCT) | (tk == Kind.UNION)
    _violation("fwds", ~ok, fwd, "FWD is mapped to a type that is neither FWD, STRUCT nor UNION")


def _check_references(d: DedupState) -> None:
    _check_mapped(d, "references", None, "split type")
    mp = d.mp_arr[:d.type_cnt]
    _violation("references", mp[mp] > _MAX_MAPPED, None, "map[] points to a type that is not mapped")


def _check_compact(d: DedupState) -> None:
    ids = _split_ids(d)
    want = ids[d.mp_arr[d.start_id:d.type_cnt] == ids]
    kept = d.kept
    if len(kept) != len(want):
        raise DedupError(f"debug check after compact: {len(kept)} types kept, but {len(want)} split types "
                         "are self-canonical")
    _violation("compact", kept != want, want, "self-canonical split type is not kept in ID order")
    lens = d.ts_arr[kept + 1] - d.ts_arr[kept]
    _violation("compact", np.diff(d.out_starts) != lens, kept, "record was not copied whole")
    _violation("compact", d.new_id[kept] != np.arange(d.start_id, d.start_id + len(kept)), kept,
               "new ID is not consecutive from the split's start ID")


def _check_remap(d: DedupState) -> None:
    _violation("remap", d.final[:d.type_cnt] == UNPROCESSED_ID, None, "has no deduplicated counterpart")
    words, starts = d.out_words, d.out_starts
    hdr = starts[:-1]
    info = words[hdr + 1].astype(np.int64)
    kind = (info >> KIND_SHIFT) & KIND_MASK
    counts = TID_FIXED[kind] + TID_PER_VLEN[kind] * (info & VLEN_MASK)
    owner, j = ragged(counts)
    k = kind[owner]
    pos = hdr[owner] + TID_FIRST[k] + TID_STRIDE[k] * j
    _violation("remap", words[pos] >= d.start_id + len(d.kept), owner + d.start_id,
               "refers to a type ID beyond the output")


def _check_composites(d: DedupState) -> None:
    if d.typedef_mode == TYPEDEF_AS_REFERENCE:
        _check_mapped(d, "composites", (Kind.STRUCT, Kind.UNION), "split STRUCT/UNION")
    else:
        _check_mapped(d, "composites", (Kind.STRUCT, Kind.UNION, Kind.TYPEDEF), "split STRUCT/UNION/TYPEDEF")


_CHECKS: dict[str, Callable[[DedupState], None]] = {
    "prep": _check_prep,
    "strings": _check_strings,
    "primitives": lambda d: _check_mapped(d, "primitives", (Kind.INT, Kind.ENUM, Kind.ENUM64, Kind.FWD, Kind.FLOAT),
                                          "split INT/ENUM/ENUM64/FWD/FLOAT"),
    "composites": _check_composites,
    "fwds": _check_fwds,
    "references": _check_references,
    "compact": _check_compact,
    "remap": _check_remap,
}


def dedup(
    btf: Btf,
    *,
    ext: BtfExt | None = None,
    force_collisions: bool = False,
    reproduce_array_bug: bool = False,
    libbpf_version: str = DEFAULT_LIBBPF_VERSION,
    debug: bool = False,
    prepared: PreparedBase | None = None,
) -> DedupResult:
    """Deduplicate ``btf`` exactly as libbpf ``btf__dedup`` (v1.6 by default) does.

    ``ext`` (the object's .BTF.ext) takes part in the strings phase and has its type
    IDs remapped; the returned :attr:`DedupResult.ext` is the rewritten copy.
    ``force_collisions`` is libbpf's testing knob (all keys in one bucket); the
    candidate order model is exact for it too, so output is the same.
    ``reproduce_array_bug`` reproduces v1.6's IDENTICAL array comparison bug (element
    and index types never compared); by default they are compared.
    ``libbpf_version`` picks the release reproduced: ``"1.6"`` (default), ``"1.1"``
    (libbpf 1.1.2), ``"1.7"`` (v1.7.0) or ``"1.8"`` (master); see
    :mod:`btfdedup.engine.profiles`.  Any other value is a :class:`BtfUsageError`, and
    so is ``reproduce_array_bug`` with ``"1.1"``, which has no such bug to reproduce.
    The output keeps the input's header length (as libbpf does for parsed BTF); the
    32-byte header of 1.8 comes with BTF built from scratch (:func:`btfdedup.merge`).
    ``debug`` checks each phase's invariant (see the module docstring) after it runs
    and raises :class:`DedupError` naming the phase, the type ID and the invariant on a
    violation; it costs a few numpy passes over the whole graph per phase.
    ``prepared`` (from :func:`prepare_base` on ``btf.base``, the same object) skips
    the base's share of the work; the result is the same.  It serves one dedup at a
    time; any other base is a :class:`BtfUsageError`.

    >>> import btfdedup
    >>> merged = btfdedup.merge([btfdedup.load(f"corpora/cus/cu{n}.btf") for n in (1412, 1413)])
    >>> result = btfdedup.dedup(merged)
    >>> len(merged), len(result.btf)
    (864, 722)
    >>> int(result.type_map[len(merged)])       # type_map[old ID] is the new ID
    15
    """
    profile = profile_for(libbpf_version)
    if reproduce_array_bug and not profile.has_identical_array_bug:
        raise BtfUsageError(f"reproduce_array_bug applies to libbpf 1.6's IDENTICAL walk; "
                            f"libbpf {profile.version} has no such bug")
    del force_collisions  # same candidate order either way (see btfdedup/engine/table.pyx)
    if prepared is not None and (btf.base is None or prepared.base is not btf.base):
        raise BtfUsageError("the prepared base was not prepared for this BTF's base")
    times: dict[str, float] = {}
    cpu: dict[str, float] = {}
    t0 = time.perf_counter()
    c0 = time.process_time()
    t = t0
    c = c0

    def lap(name: str) -> None:
        nonlocal t, c
        now, cnow = time.perf_counter(), time.process_time()
        times[name] = times.get(name, 0.0) + now - t
        cpu[name] = cpu.get(name, 0.0) + cnow - c
        t, c = now, cnow

    start_id = btf.start_id
    if prepared is not None:
        W, ts, kinds, mp, hyp = prepared.working(btf.words, btf.type_start, btf.kind)
        lap("setup")
        d = DedupState(W, ts, kinds, start_id, identical_fallback=profile.identical_fallback,
                       typedef_mode=profile.typedef_mode, fixed_arrays=not reproduce_array_bug, mp=mp, hyp=hyp,
                       prepared=prepared)
    else:
        view = _View(btf)
        lap("setup")
        d = DedupState(view.W, view.ts, view.kinds, start_id, identical_fallback=profile.identical_fallback,
                       typedef_mode=profile.typedef_mode, fixed_arrays=not reproduce_array_bug,
                       table_hint=max(start_id, 1 << 14))
    ext_out = ext.copy() if ext is not None else None
    lap("state")

    def run(name: str, phase: Callable[[DedupState], int]) -> None:
        if phase(d) != PY_DEDUP_OK:
            raise _failure(d, d.err, d.err_a, d.err_b)
        if debug:
            _CHECKS[name](d)
        lap(name)

    try:
        run("prep", prep_phase)
        strings_data = btf.strings.data
        if not btf.strs_deduped:
            if prepared is not None:
                d.base_strings = prepared.strings
                d.str_buf = np.frombuffer(btf.strings.data, dtype=np.uint8)
            else:
                d.str_buf = np.frombuffer(btf.all_strings(), dtype=np.uint8)
            d.str_start_off = btf.strings.start_off
            d.ext_str_refs = ext_out.str_refs() if ext_out is not None else np.zeros(0, dtype=np.uint32)
            run("strings", strings_phase)
            strings_data = d.strings_data
            if ext_out is not None:
                ext_out.set_str_refs(d.ext_str_refs)
            d.str_buf = d.ext_str_refs = d.base_strings = None
        else:
            lap("strings")
        run("primitives", primitives_phase)
        run("composites", composites_phase)
        run("fwds", fwds_phase)
        run("references", references_phase)
    finally:
        # a prepared base's table goes back to it even when a phase failed (the
        # traceback keeps ``d`` alive)
        stats_table = d.table_len
        d.drop_table()
    run("compact", compact_phase)
    run("remap", remap_phase)
    final = d.final
    if ext_out is not None:
        bad_ids = ext_out.remap_type_ids(final, UNPROCESSED_ID)
        if bad_ids is not None:
            raise _failure(d, PY_ERR_REMAP, -1, bad_ids)
        lap("remap")

    # -- output ----------------------------------------------------------------------
    out = btf.rewritten(d.out_words, strings_data, d.out_starts)
    if ext_out is not None:
        out.ext = ext_out
    lap("output")
    times["total"] = time.perf_counter() - t0
    cpu["total"] = time.process_time() - c0
    stats: dict[str, Any] = {
        "types_in": int(btf.nr_types),
        "types_out": int(out.nr_types),
        "table_entries": stats_table,
        "seconds": times,
        "cpu_seconds": cpu,
    }
    # Base types stay where they are, even a base FWD whose references were redirected
    # to a split struct: the ID map says where each *type* went.
    type_map = final.copy()
    type_map[:start_id] = np.arange(start_id, dtype=np.uint32)
    return DedupResult(btf=out, type_map=type_map, ext=ext_out, stats=stats)
