"""Which libbpf release the engine reproduces: one frozen set of switches per version.

libbpf's ``btf__dedup`` changed between the releases we are judged against only where
IS_EQUIV meets a canonical type whose hypothetical-map slot already holds another
candidate (compiler-duplicated types inside one CU):

* **libbpf 1.1** (1.1.2 is Debian 12's system ``libbpf.so.1``; a static linker built on
  it dedups the same way) accepts the pair only when the two candidates are *identical ARRAY
  definitions* (every word equal, element and index IDs included) or *identical
  STRUCT/UNION definitions*: same shallow shape, and each member pair has the same
  type ID, or is a pair of identical arrays, or (recursively, without a depth limit)
  a pair of identical structs/unions.  Pointers, typedefs and other references never
  match unless their IDs are equal.
* **libbpf 1.6** runs a generic structural walk over every kind, modifiers and
  pointers included, to depth 16 (IDENTICAL in ``btfdedup/engine/phases/composites.pyx``).

Every other phase (strings, primitives with enum forwards, the hypot merge, the
FWD-by-name pass, references, compaction, remapping, split-BTF handling) behaves the
same in both releases, as do the hash keys and the candidate table's order.

:func:`profile_for` is the one place that maps a version string to its switches; the
pipeline threads the switches into the compiled phases (through :class:`btfdedup.engine.state.DedupState`).
"""

from __future__ import annotations

from dataclasses import dataclass

from btfdedup.engine.state import FALLBACK_IDENTICAL_ARRAYS_STRUCTS, FALLBACK_IDENTICAL_TYPES
from btfdedup.errors import BtfUsageError

#: the version reproduced when none is asked for
DEFAULT_LIBBPF_VERSION = "1.6"


@dataclass(frozen=True)
class LibbpfProfile:
    """Feature switches of one libbpf release's ``btf__dedup``."""

    #: the version string it was looked up by ("1.1", "1.6")
    version: str
    #: IS_EQUIV's fallback when the hypothetical map already holds another candidate:
    #: ``FALLBACK_IDENTICAL_ARRAYS_STRUCTS`` (1.1) or ``FALLBACK_IDENTICAL_TYPES`` (1.6)
    identical_fallback: int
    #: whether the release has the depth-limited IDENTICAL walk whose array comparison
    #: reads both arrays from the first one (the ``reproduce_array_bug`` knob applies)
    has_identical_array_bug: bool


_PROFILES: dict[str, LibbpfProfile] = {
    "1.1": LibbpfProfile("1.1", FALLBACK_IDENTICAL_ARRAYS_STRUCTS, has_identical_array_bug=False),
    "1.6": LibbpfProfile("1.6", FALLBACK_IDENTICAL_TYPES, has_identical_array_bug=True),
}

#: the accepted ``libbpf_version`` values
LIBBPF_VERSIONS: tuple[str, ...] = tuple(_PROFILES)


def profile_for(version: str) -> LibbpfProfile:
    """The switches of libbpf ``version`` ("1.1" or "1.6"); anything else is a usage error."""
    profile = _PROFILES.get(version) if isinstance(version, str) else None
    if profile is None:
        raise BtfUsageError(
            f"unsupported libbpf_version {version!r} (supported: {', '.join(repr(v) for v in LIBBPF_VERSIONS)})"
        )
    return profile


__all__ = ["DEFAULT_LIBBPF_VERSION", "LIBBPF_VERSIONS", "LibbpfProfile", "profile_for"]
