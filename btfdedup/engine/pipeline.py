"""The dedup engine: libbpf v1.6 ``btf__dedup``, phase by phase, byte for byte.

``libbpf_version="1.1"`` reproduces libbpf 1.1.2 instead (Debian 12's system
``libbpf.so.1``, and the static linker built on it); the one difference is IS_EQUIV's fallback
for compiler-duplicated candidates, described in :mod:`btfdedup.engine.profiles`.

Design
======

Output bytes must equal libbpf's, and libbpf's result depends on *order*: which
candidate is met first under a hash key, which type a recursive walk reaches first,
how many entries the hashmap held when it last grew.  The engine therefore splits the
work in two kinds of code:

* **order-independent** steps run vectorized in numpy over whole columns: the
  FWD-by-name pass, compaction's ID table, remapping of every ID field (gathered in
  iterator order with the :mod:`btfdedup.model.fields` tables);
* **order-dependent** steps are transcriptions of libbpf's loops, compiled with
  ``numba.njit(cache=True)`` over flat arrays: the candidate table with libbpf's exact
  chain order (:mod:`.table`), the primitive walk, IS_EQUIV with its hypothetical map,
  the hypot merge, the reference post-order walk, the string-first-reference pass.
  Recursions (IS_EQUIV, REF, IDENTICAL) use explicit stacks that visit in libbpf's
  order, so depth is bounded by memory, not by the native stack.
* hash keys (:mod:`.hashing`) have a numpy closed form, but the phases compute them
  per record in compiled code, only for the records they process: on a 3.4 M-type
  input a key column and its temporaries cost more than the walks themselves.

Measured on the raw 6.1 vmlinux (3,408,970 types) next to libbpf 1.1.2 in the same
run (benchmarks/bench_dedup.py): the dedup call 0.94x libbpf's time, parse+dedup+write
1.13x, peak RSS of that pipeline 1.57x; the one-off numba compile (about 20 s) is
cached on disk.

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
4. **composites** — STRUCT/UNION mapped by graph equivalence; FWDs linked through the
   hypot merge; candidate-side nested structs possibly mapped early.
5. **fwds** — leftover self-canonical split FWDs mapped to the unique same-named
   canonical struct/union of their flavour.
6. **references** — all other kinds (v1.6: TYPEDEF included) mapped in post-order,
   their ID fields rewritten to resolved IDs; the table is dropped afterwards.
7. **compact** — self-canonical split types kept in order, renumbered from start_id.
8. **remap** — every ID field (and .BTF.ext func_info / core_relo IDs) becomes
   ``new_id[resolve(id)]``.

VAR and DATASEC are self-canonical from the start and never merged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from btfdedup.engine.graph import UNPROCESSED
from btfdedup.engine.phases import composites, references
from btfdedup.engine.phases.compact import compact
from btfdedup.engine.phases.fwds import resolve_fwds
from btfdedup.engine.phases.prep import prep_phase
from btfdedup.engine.phases.primitives import prim_phase
from btfdedup.engine.phases.remap import final_ids, remap_words
from btfdedup.engine.phases.strings import dedup_strings
from btfdedup.engine.profiles import DEFAULT_LIBBPF_VERSION, profile_for
from btfdedup.engine.table import CandidateTable
from btfdedup.errors import BtfUsageError, DedupError
from btfdedup.format.constants import KIND_NAMES, Kind
from btfdedup.model.btf import Btf

if TYPE_CHECKING:
    from btfdedup.model.ext import BtfExt

STRATEGIES = ("libbpf",)


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


def _chain(btf: Btf) -> list[Btf]:
    out: list[Btf] = []
    b: Btf | None = btf
    while b is not None:
        out.append(b)
        b = b.base
    return out[::-1]


class _View:
    """The flat whole-graph view the compiled phases work on."""

    def __init__(self, btf: Btf) -> None:
        chain = _chain(btf)
        parts = [np.zeros(3, dtype=np.uint32)]
        starts = [np.zeros(1, dtype=np.int64)]
        off = 3
        for b in chain:
            parts.append(b.words)
            starts.append(b.type_start[:-1] + off)
            off += int(b.words.shape[0])
        self.split_word_off = off - int(btf.words.shape[0])
        starts.append(np.array([off], dtype=np.int64))
        self.W = np.concatenate(parts)
        self.ts = np.concatenate(starts)
        self.kinds = np.concatenate([np.zeros(1, dtype=np.uint8)] + [b.kind for b in chain])
        self.chain = chain


def _kind(kinds: np.ndarray, tid: int) -> str:
    return KIND_NAMES.get(int(kinds[tid]), f"kind {int(kinds[tid])}")


def dedup(
    btf: Btf,
    *,
    ext: BtfExt | None = None,
    force_collisions: bool = False,
    strategy: str = "libbpf",
    reproduce_array_bug: bool = False,
    libbpf_version: str = DEFAULT_LIBBPF_VERSION,
) -> DedupResult:
    """Deduplicate ``btf`` exactly as libbpf ``btf__dedup`` (v1.6 by default) does.

    ``ext`` (the object's .BTF.ext) takes part in the strings phase and has its type
    IDs remapped; the returned :attr:`DedupResult.ext` is the rewritten copy.
    ``force_collisions`` is libbpf's testing knob (all keys in one bucket); the
    candidate order model is exact for it too, so output is the same.
    ``reproduce_array_bug`` reproduces v1.6's IDENTICAL array comparison bug (element
    and index types never compared); by default they are compared.
    ``libbpf_version`` picks the release reproduced: ``"1.6"`` (default) or ``"1.1"``
    (libbpf 1.1.2); any other value is a :class:`BtfUsageError`, and so is
    ``reproduce_array_bug`` with ``"1.1"``, which has no such bug to reproduce.

    >>> import btfdedup
    >>> merged = btfdedup.merge([btfdedup.load(f"corpora/cus/cu{n}.btf") for n in (1412, 1413)])
    >>> result = btfdedup.dedup(merged)
    >>> len(merged), len(result.btf)
    (864, 722)
    >>> int(result.type_map[len(merged)])       # type_map[old ID] is the new ID
    15
    """
    if strategy not in STRATEGIES:
        raise BtfUsageError(f"unknown dedup strategy {strategy!r} (known: {', '.join(STRATEGIES)})")
    profile = profile_for(libbpf_version)
    if reproduce_array_bug and not profile.has_identical_array_bug:
        raise BtfUsageError(f"reproduce_array_bug applies to libbpf 1.6's IDENTICAL walk; "
                            f"libbpf {profile.version} has no such bug")
    del force_collisions  # same candidate order either way (see btfdedup.engine.table)
    times: dict[str, float] = {}
    cpu: dict[str, float] = {}
    t0 = time.perf_counter()
    c0 = time.process_time()
    t = t0
    c = c0

    def lap(name: str) -> None:
        nonlocal t, c
        now, cnow = time.perf_counter(), time.process_time()
        times[name] = now - t
        cpu[name] = cnow - c
        t, c = now, cnow

    view = _View(btf)
    W, ts, kinds = view.W, view.ts, view.kinds
    start_id = btf.start_id
    type_cnt = btf.type_cnt
    lap("setup")

    # -- strings ------------------------------------------------------------------
    ext_out = ext.copy() if ext is not None else None
    strings_data = btf.strings.data
    if not btf.strs_deduped:
        ext_refs = ext_out.str_refs() if ext_out is not None else np.zeros(0, dtype=np.uint32)
        buf = np.frombuffer(b"".join(b.strings.data for b in view.chain), dtype=np.uint8)
        new_ext_refs, strings_data = dedup_strings(buf, btf.strings.start_off, btf.base is not None, W, ts,
                                                   start_id, type_cnt, ext_refs)
        if ext_out is not None:
            ext_out.set_str_refs(new_ext_refs)
    lap("strings")

    # -- state -----------------------------------------------------------------------
    mp = np.full(type_cnt, UNPROCESSED, dtype=np.uint32)
    mp[0] = 0
    varsec = (kinds == Kind.VAR) | (kinds == Kind.DATASEC)
    mp[varsec] = np.flatnonzero(varsec).astype(np.uint32)
    hyp = np.full(type_cnt, UNPROCESSED, dtype=np.uint32)
    table = CandidateTable()
    lap("state")

    # -- prep ------------------------------------------------------------------------
    if btf.base is not None:
        bad, *arrs = prep_phase(W, ts, kinds, mp, start_id, *table.arrays)
        table.update(*arrs)
        if bad >= 0:
            raise DedupError(f"prep: base type [{bad}] has unknown kind {int(kinds[bad])} (libbpf -EINVAL)")
    lap("prep")

    # -- primitives --------------------------------------------------------------------
    bad, *arrs = prim_phase(W, ts, kinds, mp, start_id, type_cnt, *table.arrays)
    table.update(*arrs)
    if bad >= 0:
        raise DedupError(f"primitives: type [{bad}] has unknown kind {int(kinds[bad])} (libbpf -EINVAL)")
    lap("primitives")

    # -- struct/union ----------------------------------------------------------------
    err = np.zeros(4, dtype=np.int64)
    rc, *arrs = composites.struct_phase(W, ts, kinds, mp, hyp, start_id, type_cnt, *table.arrays,
                                        profile.identical_fallback, not reproduce_array_bug, err)
    table.update(*arrs)
    if rc < 0:
        ca, ka = int(err[1]), int(err[2])
        if err[0] == composites.ERR_EQUIV_KIND:
            raise DedupError(
                f"struct/union equivalence reached {_kind(kinds, ca)} [{ca}] / {_kind(kinds, ka)} [{ka}]; "
                "only INT, ENUM, FWD, FLOAT, modifiers, ARRAY, STRUCT, UNION, FUNC_PROTO may be compared "
                "(libbpf -EINVAL)"
            )
        raise DedupError(f"identical-types check between [{ca}] and [{ka}] runs round a cycle (a modifier "
                         "loop, or with libbpf 1.1 structs holding each other by value) where libbpf would "
                         "recurse without end")
    lap("composites")

    # -- fwds ------------------------------------------------------------------------
    resolve_fwds(W, ts, kinds, mp, start_id)
    lap("fwds")

    # -- references ------------------------------------------------------------------
    rc, *arrs = references.ref_phase(W, ts, kinds, mp, start_id, type_cnt, *table.arrays, err)
    table.update(*arrs)
    stats_table = len(table)
    if rc < 0:
        a, b = int(err[1]), int(err[2])
        if err[0] == references.ERR_LOOP:
            raise DedupError(
                f"reference loop: {_kind(kinds, b)} [{b}] reaches {_kind(kinds, a)} [{a}] again without "
                "passing a struct or union (libbpf -ELOOP)"
            )
        raise DedupError(f"reference phase: {_kind(kinds, a)} [{a}] (referenced by [{b}]) cannot be "
                         "deduplicated as a reference type (libbpf -EINVAL)")
    del table, arrs, hyp
    lap("references")

    # -- compact ---------------------------------------------------------------------
    kept, new_id, words, starts = compact(W, ts, mp, start_id)
    lap("compact")

    # -- remap -----------------------------------------------------------------------
    final = final_ids(mp, new_id)
    bad_field = remap_words(words, starts, final)
    if bad_field is not None:
        i, old = bad_field
        tid = start_id + i
        raise DedupError(f"remap: type [{tid}] (was [{int(kept[i])}]) refers to [{old}], "
                         "which has no deduplicated counterpart (libbpf -EINVAL)")
    if ext_out is not None:
        bad_ids = ext_out.remap_type_ids(final, UNPROCESSED)
        if bad_ids is not None:
            raise DedupError(f"remap: .BTF.ext refers to type [{bad_ids}], which has no deduplicated "
                             "counterpart (libbpf -EINVAL)")
    lap("remap")

    # -- output ----------------------------------------------------------------------
    from btfdedup.io.raw import build_btf

    out = build_btf(
        words,
        strings_data,
        base=btf.base,
        type_start=starts,
        byteorder=btf.byteorder,
        hdr_len=btf.hdr_len,
        layout=btf.layout,
        layout_off_hint=btf.layout_off_hint,
        version=btf.version,
        source=None,
        strs_deduped=True,
        check=False,
    )
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
