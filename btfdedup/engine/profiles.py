"""Which libbpf release the engine reproduces: one frozen set of switches per version.

Each profile is what one libbpf release's ``btf__dedup`` (and the add-APIs the merge
reproduces) does, byte for byte; the releases differ in three places.

* **libbpf 1.1** (1.1.2 is Debian 12's system ``libbpf.so.1``; a static linker built on
  it dedups the same way).  When IS_EQUIV meets a canonical type whose
  hypothetical-map slot already holds another candidate (compiler-duplicated types in
  one CU), it accepts the pair only when the two candidates are *identical ARRAY
  definitions* (every word equal, element and index IDs included) or *identical
  STRUCT/UNION definitions*: same shallow shape, and each member pair has the same
  type ID, or is a pair of identical arrays, or (recursively, without a depth limit)
  a pair of identical structs/unions.  Pointers, typedefs and other references never
  match unless their IDs are equal.  TYPEDEF is a reference type (as in 1.6).
* **libbpf 1.6** (the default): that fallback is a generic structural walk over every
  kind, modifiers and pointers included, to depth 16 (IDENTICAL in
  ``btfdedup/engine/phases/composites.pyx``).  TYPEDEF is deduplicated in the
  reference phase under H_common (name, info, resolved target): a typedef cycle
  (``typedef T -> PTR -> T``, as Go emits) fails with -ELOOP.  New BTF (the merge's
  ``btf__new_empty``) has a 24-byte header.
* **libbpf 1.7** (tag v1.7.0): as 1.6, except that TYPEDEF moves into the struct/union
  phase (commit 37027144): key H_typedef (name, info), equality by graph equivalence,
  interleaved with structs by ID, so recursive typedefs deduplicate.  Prep still keys
  *base* typedefs with H_common, so a split typedef never finds its base twin and stays
  in the split BTF (with every reference type above it).  Also new: ``btf__add_btf``
  accepts split sources on the destination's base, keeping their base string offsets
  as they are; :func:`btfdedup.merge` of split sources and the ``split`` workflow
  (each module added to a fresh split BTF, then deduplicated) work that way.  Parsing
  split BTF on split BTF was fixed too (string offsets follow every level's strings),
  which btfdedup's reader always did, whatever the profile.  Header still 24 bytes.
* **libbpf 1.8** (master f7081a6b, whose shared object reports 1.8.0): as 1.7, plus prep
  keys base typedefs with H_typedef too (commit 5b0f3729), so split typedefs merge into
  base ones again (by graph equivalence); and new BTF is written with the 32-byte
  header (``layout_off``/``layout_len`` zero: dedup and the add-APIs never create a
  layout section).  Parsed BTF keeps its own header length in every release.

Every other phase (strings, primitives with enum forwards, the hypot merge, the
FWD-by-name pass, compaction, remapping) behaves the same in all four, as do the other
hash keys and the candidate table's order.

:func:`profile_for` is the one place that maps a version string to its switches; the
pipeline threads the switches into the compiled phases (through
:class:`btfdedup.engine.state.DedupState`), the merge takes the header length.
"""

from __future__ import annotations

from dataclasses import dataclass

from btfdedup.engine.state import (
    FALLBACK_IDENTICAL_ARRAYS_STRUCTS,
    FALLBACK_IDENTICAL_TYPES,
    TYPEDEF_AS_COMPOSITE,
    TYPEDEF_AS_COMPOSITE_BASE,
    TYPEDEF_AS_REFERENCE,
)
from btfdedup.errors import BtfUsageError
from btfdedup.format.constants import BTF_HDR_LEN_CLASSIC, BTF_HDR_LEN_LAYOUT

#: the version reproduced when none is asked for
DEFAULT_LIBBPF_VERSION = "1.6"


@dataclass(frozen=True)
class LibbpfProfile:
    """Feature switches of one libbpf release's ``btf__dedup`` and add-APIs."""

    #: the version string it was looked up by ("1.1", "1.6", "1.7", "1.8")
    version: str
    #: IS_EQUIV's fallback when the hypothetical map already holds another candidate:
    #: ``FALLBACK_IDENTICAL_ARRAYS_STRUCTS`` (1.1) or ``FALLBACK_IDENTICAL_TYPES`` (1.6+)
    identical_fallback: int
    #: whether the release has the depth-limited IDENTICAL walk whose array comparison
    #: reads both arrays from the first one (the ``reproduce_array_bug`` knob applies)
    has_identical_array_bug: bool
    #: where TYPEDEF is deduplicated and how prep keys base typedefs:
    #: ``TYPEDEF_AS_REFERENCE`` (1.1, 1.6), ``TYPEDEF_AS_COMPOSITE`` (1.7),
    #: ``TYPEDEF_AS_COMPOSITE_BASE`` (1.8)
    typedef_mode: int
    #: header length of BTF built from scratch (``btf__new_empty[_split]``): 24, or 32
    #: with the layout fields (1.8)
    new_hdr_len: int
    #: whether ``btf__add_btf`` accepts a split source on the destination's base, so
    #: a split dedup of a module starts from a fresh BTF it was added to (1.7+)
    add_btf_split: bool


_PROFILES: dict[str, LibbpfProfile] = {
    "1.1": LibbpfProfile("1.1", FALLBACK_IDENTICAL_ARRAYS_STRUCTS, has_identical_array_bug=False,
                         typedef_mode=TYPEDEF_AS_REFERENCE, new_hdr_len=BTF_HDR_LEN_CLASSIC, add_btf_split=False),
    "1.6": LibbpfProfile("1.6", FALLBACK_IDENTICAL_TYPES, has_identical_array_bug=True,
                         typedef_mode=TYPEDEF_AS_REFERENCE, new_hdr_len=BTF_HDR_LEN_CLASSIC, add_btf_split=False),
    "1.7": LibbpfProfile("1.7", FALLBACK_IDENTICAL_TYPES, has_identical_array_bug=True,
                         typedef_mode=TYPEDEF_AS_COMPOSITE, new_hdr_len=BTF_HDR_LEN_CLASSIC, add_btf_split=True),
    "1.8": LibbpfProfile("1.8", FALLBACK_IDENTICAL_TYPES, has_identical_array_bug=True,
                         typedef_mode=TYPEDEF_AS_COMPOSITE_BASE, new_hdr_len=BTF_HDR_LEN_LAYOUT, add_btf_split=True),
}

#: the accepted ``libbpf_version`` values
LIBBPF_VERSIONS: tuple[str, ...] = tuple(_PROFILES)


def profile_for(version: str) -> LibbpfProfile:
    """The switches of libbpf ``version`` (one of :data:`LIBBPF_VERSIONS`); anything
    else is a usage error."""
    profile = _PROFILES.get(version) if isinstance(version, str) else None
    if profile is None:
        raise BtfUsageError(
            f"unsupported libbpf_version {version!r} (supported: {', '.join(repr(v) for v in LIBBPF_VERSIONS)})"
        )
    return profile


__all__ = ["DEFAULT_LIBBPF_VERSION", "LIBBPF_VERSIONS", "LibbpfProfile", "profile_for"]
